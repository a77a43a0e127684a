/* test_metrics.c: signetd's metrics (daemon/metrics.c): the exposition
 * text (format 0.0.4) for known counter values, histogram buckets
 * (cumulative, +Inf = _count, edges inclusive), label escaping of key
 * health gauges, the metrics.listen parser, the listener's limits in the
 * config, and policy.c's reason codes
 * behind signetd_not_signed_total. No network: the HTTP listener is
 * exercised by tests/integration/test_metrics.py with curl. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <cmocka.h>

#include "buf.h"
#include "config.h"
#include "hostport.h"
#include "metrics.h"
#include "policy.h"

/* The text of m, NUL-terminated; the caller frees. */
static char *render(struct metrics *m)
{
	struct signet_buf b;
	buf_init(&b, 1u << 20);
	assert_int_equal(metrics_render(m, &b), SIGNET_OK);
	assert_int_equal(buf_terminate(&b), SIGNET_OK);
	char *s = strdup((const char *)b.data);
	assert_non_null(s);
	buf_free(&b);
	return s;
}

/* line must be one whole line of text (not a prefix of a longer one). */
static void assert_line(const char *text, const char *line)
{
	size_t n = strlen(line);
	for (const char *p = text; (p = strstr(p, line)) != NULL; p++)
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return;
	fail_msg("line not found: %s\n--- text ---\n%s", line, text);
}

static void assert_no_substr(const char *text, const char *s)
{
	const char *hit = strstr(text, s);
	if (hit != NULL) {
		print_error("%s\n", text);
		fail_msg("unexpected text at: %.60s", hit);
	}
}

/* Every family has HELP and TYPE before its samples; counters start at 0. */
static void metrics_zero_state_exposition(void **state)
{
	(void)state;
	struct metrics *m = metrics_new();
	assert_non_null(m);
	char *t = render(m);
	char bi[128];
	snprintf(bi, sizeof bi, "signetd_build_info{version=\"%s\"} 1", signet_version());
	assert_line(t, "# TYPE signetd_build_info gauge");
	assert_line(t, bi);
	assert_line(t, "# TYPE signetd_messages_total counter");
	assert_line(t, "signetd_messages_total{action=\"signed\"} 0");
	assert_line(t, "signetd_messages_total{action=\"deferred\"} 0");
	assert_line(t, "signetd_verify_results_total{result=\"none\"} 0");
	assert_line(t, "signetd_not_signed_total{reason=\"other\"} 0");
	assert_line(t, "signetd_dns_fast_answers_total 0");
	assert_line(t, "signetd_sign_seconds_bucket{le=\"+Inf\"} 0");
	assert_line(t, "signetd_sign_seconds_count 0");
	assert_line(t, "# TYPE signetd_key_health gauge");
	/* "signed" is the decision, not a reason for not signing. */
	assert_no_substr(t, "reason=\"signed\"");
	/* No key health samples before the first DNS check. */
	assert_no_substr(t, "signetd_key_health{");
	/* Each # TYPE comes right after its # HELP. */
	for (const char *p = t; (p = strstr(p, "# HELP ")) != NULL; p++) {
		const char *nl = strchr(p, '\n');
		assert_non_null(nl);
		assert_memory_equal(nl + 1, "# TYPE ", 7);
	}
	free(t);
	metrics_free(m);
}

