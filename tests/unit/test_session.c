/* test_session.c: one milter connection (daemon/session.c), bytes in and
 * replies out, packets built as an MTA sends them: the state table of
 * which step may come in which state (MILTER-CONV-01/02, MILTER-ERR-03),
 * signing and verifying (the key answer given by the test, no DNS), and the
 * removal of Authentication-Results claiming our authserv-id (AR-DEL-01)
 * up to and past its bound. */
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

#include "log.h"
#include "metrics.h"
#include "milter.h"
#include "runtime.h"
#include "session.h"
#include "session_fixture.h"

/* session.c's SESSION_MAX_OURS_AR, stated again so a change shows here */
#define MAX_OURS_AR 2048

/* ---- setup: a key file and a config, as signetd loads them
 * (session_fixture.c) ---- */

static int group_setup(void **state)
{
	(void)state;
	return fixture_setup("/tmp/signet-session-XXXXXX");
}

static int group_teardown(void **state)
{
	(void)state;
	return fixture_teardown();
}

/* More config text: SPF and DMARC off, except in their own tests (no DNS
 * here: their questions are answered by hand). */
#define SPF_OFF "spf { enabled = false; }\n"
#define DMARC_OFF "dmarc { enabled = false; }\n"
static const char *g_extra = SPF_OFF DMARC_OFF;

static struct runtime *make_runtime(void)
{
	return fixture_runtime(g_extra);
}

/* ---- packets in (pk, pk2, pk_str, pk_optneg: session_fixture.h) ---- */

static void pk_connect(struct signet_buf *in, const char *addr)
{
	pk_connect_port(in, addr, FIXTURE_SMTP_PORT);
}

/* A session after OPTNEG and CONNECT from addr (127.0.0.1: local, signs);
 * NULL: before OPTNEG. */
static void conn_open(struct conn *c, const char *addr)
{
	conn_start(c, make_runtime(), addr, FIXTURE_SMTP_PORT);
}

static struct session_stats stats(const struct conn *c)
{
	struct session_stats st;
	session_get_stats(c->s, &st);
	return st;
}

/* ---- the state table ---- */

/* One packet of each command with valid data. */
static void pk_step(struct signet_buf *in, uint8_t cmd)
{
	switch (cmd) {
	case SMFIC_OPTNEG: pk_optneg(in); break;
	case SMFIC_CONNECT: pk_connect(in, "192.0.2.1"); break;
	case SMFIC_HELO: pk_str(in, cmd, "client.example"); break;
	case SMFIC_UNKNOWN: pk_str(in, cmd, "XYZZY"); break;
	case SMFIC_MAIL: pk_str(in, cmd, "<a@example.com>"); break;
	case SMFIC_RCPT: pk_str(in, cmd, "<b@example.org>"); break;
	case SMFIC_HEADER: pk2(in, cmd, "Subject", " hi"); break;
	case SMFIC_BODY: pk(in, cmd, "hello\r\n", 7); break;
	case SMFIC_MACRO: pk2(in, cmd, "Mi", "Q1"); break;
	default: pk(in, cmd, NULL, 0); break; /* DATA EOH EOM ABORT QUIT QUIT_NC */
	}
}

/* Reaches state st the way an MTA does. */
static void reach(struct conn *c, enum session_state st)
{
	if (st >= SESSION_IDLE) {
		pk_optneg(&c->in);
		pk_connect(&c->in, "192.0.2.1");
	}
	if (st >= SESSION_ENVELOPE)
		pk_step(&c->in, SMFIC_MAIL);
	if (st >= SESSION_HEADERS)
		pk_step(&c->in, SMFIC_HEADER);
	if (st >= SESSION_BODY)
		pk_step(&c->in, SMFIC_EOH);
	assert_int_equal(conn_feed(c), SESSION_OK);
	assert_int_equal(stats(c).state, st);
}

/* MILTER-CONV-01 "several messages may follow on it: after EOM the next
 * message starts with MAIL again; ABORT may come between messages or
 * mid-message"; MILTER-CONV-02 "per-message data freed in abort and at
 * EOM"; MILTER-ERR-03: an MTA breaking the protocol loses the connection,
 * it never crashes us. Every command in every state: a digit is the state
 * after it (session.h's order: 0 new, 1 idle, 2 envelope, 3 headers, 4
 * body), 'x' a protocol error (connection closed), 'q' QUIT (closed, not an
 * error). A second EOH, HEADER after EOH, BODY or EOM outside a message
 * are refused; MAIL and HELO inside a message start over. Each allowed step
 * gets its reply: 'O' for OPTNEG, none for MACRO/ABORT/QUIT_NC, CONTINUE
 * (last) for the rest. The per-message objects never exceed one. */
static void MILTER_CONV_01_state_table_every_step_in_every_state(void **state)
{
	(void)state;
	static const struct {
		uint8_t cmd;
		const char *next; /* by state: new idle envelope headers body */
	} table[] = {
		{SMFIC_OPTNEG, "11xxx"},  {SMFIC_CONNECT, "x1xxx"}, {SMFIC_HELO, "x1111"},
		{SMFIC_UNKNOWN, "x12xx"}, {SMFIC_MAIL, "x2222"},    {SMFIC_RCPT, "xx2xx"},
		{SMFIC_DATA, "xx2xx"},    {SMFIC_HEADER, "xx33x"},  {SMFIC_EOH, "xx44x"},
		{SMFIC_BODY, "xx444"},    {SMFIC_BODYEOB, "xx111"}, {SMFIC_ABORT, "01111"},
		{SMFIC_MACRO, "01234"},   {SMFIC_QUIT, "qqqqq"},    {SMFIC_QUIT_NC, "01111"},
	};
	for (size_t k = 0; k < sizeof table / sizeof table[0]; k++) {
		for (int st = SESSION_NEW; st < SESSION_STATES; st++) {
			struct conn c;
			conn_open(&c, NULL);
			reach(&c, (enum session_state)st);
			unsigned objects = stats(&c).objects;
			pk_step(&c.in, table[k].cmd);
			enum session_status got = conn_feed(&c);
			char want = table[k].next[st];
			struct reply r[8];
			size_t n = replies(&c.out, r, 8);
			if (want == 'x' || want == 'q') {
				if (got != SESSION_CLOSE)
					fail_msg("'%c' in state %d: not refused", table[k].cmd, st);
				assert_int_equal(n, 0);
				assert_int_equal(stats(&c).objects, objects);
			} else {
				if (got != SESSION_OK || (int)stats(&c).state != want - '0')
					fail_msg("'%c' in state %d: status %d, state %d, want %c",
						 table[k].cmd, st, got, stats(&c).state, want);
				uint8_t cmd = table[k].cmd;
				bool none = cmd == SMFIC_MACRO || cmd == SMFIC_ABORT ||
					    cmd == SMFIC_QUIT_NC;
				assert_int_equal(n, none ? 0 : n);
				if (!none) {
					assert_true(n >= 1);
					assert_int_equal(r[n - 1].cmd, cmd == SMFIC_OPTNEG
									       ? SMFIR_OPTNEG
									       : SMFIR_CONTINUE);
				}
				assert_true(stats(&c).objects <= 1);
			}
			conn_close(&c);
		}
	}
}

