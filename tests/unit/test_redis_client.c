/* test_redis_client.c: the pure part of conf/redis_client.c (the --redis
 * URL forms) and its errors without a server: a refused connect names the
 * server and the reason. ROT-FLEET-05; REDIS-AUTH-02 (the URL's user,
 * password and db), REDIS-AUTH-03 (AUTH and SELECT after connecting). A
 * real redis-server is exercised by tests/integration/test_rotation_fleet.py
 * and test_redis_auth.py. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <pthread.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "redis_client.h"

static void url_ok(const char *url, const char *want)
{
	struct redis_url u;
	if (!redis_client_parse_url(url, &u))
		fail_msg("%s: refused", url);
	assert_string_equal(u.server, want);
}

static void url_bad(const char *url)
{
	struct redis_url u;
	if (redis_client_parse_url(url, &u))
		fail_msg("%s: accepted as %s", url ? url : "(null)", u.server);
	assert_string_equal(u.server, ""); /* and nothing of it kept */
	assert_string_equal(u.password, "");
}

/* url parses to server, username, password (NULL: none) and db. */
static void url_auth(const char *url, const char *server, const char *user, const char *pw, int db)
{
	struct redis_url u;
	if (!redis_client_parse_url(url, &u))
		fail_msg("%s: refused", url);
	assert_string_equal(u.server, server);
	assert_string_equal(u.username, user);
	assert_int_equal(u.has_password, pw != NULL);
	assert_string_equal(u.password, pw ? pw : "");
	assert_int_equal(u.db, db);
}

/* ROT-FLEET-05: --redis takes redis://ADDRESS:PORT, redis://[IPV6]:PORT or
 * ADDRESS:PORT, numeric; anything else is refused (no names, no missing
 * port). The user, password and database forms: REDIS_AUTH_02 below. */
static void ROT_FLEET_05_url_forms(void **state)
{
	(void)state;
	url_ok("redis://127.0.0.1:6379", "127.0.0.1:6379");
	url_ok("redis://[::1]:6380", "[::1]:6380");
	url_ok("127.0.0.1:7000", "127.0.0.1:7000");
	url_ok("[2001:db8::1]:1", "[2001:db8::1]:1");
	url_bad("redis://localhost:6379");
	url_bad("redis://127.0.0.1");
	url_bad("redis://127.0.0.1:0");
	url_bad("redis://127.0.0.1:65536");
	url_bad("rediss://127.0.0.1:6379");
	url_bad("redis://::1:6379");
	url_bad("");
	url_bad(NULL);
}

/* REDIS-AUTH-02: redis://[[USER]:PASSWORD@]HOST:PORT[/DB] as redis-cli -u
 * takes it: "PASSWORD@" alone is a password, ":PASSWORD@" too, USER and
 * PASSWORD percent-decoded (RFC 3986 2.1), DB 0..INT_MAX. Bad forms are
 * refused: a broken escape, an escaped NUL, a db that is not a number, an
 * empty host, a credential over REDIS_CLIENT_CRED_MAX - 1 bytes. */