static void metrics_counters_known_values(void **state)
{
	(void)state;
	struct metrics *m = metrics_new();
	assert_non_null(m);
	metrics_message(m, METRICS_SIGNED);
	metrics_message(m, METRICS_SIGNED);
	metrics_message(m, METRICS_VERIFIED);
	metrics_message(m, METRICS_DEFERRED);
	metrics_message(m, (enum metrics_action)99); /* ignored */
	metrics_signature(m, METRICS_RSA_SHA256);
	metrics_signature(m, METRICS_ED25519_SHA256);
	metrics_signature(m, METRICS_ED25519_SHA256);
	metrics_verify_result(m, SIGNET_RESULT_PASS);
	metrics_verify_result(m, SIGNET_RESULT_TEMPERROR);
	metrics_verify_result(m, SIGNET_RESULT_NONE);
	metrics_not_signed(m, POLICY_NO_KEY);
	metrics_not_signed(m, POLICY_MISMATCH);
	metrics_not_signed(m, POLICY_MISMATCH);
	metrics_not_signed(m, POLICY_SIGNED);            /* not a reason: ignored */
	metrics_not_signed(m, (enum policy_reason)1000); /* out of range: other */
	metrics_dns(m, SIGNET_DNS_OK, true, 999);        /* fast (under 1 ms) */
	metrics_dns(m, SIGNET_DNS_OK, false, 1000);      /* not under 1 ms */
	metrics_dns(m, SIGNET_DNS_NXDOMAIN, false, 20000);
	metrics_dns(m, SIGNET_DNS_TEMPFAIL, false, 5000000);
	char *t = render(m);
	assert_line(t, "signetd_messages_total{action=\"signed\"} 2");
	assert_line(t, "signetd_messages_total{action=\"verified\"} 1");
	assert_line(t, "signetd_messages_total{action=\"passed\"} 0");
	assert_line(t, "signetd_messages_total{action=\"deferred\"} 1");
	assert_line(t, "signetd_signatures_signed_total{alg=\"rsa-sha256\"} 1");
	assert_line(t, "signetd_signatures_signed_total{alg=\"ed25519-sha256\"} 2");
	assert_line(t, "signetd_verify_results_total{result=\"pass\"} 1");
	assert_line(t, "signetd_verify_results_total{result=\"fail\"} 0");
	assert_line(t, "signetd_verify_results_total{result=\"temperror\"} 1");
	assert_line(t, "signetd_verify_results_total{result=\"none\"} 1");
	assert_line(t, "signetd_not_signed_total{reason=\"no_key\"} 1");
	assert_line(t, "signetd_not_signed_total{reason=\"mismatch\"} 2");
	assert_line(t, "signetd_not_signed_total{reason=\"other\"} 1");
	assert_line(t, "signetd_not_signed_total{reason=\"not_local_not_authenticated\"} 0");
	assert_line(t, "signetd_dns_lookups_total{status=\"ok\"} 2");
	assert_line(t, "signetd_dns_lookups_total{status=\"nxdomain\"} 1");
	assert_line(t, "signetd_dns_lookups_total{status=\"tempfail\"} 1");
	assert_line(t, "signetd_dns_secure_total 1");
	assert_line(t, "signetd_dns_fast_answers_total 1");
	assert_line(t, "signetd_dns_lookup_seconds_count 4");
	assert_line(t, "signetd_dns_lookup_seconds_sum 5.021999");
	free(t);
	metrics_free(m);
}