/* MILTER-CONV-02, issue #12: 20,000 EOH packets in one message made a
 * signer each (302 MB, 64 MB leaked). The second EOH is refused: the
 * connection closes with one signer made, freed once (ASan/LSan). */
static void MILTER_CONV_02_second_eoh_refused_nothing_made(void **state)
{
	(void)state;
	struct conn c;
	conn_open(&c, "127.0.0.1");
	pk_str(&c.in, SMFIC_MAIL, "<a@example.com>");
	pk2(&c.in, SMFIC_HEADER, "From", " a@example.com");
	pk(&c.in, SMFIC_EOH, NULL, 0);
	assert_int_equal(conn_feed(&c), SESSION_OK);
	assert_int_equal(stats(&c).objects, 1);
	for (int k = 0; k < 20000; k++)
		pk(&c.in, SMFIC_EOH, NULL, 0);
	assert_int_equal(conn_feed(&c), SESSION_CLOSE);
	assert_int_equal(c.out.len, 0);
	assert_int_equal(stats(&c).objects, 1);
	conn_close(&c);
}

/* The other steps that may arrive twice or late, one by one after a whole
 * message or inside one: HEADER after EOH, BODY after EOM, EOM twice are
 * refused; BODY before EOH decides there (an MTA without EOH), once. */
static void MILTER_CONV_02_repeated_and_late_steps(void **state)
{
	(void)state;
	static const uint8_t late[][2] = {
		{SMFIC_EOH, SMFIC_HEADER},      /* HEADER after EOH */
		{SMFIC_BODYEOB, SMFIC_BODY},    /* BODY after EOM */
		{SMFIC_BODYEOB, SMFIC_BODYEOB}, /* EOM twice */
		{SMFIC_BODYEOB, SMFIC_EOH},     /* EOH after EOM */
		{SMFIC_BODYEOB, SMFIC_HEADER},  /* HEADER after EOM */
	};
	for (size_t k = 0; k < sizeof late / sizeof late[0]; k++) {
		struct conn c;
		conn_open(&c, "127.0.0.1");
		pk_str(&c.in, SMFIC_MAIL, "<a@example.com>");
		pk2(&c.in, SMFIC_HEADER, "From", " a@example.com");
		pk_step(&c.in, late[k][0]);
		assert_int_equal(conn_feed(&c), SESSION_OK);
		pk_step(&c.in, late[k][1]);
		assert_int_equal(conn_feed(&c), SESSION_CLOSE);
		assert_int_equal(c.out.len, 0);
		assert_true(stats(&c).objects <= 1);
		conn_close(&c);
	}
	/* BODY without EOH: the decision is made at the first BODY, once. */
	struct conn c;
	conn_open(&c, "127.0.0.1");
	pk_str(&c.in, SMFIC_MAIL, "<a@example.com>");
	pk2(&c.in, SMFIC_HEADER, "From", " a@example.com");
	pk(&c.in, SMFIC_BODY, "a\r\n", 3);
	pk(&c.in, SMFIC_BODY, "b\r\n", 3);
	assert_int_equal(conn_feed(&c), SESSION_OK);
	assert_int_equal(stats(&c).objects, 1);
	assert_int_equal(stats(&c).state, SESSION_BODY);
	pk(&c.in, SMFIC_BODYEOB, NULL, 0);
	assert_int_equal(conn_feed(&c), SESSION_OK);
	struct reply r[4];
	assert_int_equal(replies(&c.out, r, 4), 2);
	assert_int_equal(r[0].cmd, SMFIR_INSHEADER);
	assert_string_equal(r[0].name, "DKIM-Signature");
	conn_close(&c);
}

/* MILTER-CONV-01: MAIL inside a message (an MTA that sent no ABORT) ends
 * it as ABORT would (its signer freed, nothing replied for it) and the new
 * message runs normally; so does ABORT mid-body. */
static void MILTER_CONV_01_mail_inside_message_starts_over(void **state)
{
	(void)state;
	struct conn c;
	conn_open(&c, "127.0.0.1");
	for (int round = 0; round < 2; round++) {
		pk_str(&c.in, SMFIC_MAIL, "<a@example.com>");
		pk2(&c.in, SMFIC_HEADER, "From", " a@example.com");
		pk(&c.in, SMFIC_EOH, NULL, 0);
		pk(&c.in, SMFIC_BODY, "half\r\n", 6);
		if (round == 1)
			pk(&c.in, SMFIC_ABORT, NULL, 0);
		assert_int_equal(conn_feed(&c), SESSION_OK);
		assert_int_equal(stats(&c).objects, round == 0 ? 1 : 0);
	}
	pk_str(&c.in, SMFIC_MAIL, "<a@example.com>");
	assert_int_equal(conn_feed(&c), SESSION_OK);
	assert_int_equal(stats(&c).objects, 0);
	assert_int_equal(stats(&c).state, SESSION_ENVELOPE);
	pk2(&c.in, SMFIC_HEADER, "From", " a@example.com");
	pk(&c.in, SMFIC_EOH, NULL, 0);
	pk(&c.in, SMFIC_BODY, "whole\r\n", 7);
	pk(&c.in, SMFIC_BODYEOB, NULL, 0);
	assert_int_equal(conn_feed(&c), SESSION_OK);
	struct reply r[8];
	size_t n = replies(&c.out, r, 8);
	assert_int_equal(n, 5); /* MAIL HEADER EOH BODY replies, then the EOM's */
	(void)n;
	conn_close(&c);
}

/* ---- signing and verifying ---- */

/* Runs one message from MAIL to EOM; headers are name/value pairs. */
static void message(struct conn *c, const char *const *hdr, size_t nhdr, const char *body)
{
	pk_str(&c->in, SMFIC_MAIL, "<a@example.com>");
	for (size_t k = 0; k < nhdr; k++)
		pk2(&c->in, SMFIC_HEADER, hdr[2 * k], hdr[2 * k + 1]);
	pk(&c->in, SMFIC_EOH, NULL, 0);
	pk(&c->in, SMFIC_BODY, body, strlen(body));
	pk(&c->in, SMFIC_BODYEOB, NULL, 0);
}

/* Skips the per-step CONTINUEs (MAIL, HEADERs, EOH, BODY): the EOM's
 * replies start at the returned index. */
