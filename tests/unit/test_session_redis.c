/* test_session_redis.c: a milter session (daemon/session.c) whose signing
 * keys come from Redis (dkim_signing.use_redis): the EOH reply waits for
 * session_key_answer, what the MTA sends meanwhile is held and goes on
 * after it; keys sign, "no key" verifies, an error follows on_error.sign;
 * answers for a message that is over are ignored. The keys are given by
 * the test (signkeys.h), as server.c gives what keyfetch.c fetched
 * (tests/unit/test_keyfetch.c tests the fetcher). FLEET-KEYS-02 signing
 * with Redis keys, -04 Redis unreachable, -05 no key. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <signet/key.h>

#include "config.h"
#include "diag.h"
#include "keystore.h"
#include "milter.h"
#include "session_fixture.h"
#include "signkeys.h"

static const char *g_on_error = "tempfail";

static int group_setup(void **state)
{
	(void)state;
	return fixture_setup("/tmp/signet-sredis-XXXXXX");
}

static int group_teardown(void **state)
{
	(void)state;
	return fixture_teardown();
}

/* FLEET-KEYS-01: use_redis with servers loads; no key file anywhere (the
 * fixture's runtime signs example.com from a file: not this one). */
static struct runtime *make_runtime(void)
{
	char text[1024];
	snprintf(text, sizeof text,
		 "authserv_id = \"" AUTHSERV "\";\n"
		 "local_addrs = [\"127.0.0.0/8\"];\n"
		 "on_error { sign = \"%s\"; }\n"
		 "redis { servers = [\"127.0.0.1:6399\"]; }\n"
		 "dkim_signing { use_redis = true; key_prefix = \"KEYS\";\n"
		 "  domain { example.com { selector = \"s1\"; } } }\n"
		 "spf { enabled = false; }\ndmarc { enabled = false; }\n",
		 g_on_error);
	return fixture_runtime_text(text);
}

static void conn_open(struct conn *c, const char *addr)
{
	conn_start(c, make_runtime(), addr, FIXTURE_SMTP_PORT);
}

/* MAIL, From and Subject, EOH: replies MAIL, 2 HEADER (3 CONTINUE); the
 * EOH's is withheld while the keys are fetched. */
static void header_part(struct conn *c, const char *from)
{
	pk_str(&c->in, SMFIC_MAIL, "<a@example.com>");
	pk2(&c->in, SMFIC_HEADER, "From", from);
	pk2(&c->in, SMFIC_HEADER, "Subject", " hi");
	pk(&c->in, SMFIC_EOH, NULL, 0);
}

static void body_part(struct conn *c)
{
	pk(&c->in, SMFIC_BODY, "hello\r\n", 7);
	pk(&c->in, SMFIC_BODYEOB, NULL, 0);
}

/* The keys Redis would give for example.com: selector s1, or none. */
static struct signkeys *keys_for(const char *selector)
{
	struct signkeys *k = signkeys_new("example.com");
	assert_non_null(k);
	if (selector == NULL) {
		snprintf(k->why, sizeof k->why, "no key in Redis: HGET KEYS s1.example.com is nil");
		return k;
	}
	/* a copy of g_key: the session's reference frees it with the value */
	char pem[4096];
	size_t len;
	struct signet_error err = {0};
	assert_int_equal(signet_key_write_pem(g_key, pem, sizeof pem, &len, &err), SIGNET_OK);
	assert_int_equal(signet_key_parse((const uint8_t *)pem, len, &k->key[0], &err), SIGNET_OK);
	snprintf(k->selector[0], sizeof k->selector[0], "%s", selector);
	k->n = 1;
	return k;
}

/* Reaches the wait for keys: the request handed out once, for example.com
 * with the configured selector. Returns its id. */