/* Buckets are cumulative, le is inclusive, +Inf equals _count. */
static void metrics_histogram_cumulative(void **state)
{
	(void)state;
	struct metrics *m = metrics_new();
	assert_non_null(m);
	metrics_observe(m, METRICS_VERIFY_SECONDS, 0);        /* le 0.0005 */
	metrics_observe(m, METRICS_VERIFY_SECONDS, 500);      /* le 0.0005 (edge) */
	metrics_observe(m, METRICS_VERIFY_SECONDS, 501);      /* le 0.001 */
	metrics_observe(m, METRICS_VERIFY_SECONDS, 250000);   /* le 0.25 */
	metrics_observe(m, METRICS_VERIFY_SECONDS, 10000000); /* le 10 (edge) */
	metrics_observe(m, METRICS_VERIFY_SECONDS, 10000001); /* +Inf only */
	metrics_observe(m, (enum metrics_hist)7, 1);          /* ignored */
	char *t = render(m);
	static const char want[] = "# HELP signetd_verify_seconds Time spent "
				   "verifying a message, with end-of-message "
				   "waits for key lookups\n"
				   "# TYPE signetd_verify_seconds histogram\n"
				   "signetd_verify_seconds_bucket{le=\"0.0005\"} 2\n"
				   "signetd_verify_seconds_bucket{le=\"0.001\"} 3\n"
				   "signetd_verify_seconds_bucket{le=\"0.0025\"} 3\n"
				   "signetd_verify_seconds_bucket{le=\"0.005\"} 3\n"
				   "signetd_verify_seconds_bucket{le=\"0.01\"} 3\n"
				   "signetd_verify_seconds_bucket{le=\"0.025\"} 3\n"
				   "signetd_verify_seconds_bucket{le=\"0.05\"} 3\n"
				   "signetd_verify_seconds_bucket{le=\"0.1\"} 3\n"
				   "signetd_verify_seconds_bucket{le=\"0.25\"} 4\n"
				   "signetd_verify_seconds_bucket{le=\"0.5\"} 4\n"
				   "signetd_verify_seconds_bucket{le=\"1\"} 4\n"
				   "signetd_verify_seconds_bucket{le=\"2.5\"} 4\n"
				   "signetd_verify_seconds_bucket{le=\"5\"} 4\n"
				   "signetd_verify_seconds_bucket{le=\"10\"} 5\n"
				   "signetd_verify_seconds_bucket{le=\"+Inf\"} 6\n"
				   "signetd_verify_seconds_sum 20.251002\n"
				   "signetd_verify_seconds_count 6\n";
	if (strstr(t, want) == NULL)
		fail_msg("histogram block not found in:\n%s", t);
	/* The other histograms did not move. */
	assert_line(t, "signetd_sign_seconds_count 0");
	assert_line(t, "signetd_dns_lookup_seconds_count 0");
	free(t);
	metrics_free(m);
}

/* Label values: \ " and LF escaped (exposition format 0.0.4). */
static void metrics_key_health_label_escaping(void **state)
{
	(void)state;
	struct metrics *m = metrics_new();
	assert_non_null(m);
	struct metrics_key_health v[] = {
		{"example.com", "rsa2024", METRICS_KEY_OK | METRICS_KEY_TESTING},
		{"we\"ird\\dom\nain", "s\"1", METRICS_KEY_MISSING},
	};
	assert_int_equal(metrics_key_health_set(m, v, 2), SIGNET_OK);
	char *t = render(m);
	assert_line(t, "signetd_key_health{domain=\"example.com\",selector="
		       "\"rsa2024\",state=\"ok\"} 1");
	assert_line(t, "signetd_key_health{domain=\"example.com\",selector="
		       "\"rsa2024\",state=\"testing\"} 1");
	assert_line(t, "signetd_key_health{domain=\"example.com\",selector="
		       "\"rsa2024\",state=\"missing\"} 0");
	assert_line(t, "signetd_key_health{domain=\"example.com\",selector="
		       "\"rsa2024\",state=\"lookup_failed\"} 0");
	assert_line(t, "signetd_key_health{domain=\"we\\\"ird\\\\dom\\nain\","
		       "selector=\"s\\\"1\",state=\"missing\"} 1");
	assert_line(t, "signetd_key_health{domain=\"we\\\"ird\\\\dom\\nain\","
		       "selector=\"s\\\"1\",state=\"ok\"} 0");
	/* 8 states per selector, 2 selectors. */
	size_t n = 0;
	for (const char *p = t; (p = strstr(p, "\nsignetd_key_health{")) != NULL; p++)
		n++;
	assert_int_equal(n, 16);
	free(t);
	/* A new round replaces the table; an empty one removes every sample. */
	assert_int_equal(metrics_key_health_set(m, NULL, 0), SIGNET_OK);
	t = render(m);
	assert_no_substr(t, "signetd_key_health{");
	free(t);
	metrics_free(m);
}