static size_t eom_start(const struct reply *r, size_t n, size_t steps)
{
	assert_true(n >= steps);
	for (size_t k = 0; k < steps; k++)
		assert_int_equal(r[k].cmd, SMFIR_CONTINUE);
	return steps;
}

/* Captures what log_msg writes to stderr while f runs (the log line is
 * the contract of item 5: d=, s=, a= from the signing decision). */
static char g_log[8192];

static void log_capture(bool start)
{
	if (start)
		fixture_log_start();
	else
		fixture_log_end(g_log, sizeof g_log);
}

/* MILTER-EOM-01, DKIM-SIGN-06: a local client's message gets one
 * DKIM-Signature at the very top, then CONTINUE; the log line names d=,
 * s= and a= as the policy chose them. */
static void MILTER_EOM_01_signs_local_message_and_logs_the_decision(void **state)
{
	(void)state;
	struct conn c;
	conn_open(&c, "127.0.0.1");
	const char *h[] = {"From", " a@example.com", "Subject", " hi"};
	message(&c, h, 2, "hello\r\n");
	log_capture(true);
	enum session_status st = conn_feed(&c);
	log_capture(false);
	assert_int_equal(st, SESSION_OK);
	struct reply r[8];
	size_t n = replies(&c.out, r, 8);
	size_t e = eom_start(r, n, 5);
	assert_int_equal(n - e, 2);
	assert_int_equal(r[e].cmd, SMFIR_INSHEADER);
	assert_int_equal(r[e].index, 0);
	assert_string_equal(r[e].name, "DKIM-Signature");
	assert_non_null(memmem(r[e].val, r[e].vlen, "d=example.com;", 14));
	assert_int_equal(r[e + 1].cmd, SMFIR_CONTINUE);
	if (strstr(g_log, "signed (d=example.com s=ed2024 a=ed25519-sha256) in ") == NULL)
		fail_msg("log: %s", g_log);
	conn_close(&c);
}

/* The signature made above, verified by a session for an outside client:
 * one key lookup (ed2024._domainkey.example.com) handed out, the EOM waits
 * for it, the test answers with the key record, and Authentication-Results
 * with dkim=pass goes on top (AR-POS-01). */
static void DKIM_VER_signed_message_verifies_through_the_session(void **state)
{
	(void)state;
	struct conn a;
	conn_open(&a, "127.0.0.1");
	const char *h[] = {"From", " a@example.com", "Subject", " hi"};
	message(&a, h, 2, "hello\r\n");
	assert_int_equal(conn_feed(&a), SESSION_OK);
	struct reply r[8];
	size_t e = eom_start(r, replies(&a.out, r, 8), 5);
	char sig[2048];
	snprintf(sig, sizeof sig, "%.*s", (int)r[e].vlen, (const char *)r[e].val);

	struct conn v;
	conn_open(&v, "192.0.2.7");
	const char *hv[] = {"DKIM-Signature", sig, "From", " a@example.com", "Subject", " hi"};
	message(&v, hv, 3, "hello\r\n");
	assert_int_equal(conn_feed(&v), SESSION_OK);
	assert_true(session_waiting(v.s));
	size_t n = replies(&v.out, r, 8);
	assert_int_equal(n, 6); /* MAIL, 3 HEADER, EOH, BODY: the EOM's wait */
	unsigned id;
	const char *name;
	enum signet_rrtype type;
	assert_true(session_next_lookup(v.s, &id, &name, &type));
	assert_string_equal(name, "ed2024._domainkey.example.com");
	assert_int_equal(type, SIGNET_RR_TXT);
	assert_false(session_next_lookup(v.s, &id, &name, &type));
	char rec[512];
	size_t rlen;
	struct signet_error err = {0};
	assert_int_equal(signet_key_dns_record(g_key, rec, sizeof rec, &rlen, &err), SIGNET_OK);
	struct signet_txt txt = {(const uint8_t *)rec, rlen};
	struct dns_answer ans = {.status = SIGNET_DNS_OK, .records = &txt, .nrecords = 1};
	buf_reset(&v.out);
	assert_int_equal(session_answer(v.s, id, &ans, &v.out), SESSION_OK);
	n = replies(&v.out, r, 8);
	assert_int_equal(n, 2);
	assert_int_equal(r[0].cmd, SMFIR_INSHEADER);
	assert_int_equal(r[0].index, 0);
	assert_string_equal(r[0].name, "Authentication-Results");
	assert_non_null(memmem(r[0].val, r[0].vlen, " " AUTHSERV "; dkim=pass", 26));
	assert_int_equal(r[1].cmd, SMFIR_CONTINUE);
	assert_int_equal(stats(&v).state, SESSION_IDLE);
	conn_close(&v);
	conn_close(&a);
}

/* ---- forged Authentication-Results (AR-DEL-01, issue #19) ---- */

struct ar_run {
	size_t deletes;  /* 'm' replies, each with an empty value */
	bool descending; /* their indices nforged..1 */
	bool ours_added; /* our Authentication-Results inserted */
	bool signed_;    /* a DKIM-Signature inserted */
	uint8_t verdict; /* last reply */
	char text[128];  /* its text for 'y' */
};

/* A message with nforged Authentication-Results claiming our id (variants
 * of case and the trailing dot), one foreign one, then From and nfill
 * filler fields. */
static struct ar_run run_forged(const char *client, size_t nforged, size_t nfill)
{
	static const char *const forged[] = {AUTHSERV "; dkim=pass", "MX.Example.COM; dkim=pass",
					     AUTHSERV ".; dkim=pass",
					     " (c) \"" AUTHSERV "\" 1; dkim=pass"};
	struct conn c;
	conn_open(&c, client);
	pk_str(&c.in, SMFIC_MAIL, "<a@example.com>");
	pk2(&c.in, SMFIC_HEADER, "Authentication-Results", " other.example; dkim=pass");
	for (size_t k = 0; k < nforged; k++) {
		char v[128];
		snprintf(v, sizeof v, " %s", forged[k % 4]);
		pk2(&c.in, SMFIC_HEADER, "Authentication-Results", v);
	}
	pk2(&c.in, SMFIC_HEADER, "From", " a@example.com");
	for (size_t k = 0; k < nfill; k++)
		pk2(&c.in, SMFIC_HEADER, "X-Filler", " x");
	pk(&c.in, SMFIC_EOH, NULL, 0);
	pk(&c.in, SMFIC_BODY, "hello\r\n", 7);
	pk(&c.in, SMFIC_BODYEOB, NULL, 0);
	assert_int_equal(conn_feed(&c), SESSION_OK);
	assert_int_equal(stats(&c).state, SESSION_IDLE);
	size_t max = 8 + 2 * (nforged + nfill);
	struct reply *r = calloc(max, sizeof *r);
	assert_non_null(r);
	size_t n = replies(&c.out, r, max);
	struct ar_run run = {.descending = true};
	uint32_t want = (uint32_t)nforged + 1; /* the foreign one is index 1 */
	for (size_t k = 0; k < n; k++) {
		if (r[k].cmd == SMFIR_CHGHEADER) {
			assert_string_equal(r[k].name, "Authentication-Results");
			assert_int_equal(r[k].vlen, 0);
			run.descending &= r[k].index == want--;
			run.deletes++;
		} else if (r[k].cmd == SMFIR_INSHEADER) {
			run.ours_added |= strcmp(r[k].name, "Authentication-Results") == 0;
			run.signed_ |= strcmp(r[k].name, "DKIM-Signature") == 0;
		}
	}
	run.verdict = r[n - 1].cmd;
	snprintf(run.text, sizeof run.text, "%s", r[n - 1].text);
	free(r);
	conn_close(&c);
	return run;
}