static unsigned wait_for_keys(struct conn *c)
{
	header_part(c, " a@example.com");
	assert_int_equal(conn_feed(c), SESSION_OK);
	struct reply r[8];
	assert_int_equal(replies(&c->out, r, 8), 3); /* MAIL, HEADER, HEADER: no EOH */
	for (size_t k = 0; k < 3; k++)
		assert_int_equal(r[k].cmd, SMFIR_CONTINUE);
	assert_true(session_waiting(c->s));
	unsigned id;
	const struct signetd_config *cfg;
	const char *domain;
	const char *const *sels;
	size_t n;
	assert_true(session_next_key_request(c->s, &id, &cfg, &domain, &sels, &n));
	assert_non_null(cfg);
	assert_true(cfg->signing.use_redis);
	assert_string_equal(domain, "example.com");
	assert_int_equal(n, 1);
	assert_string_equal(sels[0], "s1");
	assert_false(session_next_key_request(c->s, &id, &cfg, &domain, &sels, &n)); /* once */
	return id;
}

static char g_log[8192];

static void log_start(void)
{
	fixture_log_start();
}

static void log_end(void)
{
	fixture_log_end(g_log, sizeof g_log);
}

static void assert_signed_s1(const struct reply *r)
{
	assert_int_equal(r->cmd, SMFIR_INSHEADER);
	assert_string_equal(r->name, "DKIM-Signature");
	assert_non_null(memmem(r->val, r->vlen, "d=example.com;", 14));
	assert_non_null(memmem(r->val, r->vlen, "s=s1;", 5));
}

/* ---- tests ---- */

/* FLEET-KEYS-02: no EOH reply until the keys come; BODY and EOM sent
 * meanwhile are held, then processed: EOH, BODY CONTINUE, then the EOM's
 * DKIM-Signature with d= and s= of the answer. */
static void FLEET_KEYS_02_eoh_waits_input_held_then_signed(void **state)
{
	(void)state;
	struct conn c;
	conn_open(&c, "127.0.0.1");
	unsigned id = wait_for_keys(&c);
	body_part(&c);
	assert_int_equal(conn_feed(&c), SESSION_OK);
	assert_int_equal(c.out.len, 0); /* held */
	assert_true(session_waiting(c.s));
	struct signkeys *keys = keys_for("s1");
	buf_reset(&c.out);
	log_start();
	enum session_status st = session_key_answer(c.s, id, keys, NULL, &c.out);
	log_end();
	signkeys_unref(keys);
	assert_int_equal(st, SESSION_OK);
	struct reply r[8];
	assert_int_equal(replies(&c.out, r, 8), 4);
	assert_int_equal(r[0].cmd, SMFIR_CONTINUE); /* EOH */
	assert_int_equal(r[1].cmd, SMFIR_CONTINUE); /* BODY */
	assert_signed_s1(&r[2]);
	assert_int_equal(r[3].cmd, SMFIR_CONTINUE);
	assert_false(session_waiting(c.s));
	if (strstr(g_log, "signed (d=example.com s=s1 a=ed25519-sha256)") == NULL)
		fail_msg("log: %s", g_log);
	conn_close(&c);
}

/* FLEET-KEYS-02: the usual order (the MTA waits for the EOH reply); the
 * caller drops its reference at once: the session keeps its own until
 * the signature is made (the ASan build checks it). */
static void FLEET_KEYS_02_keys_kept_by_the_session(void **state)
{
	(void)state;
	struct conn c;
	conn_open(&c, "127.0.0.1");
	unsigned id = wait_for_keys(&c);
	struct signkeys *keys = keys_for("s1");
	buf_reset(&c.out);
	assert_int_equal(session_key_answer(c.s, id, keys, NULL, &c.out), SESSION_OK);
	signkeys_unref(keys);
	struct reply r[8];
	assert_int_equal(replies(&c.out, r, 8), 1);
	assert_int_equal(r[0].cmd, SMFIR_CONTINUE);
	body_part(&c);
	assert_int_equal(conn_feed(&c), SESSION_OK);
	assert_int_equal(replies(&c.out, r, 8), 3);
	assert_signed_s1(&r[1]);
	conn_close(&c);
}

/* FLEET-KEYS-05: Redis has no key for the domain (n == 0): not ours to
 * sign, so verified as a message without a key file would be. */