static void metrics_listen_parse(void **state)
{
	(void)state;
	struct sockaddr_storage ss;
	socklen_t len;
	assert_true(hostport_sockaddr("127.0.0.1:9187", &ss, &len));
	assert_int_equal(ss.ss_family, AF_INET);
	assert_int_equal(ntohs(((struct sockaddr_in *)&ss)->sin_port), 9187);
	assert_true(hostport_sockaddr("[::1]:9187", &ss, &len));
	assert_int_equal(ss.ss_family, AF_INET6);
	assert_int_equal(len, sizeof(struct sockaddr_in6));
	assert_true(hostport_sockaddr("0.0.0.0:1", &ss, &len));
	assert_true(hostport_sockaddr("127.0.0.1:65535", &ss, &len));
	assert_false(hostport_sockaddr("127.0.0.1:65536", &ss, &len));
	assert_false(hostport_sockaddr("127.0.0.1:0", &ss, &len));
	assert_false(hostport_sockaddr("127.0.0.1:", &ss, &len));
	assert_false(hostport_sockaddr("127.0.0.1", &ss, &len));
	assert_false(hostport_sockaddr(":9187", &ss, &len));
	assert_false(hostport_sockaddr("::1:9187", &ss, &len)); /* v6 needs brackets */
	assert_false(hostport_sockaddr("[::1:9187", &ss, &len));
	assert_false(hostport_sockaddr("localhost:9187", &ss, &len)); /* numeric only */
	assert_false(hostport_sockaddr("127.0.0.1:91a7", &ss, &len));
	assert_false(hostport_sockaddr("", &ss, &len));
}

/* config: metrics { listen } is off by default, "" is off, bad values are
 * errors. */
static void metrics_config_listen(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		const char *want; /* NULL: off; "!" = config error */
	} rows[] = {
		{"", NULL},
		{"metrics { listen = \"127.0.0.1:9187\"; }", "127.0.0.1:9187"},
		{"metrics { listen = \"[::1]:9187\"; }", "[::1]:9187"},
		{"metrics { listen = \"\"; }", NULL},
		{"metrics { listen = \"127.0.0.1\"; }", "!"},
		{"metrics { lisen = \"127.0.0.1:9187\"; }", "!"},
	};
	for (size_t k = 0; k < sizeof rows / sizeof rows[0]; k++) {
		struct signetd_config *cfg = NULL;
		struct diags d;
		diags_init(&d);
		enum signet_status st = config_parse("t.conf", (const uint8_t *)rows[k].text,
						     strlen(rows[k].text), &cfg, &d);
		if (rows[k].want != NULL && strcmp(rows[k].want, "!") == 0) {
			assert_int_not_equal(st, SIGNET_OK);
			assert_true(d.nerrors > 0);
		} else {
			assert_int_equal(st, SIGNET_OK);
			if (rows[k].want == NULL)
				assert_null(cfg->metrics_listen);
			else
				assert_string_equal(cfg->metrics_listen, rows[k].want);
		}
		config_free(cfg);
		diags_free(&d);
	}
}

/* config: metrics.max_connections (1..CONFIG_MAX_METRICS_CONNECTIONS,
 * default 64) and metrics.request_timeout (more than 0, at most
 * CONFIG_MAX_METRICS_TIMEOUT, default 10 s), the listener's bounds against
 * a slow-header attack (issue #19), at limit-1, limit and limit+1. */