/* AR-DEL-01 "every existing AR header whose authserv-id equals ours ... is
 * removed"; issue #19: 1,001 of them lost the 1,001st, and the message,
 * over SIGNET_MAX_HEADER_FIELDS, went on with it and without ours. Now all
 * are removed up to SESSION_MAX_OURS_AR, highest index first (AR-DEL-05),
 * the foreign one stays (AR-DEL-02), and past the bound the message is
 * refused with 550 5.7.1: never passed on with one left. */
static void AR_DEL_01_every_forged_ar_removed_up_to_the_bound(void **state)
{
	(void)state;
	static const size_t counts[] = {1000, 1001, 1500, MAX_OURS_AR - 1, MAX_OURS_AR};
	for (size_t k = 0; k < sizeof counts / sizeof counts[0]; k++) {
		struct ar_run run = run_forged("192.0.2.7", counts[k], 0);
		if (run.deletes != counts[k] || !run.descending || run.verdict != SMFIR_CONTINUE)
			fail_msg("%zu forged: %zu deleted", counts[k], run.deletes);
		/* over the header limit: passed on without ours (MILTER-ERR-04) */
		assert_false(run.ours_added);
	}
	struct ar_run run = run_forged("192.0.2.7", MAX_OURS_AR + 1, 0);
	assert_int_equal(run.deletes, 0);
	assert_int_equal(run.verdict, SMFIR_REPLYCODE);
	assert_string_equal(run.text, "550 5.7.1 Too many forged Authentication-Results fields");
	/* a local client's message: refused the same way past the bound;
	 * under the header limit, signed with every forged one removed */
	run = run_forged("127.0.0.1", MAX_OURS_AR + 1, 0);
	assert_false(run.signed_);
	assert_int_equal(run.verdict, SMFIR_REPLYCODE);
	run = run_forged("127.0.0.1", 500, 0);
	assert_int_equal(run.deletes, 500);
	assert_true(run.descending && run.signed_ && !run.ours_added);
	assert_int_equal(run.verdict, SMFIR_CONTINUE);
}

/* AR-DEL-01 with AR-POS-01: when verification runs, all forged ones go and
 * ours is added, right up to the header limit (SIGNET_MAX_HEADER_FIELDS:
 * one foreign AR + forged + From = 1000 fields) and with fillers making up
 * the rest. One field more and the message is over the limit: the forged
 * ones still all go. */
static void AR_DEL_01_ours_added_whenever_verification_runs(void **state)
{
	(void)state;
	size_t at_limit = SIGNET_MAX_HEADER_FIELDS - 2;
	struct ar_run run = run_forged("192.0.2.7", at_limit - 1, 0);
	assert_int_equal(run.deletes, at_limit - 1);
	assert_true(run.descending && run.ours_added);
	run = run_forged("192.0.2.7", at_limit, 0);
	assert_int_equal(run.deletes, at_limit);
	assert_true(run.descending && run.ours_added);
	run = run_forged("192.0.2.7", at_limit + 1, 0);
	assert_int_equal(run.deletes, at_limit + 1);
	assert_false(run.ours_added);
	run = run_forged("192.0.2.7", 10, at_limit - 10);
	assert_int_equal(run.deletes, 10);
	assert_true(run.ours_added);
	assert_int_equal(run.verdict, SMFIR_CONTINUE);
}

/* ---- SPF (issue #13): checked at MAIL for mail not signed ---- */

static int spf_on(void **state)
{
	(void)state;
	g_extra = DMARC_OFF;
	return 0;
}

static int spf_off(void **state)
{
	(void)state;
	g_extra = SPF_OFF DMARC_OFF;
	return 0;
}

/* The next lookup, which must be name/type. */
static unsigned want_lookup(struct conn *c, const char *name, enum signet_rrtype type)
{
	unsigned id;
	const char *n;
	enum signet_rrtype t;
	assert_true(session_next_lookup(c->s, &id, &n, &t));
	assert_string_equal(n, name);
	assert_int_equal(t, type);
	return id;
}

static enum session_status answer_txt(struct conn *c, unsigned id, const char *txt)
{
	struct signet_txt rec = {(const uint8_t *)txt, txt ? strlen(txt) : 0};
	struct signet_rr rr = {(const uint8_t *)txt, txt ? strlen(txt) : 0, 0};
	struct dns_answer a = {.status = txt ? SIGNET_DNS_OK : SIGNET_DNS_NXDOMAIN,
			       .records = &rec,
			       .nrecords = txt ? 1 : 0,
			       .rrs = &rr,
			       .nrrs = txt ? 1 : 0};
	buf_reset(&c->out);
	return session_answer(c->s, id, &a, &c->out);
}

/* An unsigned message from 192.0.2.7 after HELO helo, MAIL FROM from. */
static void spf_message(struct conn *c, const char *helo, const char *from)
{
	pk_str(&c->in, SMFIC_HELO, helo);
	pk_str(&c->in, SMFIC_MAIL, from);
	pk2(&c->in, SMFIC_HEADER, "From", " a@example.org");
	pk(&c->in, SMFIC_EOH, NULL, 0);
	pk(&c->in, SMFIC_BODY, "hello\r\n", 7);
	pk(&c->in, SMFIC_BODYEOB, NULL, 0);
	assert_int_equal(conn_feed(c), SESSION_OK);
	assert_true(session_waiting(c->s)); /* EOM waits for SPF */
}

/* The Authentication-Results value the EOM's replies in c->out insert. */
static void want_ar(struct conn *c, const char *want)
{
	struct reply r[4];
	size_t n = replies(&c->out, r, 4);
	assert_int_equal(n, 2);
	assert_int_equal(r[0].cmd, SMFIR_INSHEADER);
	assert_string_equal(r[0].name, "Authentication-Results");
	char v[1024];
	snprintf(v, sizeof v, "%.*s", (int)r[0].vlen, (const char *)r[0].val);
	assert_string_equal(v, want);
	assert_int_equal(r[1].cmd, SMFIR_CONTINUE);
	assert_false(session_waiting(c->s));
}

