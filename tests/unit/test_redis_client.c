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
		cmocka_unit_test(ROT_FLEET_05_connect_errors),
		cmocka_unit_test(ROT_FLEET_05_key_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