static void metrics_config_listener_limits(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		unsigned conns;   /* 0: a config error naming the key */
		double timeout;
	} rows[] = {
		{"", CONFIG_DEFAULT_METRICS_CONNECTIONS, CONFIG_DEFAULT_METRICS_TIMEOUT},
		{"metrics { max_connections = 0; }", 0, 0},
		{"metrics { max_connections = 1; }", 1, 10},
		{"metrics { max_connections = 1023; }", 1023, 10},
		{"metrics { max_connections = 1024; }", 1024, 10},
		{"metrics { max_connections = 1025; }", 0, 0},
		{"metrics { max_connections = \"64\"; }", 0, 0},
		{"metrics { request_timeout = 0; }", 0, 0},
		{"metrics { request_timeout = 500ms; }", 64, 0.5},
		{"metrics { request_timeout = 299s; }", 64, 299},
		{"metrics { request_timeout = 300s; }", 64, 300},
		{"metrics { request_timeout = 301s; }", 0, 0},
	};
	for (size_t k = 0; k < sizeof rows / sizeof rows[0]; k++) {
		struct signetd_config *cfg = NULL;
		struct diags d;
		diags_init(&d);
		enum signet_status st = config_parse("t.conf", (const uint8_t *)rows[k].text,
						     strlen(rows[k].text), &cfg, &d);
		if (rows[k].conns == 0) {
			assert_int_not_equal(st, SIGNET_OK);
			assert_int_equal(d.nerrors, 1);
			const char *key = strstr(rows[k].text, "max_") ? "metrics.max_connections"
								       : "metrics.request_timeout";
			if (strstr(d.v[0].msg, key) == NULL)
				fail_msg("%s: %s", rows[k].text, d.v[0].msg);
		} else {
			assert_int_equal(st, SIGNET_OK);
			assert_int_equal(cfg->metrics_max_connections, rows[k].conns);
			assert_true(cfg->metrics_request_timeout == rows[k].timeout);
		}
		config_free(cfg);
		diags_free(&d);
	}
}

/* policy.c's reason codes (the not_signed label) for each kind of "no". */
static void metrics_policy_reason_codes(void **state)
{
	(void)state;
	static const char text[] = "local_addrs = [\"127.0.0.0/8\"];\n";
	struct signetd_config *cfg = NULL;
	struct diags d;
	diags_init(&d);
	assert_int_equal(config_parse("t.conf", (const uint8_t *)text, strlen(text), &cfg, &d),
			 SIGNET_OK);
	const char *one[] = {"a@example.com"};
	const char *two[] = {"a@example.com", "b@example.com"};
	const char *bad[] = {"undisclosed-recipients"};
	static const struct {
		const char *client;
		int nfrom; /* 1: one, 2: two, 0: none, 3: one without an address */
		const char *env;
		enum policy_reason want;
		const char *label;
	} rows[] = {
		{"192.0.2.1", 1, "a@example.com", POLICY_NOT_LOCAL_NOT_AUTH,
		 "not_local_not_authenticated"},
		{"127.0.0.1", 0, "a@example.com", POLICY_FROM_MISSING, "from_missing"},
		{"127.0.0.1", 2, "a@example.com", POLICY_FROM_REPEATED, "from_repeated"},
		{"127.0.0.1", 1, "a@other.test", POLICY_MISMATCH, "mismatch"},
		{"127.0.0.1", 1, "a@example.com", POLICY_NO_KEY, "no_key"},
		{"127.0.0.1", 3, "a@example.com", POLICY_OTHER, "other"},
	};
	for (size_t k = 0; k < sizeof rows / sizeof rows[0]; k++) {
		struct policy_facts f = {
			.client_addr = rows[k].client,
			.env_from = rows[k].env,
			.from = rows[k].nfrom == 2 ? two : rows[k].nfrom == 3 ? bad : one,
			.n_from = rows[k].nfrom == 3 ? 1 : (size_t)rows[k].nfrom,
		};
		struct policy_decision dec;
		assert_int_equal(policy_decide(cfg, NULL, &f, &dec), SIGNET_OK);
		assert_false(dec.sign);
		assert_int_equal(dec.code, rows[k].want);
		assert_string_equal(policy_reason_label(dec.code), rows[k].label);
	}
	assert_string_equal(policy_reason_label(POLICY_OTHER), "other");
	assert_string_equal(policy_reason_label((enum policy_reason)-1), "other");
	assert_string_equal(policy_reason_label(POLICY_NREASONS), "other");
	config_free(cfg);
	diags_free(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(metrics_zero_state_exposition),
		cmocka_unit_test(metrics_counters_known_values),
		cmocka_unit_test(metrics_histogram_cumulative),
		cmocka_unit_test(metrics_key_health_label_escaping),
		cmocka_unit_test(metrics_listen_parse),
		cmocka_unit_test(metrics_config_listen),
		cmocka_unit_test(metrics_config_listener_limits),
		cmocka_unit_test(metrics_policy_reason_codes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