/* SPF-RES-02 through the session: MAIL FROM and HELO checked, their
 * questions handed out with their types, both results in our one
 * Authentication-Results (AR-POS-02), EOM held until both are in. */
static void SPF_RES_02_session_mailfrom_and_helo(void **state)
{
	(void)state;
	struct conn c;
	conn_open(&c, "192.0.2.7");
	spf_message(&c, "mail.example.org", "<a@example.org>");
	unsigned mf = want_lookup(&c, "example.org", SIGNET_RR_TXT);
	unsigned he = want_lookup(&c, "mail.example.org", SIGNET_RR_TXT);
	unsigned id;
	const char *n;
	enum signet_rrtype t;
	assert_false(session_next_lookup(c.s, &id, &n, &t));
	assert_int_equal(answer_txt(&c, mf, "v=spf1 a:mx.example.org -all"), SESSION_OK);
	assert_true(session_waiting(c.s));
	/* the a: term's question comes after the record's answer */
	unsigned a = want_lookup(&c, "mx.example.org", SIGNET_RR_A);
	const uint8_t ip[4] = {192, 0, 2, 7};
	struct signet_rr rr = {ip, 4, 0};
	struct dns_answer ans = {.status = SIGNET_DNS_OK, .rrs = &rr, .nrrs = 1};
	assert_int_equal(session_answer(c.s, a, &ans, &c.out), SESSION_OK);
	assert_true(session_waiting(c.s)); /* the HELO check is not done */
	assert_int_equal(c.out.len, 0);
	assert_int_equal(answer_txt(&c, he, NULL), SESSION_OK);
	/* MILTER-PFX-07: folds go to the MTA as LF TAB */
	want_ar(&c, " " AUTHSERV "; dkim=none; spf=pass\n"
		    "\tsmtp.mailfrom=a@example.org; spf=none\n"
		    "\treason=\"mail.example.org publishes no SPF record (RFC 7208 4.5)\"\n"
		    "\tsmtp.helo=mail.example.org; arc=none smtp.remote-ip=192.0.2.7");
	/* a late answer to a lookup of that message is ignored */
	assert_false(session_lookup_wanted(c.s, he));
	assert_int_equal(answer_txt(&c, he, "v=spf1 -all"), SESSION_OK);
	assert_int_equal(c.out.len, 0);
	conn_close(&c);
}

/* RFC 7208 2.4: a null sender is checked as postmaster@<HELO name>; a
 * failing check is written with its reason (SPF-RES-02). */
static void SPF_RES_02_session_null_sender_is_postmaster_at_helo(void **state)
{
	(void)state;
	struct conn c;
	conn_open(&c, "192.0.2.7");
	spf_message(&c, "mail.example.org", "<>");
	unsigned mf = want_lookup(&c, "mail.example.org", SIGNET_RR_TXT);
	unsigned he = want_lookup(&c, "mail.example.org", SIGNET_RR_TXT);
	assert_int_equal(answer_txt(&c, he, "v=spf1 ip4:198.51.100.0/24 -all"), SESSION_OK);
	assert_int_equal(answer_txt(&c, mf, "v=spf1 ip4:198.51.100.0/24 -all"), SESSION_OK);
	struct reply r[4];
	assert_int_equal(replies(&c.out, r, 4), 2);
	assert_non_null(memmem(r[0].val, r[0].vlen, "spf=fail", 8));
	assert_non_null(
		memmem(r[0].val, r[0].vlen, "smtp.mailfrom=postmaster@mail.example.org", 41));
	assert_non_null(memmem(r[0].val, r[0].vlen, "smtp.helo=mail.example.org", 26));
	conn_close(&c);
}

/* Issue #13: authenticated and local mail is signed, not SPF-checked; no
 * HELO name means no HELO check; spf.helo = false leaves HELO alone. */
static void SPF_session_local_and_authenticated_not_checked(void **state)
{
	(void)state;
	unsigned id;
	const char *n;
	enum signet_rrtype t;
	struct conn c;
	conn_open(&c, "127.0.0.1");
	pk_str(&c.in, SMFIC_HELO, "mail.example.org");
	pk_str(&c.in, SMFIC_MAIL, "<a@example.org>");
	assert_int_equal(conn_feed(&c), SESSION_OK);
	assert_false(session_next_lookup(c.s, &id, &n, &t));
	conn_close(&c);
	conn_open(&c, "192.0.2.7");
	pk2(&c.in, SMFIC_MACRO, "M{auth_authen}", "alice");
	pk_str(&c.in, SMFIC_MAIL, "<a@example.org>");
	assert_int_equal(conn_feed(&c), SESSION_OK);
	assert_false(session_next_lookup(c.s, &id, &n, &t));
	conn_close(&c);
	g_extra = "spf { helo = false; }\n" DMARC_OFF;
	conn_open(&c, "192.0.2.7");
	pk_str(&c.in, SMFIC_HELO, "mail.example.org");
	pk_str(&c.in, SMFIC_MAIL, "<a@example.org>");
	assert_int_equal(conn_feed(&c), SESSION_OK);
	(void)want_lookup(&c, "example.org", SIGNET_RR_TXT);
	assert_false(session_next_lookup(c.s, &id, &n, &t));
	conn_close(&c);
	g_extra = SPF_OFF DMARC_OFF;
	conn_open(&c, "192.0.2.7");
	pk_str(&c.in, SMFIC_HELO, "mail.example.org");
	pk_str(&c.in, SMFIC_MAIL, "<a@example.org>");
	assert_int_equal(conn_feed(&c), SESSION_OK);
	assert_false(session_next_lookup(c.s, &id, &n, &t));
	conn_close(&c);
}

/* The HELO name is needed (RFC 7208 2.3): with spf on, SMFIP_NOHELO is not
 * asked for even when offered; with spf off it is, as before. */