static void FLEET_KEYS_05_no_key_verifies_instead(void **state)
{
	(void)state;
	struct conn c;
	conn_open(&c, "127.0.0.1");
	unsigned id = wait_for_keys(&c);
	struct signkeys *none = keys_for(NULL);
	buf_reset(&c.out);
	assert_int_equal(session_key_answer(c.s, id, none, NULL, &c.out), SESSION_OK);
	signkeys_unref(none);
	body_part(&c);
	log_start();
	assert_int_equal(conn_feed(&c), SESSION_OK);
	log_end();
	struct reply r[8];
	size_t n = replies(&c.out, r, 8);
	assert_true(n >= 2);
	for (size_t k = 0; k < n; k++)
		assert_string_not_equal(r[k].name, "DKIM-Signature");
	assert_int_equal(r[n - 1].cmd, SMFIR_CONTINUE);
	if (strstr(g_log, "not signed: no key in Redis: HGET KEYS s1.example.com is nil") == NULL)
		fail_msg("log: %s", g_log);
	conn_close(&c);
}

/* FLEET-KEYS-04: the keys could not be fetched: on_error.sign = tempfail
 * gives 451 4.7.0 at the EOM, with the error logged. */
static void FLEET_KEYS_04_error_tempfails(void **state)
{
	(void)state;
	g_on_error = "tempfail";
	struct conn c;
	conn_open(&c, "127.0.0.1");
	unsigned id = wait_for_keys(&c);
	body_part(&c); /* held */
	assert_int_equal(conn_feed(&c), SESSION_OK);
	buf_reset(&c.out);
	log_start();
	assert_int_equal(
		session_key_answer(c.s, id, NULL, "Redis 127.0.0.1:6399: no reply", &c.out),
		SESSION_OK);
	log_end();
	struct reply r[8];
	assert_int_equal(replies(&c.out, r, 8), 3);
	assert_int_equal(r[2].cmd, SMFIR_REPLYCODE);
	if (strncmp(r[2].text, "451 4.7.0 ", 10) != 0)
		fail_msg("reply: %s", r[2].text);
	if (strstr(g_log, "keys of example.com: Redis 127.0.0.1:6399: no reply") == NULL ||
	    strstr(g_log, "on_error.sign = tempfail") == NULL)
		fail_msg("log: %s", g_log);
	conn_close(&c);
}

/* FLEET-KEYS-04: with on_error.sign = accept the message goes unsigned. */
static void FLEET_KEYS_04_error_accepts_unsigned(void **state)
{
	(void)state;
	g_on_error = "accept";
	struct conn c;
	conn_open(&c, "127.0.0.1");
	g_on_error = "tempfail";
	unsigned id = wait_for_keys(&c);
	buf_reset(&c.out);
	assert_int_equal(session_key_answer(c.s, id, NULL, "down", &c.out), SESSION_OK);
	body_part(&c);
	assert_int_equal(conn_feed(&c), SESSION_OK);
	struct reply r[8];
	size_t n = replies(&c.out, r, 8);
	assert_int_equal(n, 2);
	assert_int_equal(r[0].cmd, SMFIR_CONTINUE);
	assert_int_equal(r[1].cmd, SMFIR_CONTINUE);
	conn_close(&c);
}

/* FLEET-KEYS-02: an answer with another id (a message that is over) is
 * ignored; an ABORT sent while waiting is held, ends the message once the
 * answer comes, and the next message asks (and signs) on its own. */
