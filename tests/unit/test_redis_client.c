/* test_redis_client.c: the pure part of conf/redis_client.c (the --redis
 * URL forms) and its errors without a server: a refused connect names the
 * server and the reason. ROT-FLEET-05. A real redis-server is exercised by
 * tests/integration/test_rotation_fleet.py. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "redis_client.h"

static void url_ok(const char *url, const char *want)
{
	char server[REDIS_CLIENT_NAME_MAX];
	if (!redis_client_parse_url(url, server, sizeof server))
		fail_msg("%s: refused", url);
	assert_string_equal(server, want);
}

static void url_bad(const char *url)
{
	char server[REDIS_CLIENT_NAME_MAX];
	if (redis_client_parse_url(url, server, sizeof server))
		fail_msg("%s: accepted as %s", url ? url : "(null)", server);
}

/* ROT-FLEET-05: --redis takes redis://ADDRESS:PORT, redis://[IPV6]:PORT or
 * ADDRESS:PORT, numeric; anything else is refused (no names, no database
 * path, no password, no missing port). */
static void ROT_FLEET_05_url_forms(void **state)
{
	(void)state;
	url_ok("redis://127.0.0.1:6379", "127.0.0.1:6379");
	url_ok("redis://[::1]:6380", "[::1]:6380");
	url_ok("127.0.0.1:7000", "127.0.0.1:7000");
	url_ok("[2001:db8::1]:1", "[2001:db8::1]:1");
	url_bad("redis://localhost:6379");
	url_bad("redis://127.0.0.1:6379/0");
	url_bad("redis://:secret@127.0.0.1:6379");
	url_bad("redis://127.0.0.1");
	url_bad("redis://127.0.0.1:0");
	url_bad("redis://127.0.0.1:65536");
	url_bad("rediss://127.0.0.1:6379");
	url_bad("redis://::1:6379");
	url_bad("");
	url_bad(NULL);
	char small[8];
	assert_false(redis_client_parse_url("127.0.0.1:6379", small, sizeof small));
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
	assert_null(redis_client_connect(list, 2, 1.0, why, sizeof why));
	snprintf(want, sizeof want,
		 "Redis %s: Connection refused; Redis not-numeric:1: not a "
		 "numeric ADDRESS:PORT",
		 server);
	assert_string_equal(why, want);
	assert_null(redis_client_connect(list, 0, 1.0, why, sizeof why));
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
		cmocka_unit_test(ROT_FLEET_05_connect_errors),
		cmocka_unit_test(ROT_FLEET_05_key_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