static void SPF_session_helo_negotiated(void **state)
{
	(void)state;
	for (int on = 0; on < 2; on++) {
		g_extra = on ? DMARC_OFF : SPF_OFF DMARC_OFF;
		struct conn c;
		conn_open(&c, NULL);
		/* offer: v6, every action, NOHELO | NR_HELO | HDR_LEADSPC */
		uint8_t o[12] = {0, 0, 0, 6, 0, 0, 0x01, 0xff, 0, 0x10, 0x20, 0x02};
		pk(&c.in, SMFIC_OPTNEG, o, sizeof o);
		assert_int_equal(conn_feed(&c), SESSION_OK);
		assert_true(c.out.len >= 5 + 12);
		const uint8_t *p = c.out.data + 5 + 8;
		uint32_t proto =
			(uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
		assert_int_equal((proto & SMFIP_NOHELO) != 0, !on);
		assert_int_equal((proto & SMFIP_NR_HELO) != 0, on);
		conn_close(&c);
	}
}

/* An SPF lookup of an aborted message is unwanted (server.c may cancel
 * it) and its answer changes nothing; the next message starts afresh. */
static void SPF_session_abort_drops_the_check(void **state)
{
	(void)state;
	struct conn c;
	conn_open(&c, "192.0.2.7");
	pk_str(&c.in, SMFIC_HELO, "mail.example.org");
	pk_str(&c.in, SMFIC_MAIL, "<a@example.org>");
	assert_int_equal(conn_feed(&c), SESSION_OK);
	unsigned mf = want_lookup(&c, "example.org", SIGNET_RR_TXT);
	assert_true(session_lookup_wanted(c.s, mf));
	pk(&c.in, SMFIC_ABORT, NULL, 0);
	assert_int_equal(conn_feed(&c), SESSION_OK);
	assert_false(session_lookup_wanted(c.s, mf));
	assert_int_equal(answer_txt(&c, mf, "v=spf1 +all"), SESSION_OK);
	assert_int_equal(c.out.len, 0);
	conn_close(&c);
}

/* A MAIL FROM longer than the session keeps for its log (511 bytes) is
 * checked whole: its domain, never the domain of a cut address; a HELO
 * name over 255 bytes is not a domain name and is not kept (no HELO check,
 * rather than one of a cut name). */
static void SPF_session_long_sender_whole_long_helo_dropped(void **state)
{
	(void)state;
	char from[1024], helo[300];
	memset(helo, 'h', sizeof helo - 1);
	helo[sizeof helo - 1] = '\0';
	memcpy(helo + 250, ".example.org", 13); /* cut at 255: "hhh...h.exam" */
	snprintf(from, sizeof from, "<%0600d@example.org>", 0);
	struct conn c;
	conn_open(&c, "192.0.2.7");
	pk_str(&c.in, SMFIC_HELO, helo);
	pk_str(&c.in, SMFIC_MAIL, from);
	assert_int_equal(conn_feed(&c), SESSION_OK);
	unsigned mf = want_lookup(&c, "example.org", SIGNET_RR_TXT);
	unsigned id;
	const char *n;
	enum signet_rrtype t;
	assert_false(session_next_lookup(c.s, &id, &n, &t)); /* no HELO check */
	pk2(&c.in, SMFIC_HEADER, "From", " a@example.org");
	pk(&c.in, SMFIC_EOH, NULL, 0);
	pk(&c.in, SMFIC_BODYEOB, NULL, 0);
	assert_int_equal(conn_feed(&c), SESSION_OK);
	assert_int_equal(answer_txt(&c, mf, "v=spf1 ip4:192.0.2.7 -all"), SESSION_OK);
	struct reply r[4];
	assert_int_equal(replies(&c.out, r, 4), 2);
	assert_non_null(memmem(r[0].val, r[0].vlen, "spf=pass", 8));
	assert_non_null(memmem(r[0].val, r[0].vlen, "0000@example.org", 16));
	assert_null(memmem(r[0].val, r[0].vlen, "smtp.helo", 9));
	conn_close(&c);
}

/* ---- DMARC (issue #14): lookups from the From header, evaluated after
 * DKIM and SPF, enforced at end of message ---- */

static int dmarc_on(void **state)
{
	(void)state;
	g_extra = SPF_OFF; /* DMARC on by default; no SPF questions in the way */
	return 0;
}

/* An answer with status st (OK: txt, or no data when NULL). */
static enum session_status answer_status(struct conn *c, unsigned id, enum signet_dns_status st,
					 const char *txt)
{
	struct signet_rr rr = {(const uint8_t *)txt, txt ? strlen(txt) : 0, 0};
	struct dns_answer a = {.status = st, .rrs = &rr, .nrrs = txt ? 1 : 0};
	buf_reset(&c->out);
	return session_answer(c->s, id, &a, &c->out);
}

/* MAIL and the From field of a message from outside. */
static void dmarc_head(struct conn *c, const char *from)
{
	pk_str(&c->in, SMFIC_MAIL, "<x@spoof.example>");
	pk2(&c->in, SMFIC_HEADER, "From", from);
	assert_int_equal(conn_feed(c), SESSION_OK);
}

/* The rest of the message up to EOM. */
static void dmarc_tail(struct conn *c)
{
	pk2(&c->in, SMFIC_HEADER, "Subject", " hi");
	pk(&c->in, SMFIC_EOH, NULL, 0);
	pk(&c->in, SMFIC_BODY, "hello\r\n", 7);
	pk(&c->in, SMFIC_BODYEOB, NULL, 0);
	assert_int_equal(conn_feed(c), SESSION_OK);
}

/* A message from 192.0.2.7 with From a@example.org whose policy record
 * is rec (st the answer's status), answered before the EOM arrives or
 * after it waits; the EOM's replies into r (MAIL's, HEADERs', EOH's and
 * BODY's CONTINUEs skipped). The log line into g_log. */
static size_t dmarc_run(const char *rec, enum signet_dns_status st, bool before_eom,
			struct reply *r, size_t max)
{
	struct conn c;
	conn_open(&c, "192.0.2.7");
	log_capture(true);
	dmarc_head(&c, " Alice <a@example.org>");
	/* DMARC-SESS-01: asked at the From field, before the end of headers */
	assert_int_equal(stats(&c).state, SESSION_HEADERS);
	unsigned id = want_lookup(&c, "_dmarc.example.org", SIGNET_RR_TXT);
	unsigned k;
	const char *n;
	enum signet_rrtype t;
	assert_false(session_next_lookup(c.s, &k, &n, &t));
	if (before_eom)
		assert_int_equal(answer_status(&c, id, st, rec), SESSION_OK);
	dmarc_tail(&c);
	struct reply all[16];
	size_t got = replies(&c.out, all, 16), skip = 4; /* HEADER, EOH, BODY */
	if (!before_eom) {
		assert_true(session_waiting(c.s));
		assert_int_equal(got, 3); /* the EOM waits for the policy */
		assert_int_equal(answer_status(&c, id, st, rec), SESSION_OK);
		got = replies(&c.out, all, 16), skip = 0;
	} else {
		skip = 3;
	}
	log_capture(false);
	assert_false(session_waiting(c.s));
	assert_true(got >= skip && got - skip <= max);
	for (size_t j = skip; j < got; j++)
		r[j - skip] = all[j];
	/* the values point into c.out: copy what the tests read, unfolded
	 * (MILTER-PFX-07: folds reach the MTA as LF TAB) */
	static char vals[4][1024];
	for (size_t j = 0; j < got - skip && j < 4; j++) {
		size_t o = 0;
		for (size_t i = 0; r[j].val && i < r[j].vlen && o + 1 < sizeof vals[j]; i++) {
			if (r[j].val[i] == '\n' && i + 1 < r[j].vlen && r[j].val[i + 1] == '\t')
				vals[j][o++] = ' ', i++;
			else
				vals[j][o++] = (char)r[j].val[i];
		}
		vals[j][o] = '\0';
		r[j].val = (const uint8_t *)vals[j];
	}
	conn_close(&c);
	return got - skip;
}

/* The value of one metric line ("name{labels}") in the process's metrics. */
static unsigned long long metric(const char *line)
{
	struct signet_buf b;
	buf_init(&b, 1 << 20);
	assert_int_equal(metrics_render(metrics_process(), &b), SIGNET_OK);
	assert_int_equal(buf_append(&b, "", 1), SIGNET_OK);
	const char *p = strstr((const char *)b.data, line);
	assert_non_null(p);
	unsigned long long v = strtoull(p + strlen(line), NULL, 10);
	buf_free(&b);
	return v;
}

/* DMARC-SESS-01, DMARC-ENF-01: the policy lookup starts at the From
 * field; a failure with p=reject is refused at end of message with 550
 * 5.7.1 naming the domain and the policy, whether the answer came before
 * the EOM or the EOM waited for it. Logged and counted. */
static void DMARC_ENF_01_session_rejects_p_reject_failure(void **state)
{
	(void)state;
	for (int before = 0; before < 2; before++) {
		struct reply r[4];
		unsigned long long n0 = metric("signetd_dmarc_actions_total{action=\"reject\"} ");
		unsigned long long f0 = metric("signetd_dmarc_results_total{result=\"fail\"} ");
		size_t n = dmarc_run("v=DMARC1; p=reject", SIGNET_DNS_OK, before, r, 4);
		assert_int_equal(n, 1);
		assert_int_equal(r[0].cmd, SMFIR_REPLYCODE);
		assert_string_equal(
			r[0].text,
			"550 5.7.1 Rejected by the DMARC policy of example.org (p=reject)");
		if (strstr(g_log,
			   "dmarc=fail (p=reject sp=reject dis=reject) header.from=example.org") ==
			    NULL ||
		    strstr(g_log, "disposition reject (dmarc.enforce); message rejected (DMARC)") ==
			    NULL)
			fail_msg("log: %s", g_log);
		assert_int_equal(metric("signetd_dmarc_actions_total{action=\"reject\"} "), n0 + 1);
		assert_int_equal(metric("signetd_dmarc_results_total{result=\"fail\"} "), f0 + 1);
	}
	/* dmarc.enforce = false: accepted, the failure in Authentication-Results */
	g_extra = SPF_OFF "dmarc { enforce = false; }\n";
	struct reply r[4];
	assert_int_equal(dmarc_run("v=DMARC1; p=reject", SIGNET_DNS_OK, true, r, 4), 2);
	assert_int_equal(r[0].cmd, SMFIR_INSHEADER);
	assert_non_null(
		strstr((const char *)r[0].val, "dmarc=fail (p=reject sp=reject dis=reject)"));
	assert_int_equal(r[1].cmd, SMFIR_CONTINUE);
	if (strstr(g_log, "not enforced (dmarc.enforce = false)") == NULL)
		fail_msg("log: %s", g_log);
}

/* DMARC-RES-03, DMARC-ENF-02: p=quarantine with quarantine = "header"
 * (the default) and p=none are delivered with the failure in
 * Authentication-Results; with "hold" the quarantine action (negotiated
 * at OPTNEG) follows it. */
static void DMARC_ENF_02_session_quarantine_header_hold_and_none(void **state)
{
	(void)state;
	struct reply r[4];
	unsigned long long q0 = metric("signetd_dmarc_actions_total{action=\"quarantine\"} ");
	assert_int_equal(dmarc_run("v=DMARC1; p=quarantine", SIGNET_DNS_OK, true, r, 4), 2);
	assert_int_equal(r[0].cmd, SMFIR_INSHEADER);
	assert_non_null(strstr((const char *)r[0].val,
			       "; dmarc=fail (p=quarantine sp=quarantine dis=quarantine)"));
	assert_non_null(strstr((const char *)r[0].val, "header.from=example.org"));
	assert_int_equal(r[1].cmd, SMFIR_CONTINUE);
	assert_int_equal(metric("signetd_dmarc_actions_total{action=\"quarantine\"} "), q0 + 1);

	assert_int_equal(dmarc_run("v=DMARC1; p=none", SIGNET_DNS_OK, false, r, 4), 2);
	assert_non_null(strstr((const char *)r[0].val, "dmarc=fail (p=none sp=none dis=none)"));
	assert_int_equal(r[1].cmd, SMFIR_CONTINUE);

	g_extra = SPF_OFF "dmarc { quarantine = \"hold\"; }\n";
	unsigned long long h0 = metric("signetd_dmarc_actions_total{action=\"hold\"} ");
	assert_int_equal(dmarc_run("v=DMARC1; p=quarantine", SIGNET_DNS_OK, true, r, 4), 3);
	assert_int_equal(r[0].cmd, SMFIR_INSHEADER);
	assert_int_equal(r[1].cmd, SMFIR_QUARANTINE);
	assert_int_equal(r[2].cmd, SMFIR_CONTINUE);
	assert_int_equal(metric("signetd_dmarc_actions_total{action=\"hold\"} "), h0 + 1);
	if (strstr(g_log, "held (dmarc.quarantine = hold)") == NULL)
		fail_msg("log: %s", g_log);
}

/* DMARC-ENF-04: a temporary failure of the policy lookup is accepted with
 * dmarc=temperror by default, deferred with 451 4.4.3 when configured. */
static void DMARC_ENF_04_session_temperror_accept_or_451(void **state)
{
	(void)state;
	struct reply r[4];
	assert_int_equal(dmarc_run(NULL, SIGNET_DNS_TEMPFAIL, false, r, 4), 2);
	assert_int_equal(r[0].cmd, SMFIR_INSHEADER);
	assert_non_null(strstr((const char *)r[0].val, "dmarc=temperror"));
	assert_int_equal(r[1].cmd, SMFIR_CONTINUE);
	g_extra = SPF_OFF "dmarc { on_temperror = \"tempfail\"; }\n";
	assert_int_equal(dmarc_run(NULL, SIGNET_DNS_TEMPFAIL, true, r, 4), 1);
	assert_int_equal(r[0].cmd, SMFIR_REPLYCODE);
	assert_string_equal(r[0].text, "451 4.4.3 DMARC policy lookup for example.org failed, "
				       "try again later");
}

/* DMARC-ENF-03: local clients' and authenticated mail gets no DMARC
 * lookup and no DMARC verdict, also when it is not signed. */
static void DMARC_ENF_03_session_never_on_local_or_authenticated(void **state)
{
	(void)state;
	unsigned id;
	const char *n;
	enum signet_rrtype t;
	struct conn c;
	conn_open(&c, "127.0.0.1");
	dmarc_head(&c, " a@example.org");
	assert_false(session_next_lookup(c.s, &id, &n, &t));
	dmarc_tail(&c);
	struct reply r[8];
	size_t got = replies(&c.out, r, 8);
	assert_int_equal(r[got - 1].cmd, SMFIR_CONTINUE);
	conn_close(&c);
	conn_open(&c, "192.0.2.7");
	pk2(&c.in, SMFIC_MACRO, "M{auth_authen}", "alice");
	dmarc_head(&c, " a@example.org"); /* not ours to sign: verified */
	assert_false(session_next_lookup(c.s, &id, &n, &t));
	dmarc_tail(&c);
	got = replies(&c.out, r, 8);
	assert_int_equal(got, 5);
	assert_int_equal(r[3].cmd, SMFIR_INSHEADER);
	assert_null(memmem(r[3].val, r[3].vlen, "dmarc=", 6));
	assert_int_equal(r[4].cmd, SMFIR_CONTINUE);
	conn_close(&c);
}

/* DMARC-ALIGN-01, DMARC-RES-01: a message signed by the author domain
 * (signed here by a local session) passes DMARC at an outside session,
 * even with p=reject; both lookups answered by the test. */
static void DMARC_RES_01_session_aligned_dkim_passes(void **state)
{
	(void)state;
	g_extra = SPF_OFF DMARC_OFF;
	struct conn a;
	conn_open(&a, "127.0.0.1");
	const char *h[] = {"From", " a@example.com", "Subject", " hi"};
	message(&a, h, 2, "hello\r\n");
	assert_int_equal(conn_feed(&a), SESSION_OK);
	struct reply r[8];
	size_t e = eom_start(r, replies(&a.out, r, 8), 5);
	char sig[2048];
	snprintf(sig, sizeof sig, "%.*s", (int)r[e].vlen, (const char *)r[e].val);
	conn_close(&a);

	g_extra = SPF_OFF;
	struct conn v;
	conn_open(&v, "192.0.2.7");
	const char *hv[] = {"DKIM-Signature", sig, "From", " a@example.com", "Subject", " hi"};
	message(&v, hv, 3, "hello\r\n");
	assert_int_equal(conn_feed(&v), SESSION_OK);
	assert_true(session_waiting(v.s));
	char rec[512];
	size_t rlen;
	struct signet_error err = {0};
	assert_int_equal(signet_key_dns_record(g_key, rec, sizeof rec, &rlen, &err), SIGNET_OK);
	unsigned id;
	const char *name;
	enum signet_rrtype type;
	unsigned ids[4];
	bool is_key[4];
	size_t nids = 0;
	while (nids < 4 && session_next_lookup(v.s, &id, &name, &type)) {
		is_key[nids] = strcmp(name, "ed2024._domainkey.example.com") == 0;
		if (!is_key[nids])
			assert_string_equal(name, "_dmarc.example.com");
		ids[nids++] = id;
	}
	assert_int_equal(nids, 2);
	for (size_t k = 0; k < nids; k++) {
		struct signet_txt txt = {(const uint8_t *)rec, rlen};
		const char *pol = "v=DMARC1; p=reject; adkim=s";
		struct signet_rr rr = {(const uint8_t *)(is_key[k] ? rec : pol),
				       is_key[k] ? rlen : strlen(pol), 0};
		struct dns_answer ans = {.status = SIGNET_DNS_OK,
					 .records = &txt,
					 .nrecords = 1,
					 .rrs = &rr,
					 .nrrs = 1};
		buf_reset(&v.out);
		assert_int_equal(session_answer(v.s, ids[k], &ans, &v.out), SESSION_OK);
	}
	assert_int_equal(replies(&v.out, r, 8), 2);
	assert_int_equal(r[0].cmd, SMFIR_INSHEADER);
	assert_non_null(memmem(r[0].val, r[0].vlen, "dkim=pass", 9));
	assert_non_null(memmem(r[0].val, r[0].vlen, "dmarc=pass", 10));
	assert_non_null(memmem(r[0].val, r[0].vlen, "header.from=example.com", 23));
	assert_int_equal(r[1].cmd, SMFIR_CONTINUE);
	conn_close(&v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(MILTER_CONV_01_state_table_every_step_in_every_state),
		cmocka_unit_test(MILTER_CONV_02_second_eoh_refused_nothing_made),
		cmocka_unit_test(MILTER_CONV_02_repeated_and_late_steps),
		cmocka_unit_test(MILTER_CONV_01_mail_inside_message_starts_over),
		cmocka_unit_test(MILTER_EOM_01_signs_local_message_and_logs_the_decision),
		cmocka_unit_test(DKIM_VER_signed_message_verifies_through_the_session),
		cmocka_unit_test(AR_DEL_01_every_forged_ar_removed_up_to_the_bound),
		cmocka_unit_test(AR_DEL_01_ours_added_whenever_verification_runs),
		cmocka_unit_test_setup_teardown(SPF_RES_02_session_mailfrom_and_helo, spf_on,
						spf_off),
		cmocka_unit_test_setup_teardown(
			SPF_RES_02_session_null_sender_is_postmaster_at_helo, spf_on, spf_off),
		cmocka_unit_test_setup_teardown(SPF_session_local_and_authenticated_not_checked,
						spf_on, spf_off),
		cmocka_unit_test_setup_teardown(SPF_session_helo_negotiated, spf_on, spf_off),
		cmocka_unit_test_setup_teardown(SPF_session_abort_drops_the_check, spf_on, spf_off),
		cmocka_unit_test_setup_teardown(SPF_session_long_sender_whole_long_helo_dropped,
						spf_on, spf_off),
		cmocka_unit_test_setup_teardown(DMARC_ENF_01_session_rejects_p_reject_failure,
						dmarc_on, spf_off),
		cmocka_unit_test_setup_teardown(
			DMARC_ENF_02_session_quarantine_header_hold_and_none, dmarc_on, spf_off),
		cmocka_unit_test_setup_teardown(DMARC_ENF_04_session_temperror_accept_or_451,
						dmarc_on, spf_off),
		cmocka_unit_test_setup_teardown(
			DMARC_ENF_03_session_never_on_local_or_authenticated, dmarc_on, spf_off),
		cmocka_unit_test_setup_teardown(DMARC_RES_01_session_aligned_dkim_passes, dmarc_on,
						spf_off),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