static void FLEET_KEYS_02_stale_answer_ignored_abort_then_next(void **state)
{
	(void)state;
	struct conn c;
	conn_open(&c, "127.0.0.1");
	unsigned id1 = wait_for_keys(&c);
	struct signkeys *keys = keys_for("s1");
	buf_reset(&c.out);
	assert_int_equal(session_key_answer(c.s, id1 + 1, keys, NULL, &c.out), SESSION_OK);
	assert_int_equal(c.out.len, 0);
	assert_true(session_waiting(c.s));
	pk(&c.in, SMFIC_ABORT, NULL, 0);
	assert_int_equal(conn_feed(&c), SESSION_OK);
	assert_int_equal(c.out.len, 0);
	assert_int_equal(session_key_answer(c.s, id1, NULL, "late", &c.out), SESSION_OK);
	struct reply r[8];
	assert_int_equal(replies(&c.out, r, 8), 1); /* the EOH's; ABORT has none */
	assert_false(session_waiting(c.s));

	unsigned id2 = wait_for_keys(&c);
	assert_int_not_equal(id2, id1);
	buf_reset(&c.out);
	assert_int_equal(session_key_answer(c.s, id1, keys, NULL, &c.out), SESSION_OK);
	assert_int_equal(c.out.len, 0); /* the aborted message's id */
	assert_true(session_waiting(c.s));
	assert_int_equal(session_key_answer(c.s, id2, keys, NULL, &c.out), SESSION_OK);
	signkeys_unref(keys);
	body_part(&c);
	assert_int_equal(conn_feed(&c), SESSION_OK);
	assert_int_equal(replies(&c.out, r, 8), 3);
	assert_signed_s1(&r[1]);
	conn_close(&c);
}

/* The session goes away while it waits (the MTA closed the connection):
 * the held input and the decision are freed (the ASan build checks it). */
static void FLEET_KEYS_02_free_while_waiting(void **state)
{
	(void)state;
	struct conn c;
	conn_open(&c, "127.0.0.1");
	(void)wait_for_keys(&c);
	body_part(&c);
	assert_int_equal(conn_feed(&c), SESSION_OK);
	session_abort(c.s);
	assert_false(session_waiting(c.s));
	conn_close(&c);
	conn_open(&c, "127.0.0.1");
	(void)wait_for_keys(&c);
	conn_close(&c);
}

/* A BODY with no EOH before it (an MTA that skips the step): the decision
 * is made there, but the keys cannot be waited for without losing that
 * body chunk and replying to an EOH never sent: the message follows
 * on_error.sign at its end (451), and nothing else is written. */
static void FLEET_KEYS_02_body_without_eoh(void **state)
{
	(void)state;
	g_on_error = "tempfail";
	struct conn c;
	conn_open(&c, "127.0.0.1");
	pk_str(&c.in, SMFIC_MAIL, "<a@example.com>");
	pk2(&c.in, SMFIC_HEADER, "From", " a@example.com");
	body_part(&c);
	assert_int_equal(conn_feed(&c), SESSION_OK);
	unsigned id;
	const struct signetd_config *cfg;
	const char *domain;
	const char *const *sels;
	size_t n;
	assert_false(session_next_key_request(c.s, &id, &cfg, &domain, &sels, &n));
	assert_false(session_waiting(c.s));
	struct reply r[8];
	assert_int_equal(replies(&c.out, r, 8), 4); /* MAIL, HEADER, BODY, EOM */
	assert_int_equal(r[3].cmd, SMFIR_REPLYCODE);
	if (strncmp(r[3].text, "451 4.7.0 ", 10) != 0)
		fail_msg("reply: %s", r[3].text);
	conn_close(&c);
}

/* What Postfix offers: every protocol flag, so the replies we skip (NR_HDR,
 * NR_EOH, NR_BODY) are negotiated and the MTA streams the body without
 * waiting for our EOH reply. */
static void conn_open_streaming(struct conn *c)
{
	conn_start(c, make_runtime(), NULL, 0);
	uint8_t o[12] = {0, 0, 0, 6, 0, 0, 0x01, 0xff, 0, 0x1f, 0xff, 0xff};
	pk(&c->in, SMFIC_OPTNEG, o, sizeof o);
	pk_connect_port(&c->in, "127.0.0.1", FIXTURE_SMTP_PORT);
	assert_int_equal(session_feed(c->s, c->in.data, c->in.len, &c->out), SESSION_OK);
	buf_reset(&c->in);
	buf_reset(&c->out);
}

/* BODY packets of MILTER_MAX_DATA_SIZE (Postfix's chunk) up to total bytes. */
static void body_stream(struct conn *c, size_t total)
{
	static char chunk[MILTER_MAX_DATA_SIZE];
	for (size_t k = 0; k < sizeof chunk; k++)
		chunk[k] = k % 78 == 77 ? '\n' : (char)('a' + k % 26);
	for (size_t sent = 0; sent < total;) {
		size_t n = total - sent < sizeof chunk ? total - sent : sizeof chunk;
		pk(&c->in, SMFIC_BODY, chunk, n);
		sent += n;
	}
}