static void REDIS_AUTH_02_url_credentials(void **state)
{
	(void)state;
	url_auth("redis://127.0.0.1:6379", "127.0.0.1:6379", "", NULL, 0);
	url_auth("redis://127.0.0.1:6379/3", "127.0.0.1:6379", "", NULL, 3);
	url_auth("redis://127.0.0.1:6379/0", "127.0.0.1:6379", "", NULL, 0);
	url_auth("redis://:secret@127.0.0.1:6379", "127.0.0.1:6379", "", "secret", 0);
	url_auth("redis://secret@127.0.0.1:6379/15", "127.0.0.1:6379", "", "secret", 15);
	url_auth("redis://signet:s3cr%40t%2F%3a@[::1]:6380/2147483647", "[::1]:6380", "signet",
		 "s3cr@t/:", 2147483647);
	url_auth("redis://us%65r:p:w@127.0.0.1:1/1", "127.0.0.1:1", "user", "p:w", 1);
	url_auth("redis://:@127.0.0.1:6379", "127.0.0.1:6379", "", "", 0);
	url_bad("redis://:secret@127.0.0.1:6379/x");
	url_bad("redis://:secret@127.0.0.1:6379/");
	url_bad("redis://127.0.0.1:6379/-1");
	url_bad("redis://127.0.0.1:6379/2147483648");
	url_bad("redis://127.0.0.1:6379/3/4");
	url_bad("redis://:secret@:6379");
	url_bad("redis://:secret@");
	url_bad("redis://:secr%zzet@127.0.0.1:6379");
	url_bad("redis://:secret%2@127.0.0.1:6379");
	url_bad("redis://:sec%00ret@127.0.0.1:6379");
	url_bad("redis://u%0@127.0.0.1:6379");
	url_bad("127.0.0.1:6379/3"); /* a path only in a URL */
	url_bad(":secret@127.0.0.1:6379");
	char url[REDIS_CLIENT_CRED_MAX + 64], pw[REDIS_CLIENT_CRED_MAX + 1];
	memset(pw, 'p', sizeof pw - 1);
	pw[REDIS_CLIENT_CRED_MAX - 1] = '\0'; /* the limit: CRED_MAX - 1 bytes */
	snprintf(url, sizeof url, "redis://:%s@127.0.0.1:6379", pw);
	url_auth(url, "127.0.0.1:6379", "", pw, 0);
	pw[REDIS_CLIENT_CRED_MAX - 1] = 'p'; /* one more */
	pw[REDIS_CLIENT_CRED_MAX] = '\0';
	snprintf(url, sizeof url, "redis://:%s@127.0.0.1:6379", pw);
	url_bad(url);
}

/* REDIS-AUTH-02: the password of a URL wins; without one, REDISCLI_AUTH
 * (as redis-cli); the user goes only with a password. */
static void REDIS_AUTH_02_password_from_environment(void **state)
{
	(void)state;
	struct redis_url u;
	assert_int_equal(setenv(REDIS_CLIENT_PASSWORD_ENV, "fromenv", 1), 0);
	assert_true(redis_client_parse_url("redis://127.0.0.1:6379/3", &u));
	struct redis_auth a = redis_client_url_auth(&u);
	assert_string_equal(a.password, "fromenv");
	assert_null(a.username);
	assert_int_equal(a.db, 3);
	assert_true(redis_client_parse_url("redis://me:inurl@127.0.0.1:6379", &u));
	a = redis_client_url_auth(&u);
	assert_string_equal(a.password, "inurl");
	assert_string_equal(a.username, "me");
	assert_true(redis_client_parse_url("redis://me:@127.0.0.1:6379", &u));
	a = redis_client_url_auth(&u); /* an empty password: the environment's */
	assert_string_equal(a.password, "fromenv");
	assert_string_equal(a.username, "me");
	assert_int_equal(setenv(REDIS_CLIENT_PASSWORD_ENV, "", 1), 0);
	a = redis_client_url_auth(&u); /* empty: none, no AUTH "" */
	assert_null(a.password);
	assert_null(a.username);
	assert_int_equal(unsetenv(REDIS_CLIENT_PASSWORD_ENV), 0);
	assert_true(redis_client_parse_url("redis://127.0.0.1:6379", &u));
	a = redis_client_url_auth(&u);
	assert_null(a.password);
	assert_null(a.username);
	const char *argv[3];
	assert_int_equal(redis_client_auth_argv(&a, argv), 0);
	a = (struct redis_auth){"me", "pw", 0};
	assert_int_equal(redis_client_auth_argv(&a, argv), 3);
	assert_string_equal(argv[0], "AUTH");
	assert_string_equal(argv[1], "me");
	assert_string_equal(argv[2], "pw");
	a = (struct redis_auth){NULL, "pw", 0};
	assert_int_equal(redis_client_auth_argv(&a, argv), 2);
	assert_string_equal(argv[1], "pw");
}

/* ROT-FLEET-05: a server that refuses names itself and the reason; with a
 * list, every server's answer is given; none configured is said so. */
static void ROT_FLEET_05_connect_errors(void **state)
{
	(void)state;
	/* a port bound but not listening refuses connections, and nobody
	 * else can take it while we hold it */
	int s = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(s >= 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof a), 0);
	socklen_t alen = sizeof a;
	assert_int_equal(getsockname(s, (struct sockaddr *)&a, &alen), 0);
	char server[32], why[REDIS_CLIENT_ERROR_MAX], want[128];
	snprintf(server, sizeof server, "127.0.0.1:%u", (unsigned)ntohs(a.sin_port));
	const char *list[] = {server, "not-numeric:1"};
	assert_null(redis_client_connect(list, 2, 1.0, NULL, why, sizeof why));
	snprintf(want, sizeof want,
		 "Redis %s: Connection refused; Redis not-numeric:1: not a "
		 "numeric ADDRESS:PORT",
		 server);
	assert_string_equal(why, want);
	assert_null(redis_client_connect(list, 0, 1.0, NULL, why, sizeof why));
	assert_string_equal(why, "no Redis server configured");
	close(s);
}

/* ---- a scripted server: one connection, one reply per command ---------- */

#define FAKE_MAX_REPLIES 4

struct fake_server {
	int lfd;
	char server[32];
	const char *replies[FAKE_MAX_REPLIES]; /* RESP text, NULL ends */
	char got[1024];                        /* the commands received, RESP */
	pthread_t thread;
};

/* One whole RESP command ("*N" then N bulk strings: 1 + 2N lines) at
 * buf + off, or 0 while incomplete. */
static size_t resp_len(const char *buf, size_t len)
{
	if (len == 0 || buf[0] != '*')
		return 0;
	long want = 1 + 2 * strtol(buf + 1, NULL, 10);
	for (size_t k = 0; k + 1 < len; k++)
		if (buf[k] == '\r' && buf[k + 1] == '\n' && --want == 0)
			return k + 2;
	return 0;
}

static void *fake_serve(void *arg)
{
	struct fake_server *f = arg;
	int c = accept(f->lfd, NULL, NULL);
	size_t used = 0, done = 0;
	for (size_t r = 0; c >= 0 && r < FAKE_MAX_REPLIES && f->replies[r] != NULL; r++) {
		size_t n;
		while ((n = resp_len(f->got + done, used - done)) == 0) {
			ssize_t k = recv(c, f->got + used, sizeof f->got - 1 - used, 0);
			if (k <= 0)
				goto out;
			used += (size_t)k;
			f->got[used] = '\0';
		}
		done += n;
		if (send(c, f->replies[r], strlen(f->replies[r]), MSG_NOSIGNAL) < 0)
			break;
	}
out:
	if (c >= 0)
		close(c);
	return NULL;
}