/* server.c's WORKER_READ_SIZE: the most one session_feed brings */
#define READ_SIZE (256 * 1024)
/* session.c's SESSION_MAX_HELD, stated again so a change shows here */
#define MAX_HELD (512 * 1024)

/* FLEET-KEYS-07: with NR_EOH/NR_BODY the MTA streams the body while the
 * keys are fetched; server.c reads no more once the session waits for
 * keys, so the session holds at most one read (WORKER_READ_SIZE) after
 * the EOH: that much is held and signed once the keys come. */
static void FLEET_KEYS_07_one_read_of_body_held_while_waiting(void **state)
{
	(void)state;
	struct conn c;
	conn_open_streaming(&c);
	header_part(&c, " a@example.com");
	size_t head = c.in.len;
	body_stream(&c, READ_SIZE - head - 5 * (READ_SIZE / MILTER_MAX_DATA_SIZE + 1));
	assert_true(c.in.len <= READ_SIZE);
	assert_int_equal(conn_feed(&c), SESSION_OK);
	assert_int_equal(c.out.len, 0); /* NR_ steps: nothing to say yet */
	unsigned id;
	const struct signetd_config *cfg;
	const char *domain;
	const char *const *sels;
	size_t n;
	assert_true(session_next_key_request(c.s, &id, &cfg, &domain, &sels, &n));
	pk(&c.in, SMFIC_BODYEOB, NULL, 0);
	assert_int_equal(conn_feed(&c), SESSION_OK);
	struct signkeys *keys = keys_for("s1");
	assert_int_equal(session_key_answer(c.s, id, keys, NULL, &c.out), SESSION_OK);
	signkeys_unref(keys);
	struct reply r[8];
	assert_int_equal(replies(&c.out, r, 8), 2);
	assert_signed_s1(&r[0]);
	assert_int_equal(r[1].cmd, SMFIR_CONTINUE);
	conn_close(&c);
}

/* SESSION_MAX_HELD: input held while waiting, up to the bound; one byte
 * more closes the connection, logged. */
static void FLEET_KEYS_07_held_input_bound(void **state)
{
	(void)state;
	for (size_t over = 0; over <= 1; over++) {
		struct conn c;
		conn_open_streaming(&c);
		header_part(&c, " a@example.com");
		assert_int_equal(conn_feed(&c), SESSION_OK);
		assert_true(session_waiting(c.s));
		body_stream(&c, MAX_HELD); /* BODY packets: a little more than MAX_HELD */
		size_t extra = c.in.len - MAX_HELD;
		assert_int_equal(session_feed(c.s, c.in.data, c.in.len - extra, &c.out),
				 SESSION_OK);
		log_start();
		enum session_status st =
			session_feed(c.s, c.in.data + c.in.len - extra, over, &c.out);
		log_end();
		assert_int_equal(st, over ? SESSION_CLOSE : SESSION_OK);
		if (over && strstr(g_log, "MTA sent too much while we waited") == NULL)
			fail_msg("log: %s", g_log);
		buf_reset(&c.in);
		conn_close(&c);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(FLEET_KEYS_02_eoh_waits_input_held_then_signed),
		cmocka_unit_test(FLEET_KEYS_02_keys_kept_by_the_session),
		cmocka_unit_test(FLEET_KEYS_05_no_key_verifies_instead),
		cmocka_unit_test(FLEET_KEYS_04_error_tempfails),
		cmocka_unit_test(FLEET_KEYS_04_error_accepts_unsigned),
		cmocka_unit_test(FLEET_KEYS_02_stale_answer_ignored_abort_then_next),
		cmocka_unit_test(FLEET_KEYS_02_free_while_waiting),
		cmocka_unit_test(FLEET_KEYS_02_body_without_eoh),
		cmocka_unit_test(FLEET_KEYS_07_one_read_of_body_held_while_waiting),
		cmocka_unit_test(FLEET_KEYS_07_held_input_bound),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