static void fake_start(struct fake_server *f, const char *const *replies)
{
	memset(f, 0, sizeof *f);
	for (size_t k = 0; k < FAKE_MAX_REPLIES && replies[k] != NULL; k++)
		f->replies[k] = replies[k];
	f->lfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(f->lfd >= 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof a;
	assert_int_equal(bind(f->lfd, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(listen(f->lfd, 1), 0);
	assert_int_equal(getsockname(f->lfd, (struct sockaddr *)&a, &alen), 0);
	snprintf(f->server, sizeof f->server, "127.0.0.1:%u", (unsigned)ntohs(a.sin_port));
	assert_int_equal(pthread_create(&f->thread, NULL, fake_serve, f), 0);
}

static void fake_end(struct fake_server *f)
{
	assert_int_equal(pthread_join(f->thread, NULL), 0);
	close(f->lfd);
}

#define WRONGPASS "-WRONGPASS invalid username-password pair or user is disabled.\r\n"
#define AUTH_U_PW "*3\r\n$4\r\nAUTH\r\n$1\r\nu\r\n$2\r\npw\r\n"
#define SELECT_3 "*2\r\n$6\r\nSELECT\r\n$1\r\n3\r\n"

/* REDIS-AUTH-03: redis_client_connect sends AUTH USER PASSWORD, then
 * SELECT DB, before anything else; a refused AUTH is that server's failure,
 * named with Redis's words (never the password), and the next server is
 * tried; a refused SELECT likewise. No password: neither is sent. */
static void REDIS_AUTH_03_handshake_and_next_server(void **state)
{
	(void)state;
	struct fake_server a, b;
	char why[REDIS_CLIENT_ERROR_MAX], want[256];
	struct redis_auth auth = {"u", "pw", 3};
	fake_start(&a, (const char *[]){WRONGPASS, NULL});
	fake_start(&b, (const char *[]){"+OK\r\n", "+OK\r\n", ":1\r\n", NULL});
	const char *list[] = {a.server, b.server};
	struct redis_client *c = redis_client_connect(list, 2, 2.0, &auth, why, sizeof why);
	assert_non_null(c);
	assert_string_equal(redis_client_server(c), b.server);
	assert_int_equal(redis_client_hexists(c, "KEYS", "s1.example.com"), REDIS_R_OK);
	redis_client_free(c);
	fake_end(&a), fake_end(&b);
	assert_string_equal(a.got, AUTH_U_PW);
	assert_string_equal(b.got, AUTH_U_PW SELECT_3
			    "*3\r\n$7\r\nHEXISTS\r\n$4\r\nKEYS\r\n$14\r\ns1.example.com\r\n");

	fake_start(&a, (const char *[]){WRONGPASS, NULL});
	assert_null(redis_client_connect(list, 1, 2.0, &auth, why, sizeof why));
	fake_end(&a);
	snprintf(want, sizeof want,
		 "Redis %s: AUTH: WRONGPASS invalid username-password pair or user is disabled.",
		 a.server);
	assert_string_equal(why, want);

	fake_start(&a, (const char *[]){"+OK\r\n", "-ERR DB index is out of range\r\n", NULL});
	assert_null(redis_client_connect(list, 1, 2.0, &auth, why, sizeof why));
	fake_end(&a);
	snprintf(want, sizeof want, "Redis %s: SELECT 3: ERR DB index is out of range", a.server);
	assert_string_equal(why, want);

	struct redis_auth none = {NULL, NULL, 0};
	fake_start(&a, (const char *[]){":0\r\n", NULL});
	c = redis_client_connect(list, 1, 2.0, &none, why, sizeof why);
	assert_non_null(c);
	assert_int_equal(redis_client_hexists(c, "KEYS", "x"), REDIS_R_MISSING);
	redis_client_free(c);
	fake_end(&a);
	assert_string_equal(a.got, "*3\r\n$7\r\nHEXISTS\r\n$4\r\nKEYS\r\n$1\r\nx\r\n");
}

/* ROT-FLEET-05: hash and key names (key_prefix, selector_prefix,
 * rotation.redis_key, --key-prefix): 1..REDIS_CLIENT_KEY_NAME_MAX printable
 * characters, no spaces; the limit itself is taken, one more is not. */
static void ROT_FLEET_05_key_names(void **state)
{
	(void)state;
	char name[REDIS_CLIENT_KEY_NAME_MAX + 2];
	memset(name, 'k', sizeof name - 1);
	name[sizeof name - 1] = '\0';
	assert_false(redis_client_key_name_ok(name)); /* limit + 1 */
	name[REDIS_CLIENT_KEY_NAME_MAX] = '\0';
	assert_true(redis_client_key_name_ok(name)); /* at the limit */
	name[REDIS_CLIENT_KEY_NAME_MAX - 1] = '\0';
	assert_true(redis_client_key_name_ok(name));
	assert_true(redis_client_key_name_ok("DKIM_SELECTORS"));
	assert_true(redis_client_key_name_ok("fleet:rotation"));
	assert_false(redis_client_key_name_ok(""));
	assert_false(redis_client_key_name_ok("a b"));
	assert_false(redis_client_key_name_ok("a\tb"));
	assert_false(redis_client_key_name_ok("a\x7f"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ROT_FLEET_05_url_forms),
		cmocka_unit_test(REDIS_AUTH_02_url_credentials),
		cmocka_unit_test(REDIS_AUTH_02_password_from_environment),
		cmocka_unit_test(REDIS_AUTH_03_handshake_and_next_server),
		cmocka_unit_test(ROT_FLEET_05_connect_errors),
		cmocka_unit_test(ROT_FLEET_05_key_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
