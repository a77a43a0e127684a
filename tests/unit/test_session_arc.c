/* test_session_arc.c: ARC in signetd (daemon/session_arc.c through
 * daemon/session.c): arc= in Authentication-Results (ARC-AR-01), the
 * key lookups and their bound, the seal decisions of arc.seal (ARC-SEAL-02),
 * the seal of a reinjected message carrying our reception results
 * (ARC-SEAL-03), never cv=pass over a failed chain (ARC-SEAL-01), the
 * sealer domains (ARC-VAL-03), counters and the log line. Chains are made
 * with libsignet's sealer; key lookups are answered by the test. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <signet/arc.h>
#include <signet/key.h>
#include <signet/message.h>

#include "buf.h"
#include "header_store.h"
#include "log.h"
#include "metrics.h"
#include "milter.h"
#include "runtime.h"
#include "session.h"
#include "session_arc.h"
#include "session_fixture.h"

#define OUTSIDE_IP "192.0.2.7"
/* session_arc.h's bound, stated again so a change shows here */
#define MAX_ARC_LOOKUPS 16

/* g_key (session_fixture.h): ours, example.com, selector ed2024 (dkim_signing) */
static struct signet_key *g_out; /* an outside sealer's: sealer.example */
static char g_key_rec[256], g_out_rec[256];
static const char *g_arc = ""; /* the arc { } text of the next runtime */
static char g_log[16384];

static int group_setup(void **state)
{
	(void)state;
	struct signet_error err = {0};
	size_t len;
	if (fixture_setup("/tmp/signet-sarc-XXXXXX") != 0 ||
	    signet_key_generate(SIGNET_KEY_ED25519, 0, &g_out, &err) != SIGNET_OK ||
	    signet_key_dns_record(g_key, g_key_rec, sizeof g_key_rec, &len, &err) != SIGNET_OK ||
	    signet_key_dns_record(g_out, g_out_rec, sizeof g_out_rec, &len, &err) != SIGNET_OK)
		return -1;
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	signet_key_free(g_out);
	return fixture_teardown();
}

static struct runtime *make_runtime(void)
{
	char extra[2048];
	int n = snprintf(extra, sizeof extra,
			 "spf { enabled = false; }\ndmarc { enabled = false; }\n%s", g_arc);
	assert_true(n > 0 && (size_t)n < sizeof extra);
	return fixture_runtime(extra);
}

/* ---- chains made with libsignet ---- */

static enum signet_status h_header(void *ctx, const uint8_t *n, size_t nl, const uint8_t *v,
				   size_t vl, struct signet_error *e)
{
	return signet_arc_header(ctx, n, nl, v, vl, e);
}

static enum signet_status h_eoh(void *ctx, struct signet_error *e)
{
	return signet_arc_end_of_headers(ctx, e);
}

static enum signet_status h_body(void *ctx, const uint8_t *p, size_t l, struct signet_error *e)
{
	return signet_arc_body(ctx, p, l, e);
}

/* The record for a key query: ours for example.com, the sealer's else. */
static const char *record_for(const char *name)
{
	return strstr(name, "._domainkey.example.com") != NULL ? g_key_rec : g_out_rec;
}

/* msg validated by libsignet (every query answered), finished. */
static struct signet_arc *validate(const char *msg)
{
	static const struct signet_message_handler h = {h_header, h_eoh, h_body};
	struct signet_arc_options o = {0};
	struct signet_arc *a = NULL;
	struct signet_message *m = NULL;
	struct signet_error err = {0};
	assert_int_equal(signet_arc_new(&o, &a, &err), SIGNET_OK);
	assert_int_equal(signet_message_new(&h, a, &m, &err), SIGNET_OK);
	assert_int_equal(signet_message_feed(m, (const uint8_t *)msg, strlen(msg), &err),
			 SIGNET_OK);
	assert_int_equal(signet_message_finish(m, &err), SIGNET_OK);
	signet_message_free(m);
	struct signet_query q;
	while (signet_arc_next_query(a, &q)) {
		const char *rec = record_for(q.name);
		struct signet_txt t = {(const uint8_t *)rec, strlen(rec)};
		assert_int_equal(signet_arc_answer(a, q.id, SIGNET_DNS_OK, &t, 1, &err), SIGNET_OK);
	}
	assert_int_equal(signet_arc_finish(a, &err), SIGNET_OK);
	return a;
}

/* msg with one more ARC set by sealer.example (selector sel) on top. */
static char *outside_seal(const char *msg, const char *sel, enum signet_result upstream)
{
	struct signet_arc *a = validate(msg);
	struct signet_arc_seal_params p = {
		.domain = "sealer.example",
		.selector = sel,
		.key = g_out,
		.authres = "sealer.example; spf=pass smtp.mailfrom=outside.example",
		.timestamp = 1765000000,
		.upstream = upstream};
	struct signet_arc_seal s;
	struct signet_error err = {0};
	if (signet_arc_seal(a, &p, &s, &err) != SIGNET_OK)
		fail_msg("seal: %s", err.msg);
	assert_non_null(s.as);
	size_t n = strlen(s.as) + strlen(s.ams) + strlen(s.aar) + strlen(msg) + 100;
	char *out = malloc(n);
	assert_non_null(out);
	snprintf(out, n,
		 "ARC-Seal:%s\r\nARC-Message-Signature:%s\r\nARC-Authentication-Results:%s\r\n%s",
		 s.as, s.ams, s.aar, msg);
	signet_arc_free(a);
	return out;
}

static char *replace(const char *msg, const char *from, const char *to)
{
	const char *at = strstr(msg, from);
	assert_non_null(at);
	size_t n = strlen(msg) - strlen(from) + strlen(to) + 1;
	char *out = malloc(n);
	assert_non_null(out);
	snprintf(out, n, "%.*s%s%s", (int)(at - msg), msg, to, at + strlen(from));
	return out;
}

#define OUTSIDE_MSG                                                                                \
	"From: Alice <alice@outside.example>\r\n"                                                  \
	"To: list@example.com\r\n"                                                                 \
	"Subject: hello\r\n"                                                                       \
	"Date: Mon, 7 Dec 2026 10:00:00 +0000\r\n"                                                 \
	"Message-ID: <1@outside.example>\r\n"                                                      \
	"\r\n"                                                                                     \
	"Hello list.\r\n"

/* ---- the milter side (pk, pk_str, struct conn: session_fixture.h) ---- */

/* name\0value\0 (MILTER-WIRE-07) */
static void pk_header(struct signet_buf *in, const char *n, size_t nl, const char *v, size_t vl)
{
	static uint8_t d[40000];
	assert_true(nl + vl + 2 <= sizeof d);
	memcpy(d, n, nl);
	d[nl] = 0;
	memcpy(d + nl + 1, v, vl);
	d[nl + 1 + vl] = 0;
	pk(in, SMFIC_HEADER, d, nl + vl + 2);
}

/* OPTNEG (v6, HDR_LEADSPC: values verbatim) and CONNECT from addr; port 0
 * for non_smtp (Postfix's sendmail(1) emulation, MILTER-PFX-01). */
static void conn_open(struct conn *c, const char *addr, bool non_smtp)
{
	conn_start(c, make_runtime(), addr, non_smtp ? 0 : FIXTURE_SMTP_PORT);
}

/* Sends msg (CRLF text) from MAIL FROM sender to the recipients (NULL
 * ended), auth user if not NULL; then answers every key lookup. Returns
 * the number of lookups handed out. */
static size_t send_msg(struct conn *c, const char *sender, const char *const *rcpts,
		       const char *auth, const char *msg)
{
	if (auth != NULL) {
		char m[256];
		size_t n = (size_t)snprintf(m, sizeof m, "M{auth_authen}%c%s", 0, auth);
		pk(&c->in, SMFIC_MACRO, m, n + 1);
	}
	pk_str(&c->in, SMFIC_MAIL, sender);
	for (size_t k = 0; rcpts[k] != NULL; k++)
		pk_str(&c->in, SMFIC_RCPT, rcpts[k]);
	const char *p = msg;
	while (!(p[0] == '\r' && p[1] == '\n')) {
		const char *colon = strchr(p, ':');
		const char *end = p;
		do
			end = strstr(end, "\r\n") + 2;
		while (*end == ' ' || *end == '\t');
		pk_header(&c->in, p, (size_t)(colon - p), colon + 1, (size_t)(end - 2 - colon - 1));
		p = end;
	}
	p += 2;
	pk(&c->in, SMFIC_EOH, NULL, 0);
	pk(&c->in, SMFIC_BODY, p, strlen(p));
	pk(&c->in, SMFIC_BODYEOB, NULL, 0);
	buf_reset(&c->out);
	assert_int_equal(session_feed(c->s, c->in.data, c->in.len, &c->out), SESSION_OK);
	buf_reset(&c->in);
	size_t asked = 0;
	unsigned id;
	const char *name;
	enum signet_rrtype type;
	while (session_next_lookup(c->s, &id, &name, &type)) {
		const char *rec = record_for(name);
		struct signet_txt t = {(const uint8_t *)rec, strlen(rec)};
		struct dns_answer a = {.status = SIGNET_DNS_OK, .records = &t, .nrecords = 1};
		asked++;
		assert_int_equal(type, SIGNET_RR_TXT);
		assert_int_equal(session_answer(c->s, id, &a, &c->out), SESSION_OK);
	}
	assert_false(session_waiting(c->s));
	return asked;
}

/* The header edits of the EOM (value with LF folds made CRLF again). */
struct edit {
	uint8_t cmd;
	uint32_t index;
	char name[64];
	char value[20000];
};

static size_t edits(const struct signet_buf *out, struct edit *e, size_t max, uint8_t *final)
{
	size_t n = 0;
	*final = 0;
	for (size_t off = 0; off < out->len;) {
		const uint8_t *p = out->data + off;
		size_t len =
			((size_t)p[0] << 24 | (size_t)p[1] << 16 | (size_t)p[2] << 8 | p[3]) - 1;
		const uint8_t *d = p + 5;
		if ((p[4] == SMFIR_INSHEADER || p[4] == SMFIR_CHGHEADER) && n < max) {
			e[n].cmd = p[4];
			e[n].index = (uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 |
				     (uint32_t)d[2] << 8 | d[3];
			snprintf(e[n].name, sizeof e[n].name, "%s", (const char *)d + 4);
			const char *v = (const char *)d + 4 + strlen(e[n].name) + 1;
			size_t w = 0;
			for (; *v && w + 2 < sizeof e[n].value; v++) {
				if (*v == '\n')
					e[n].value[w++] = '\r';
				e[n].value[w++] = *v;
			}
			e[n].value[w] = '\0';
			n++;
		} else if (p[4] != SMFIR_CONTINUE || off + 5 + len == out->len) {
			*final = p[4];
		}
		off += 5 + len;
	}
	return n;
}

/* The inserted field named name, or NULL. */
static const struct edit *inserted(const struct edit *e, size_t n, const char *name)
{
	for (size_t k = 0; k < n; k++)
		if (e[k].cmd == SMFIR_INSHEADER && strcmp(e[k].name, name) == 0)
			return &e[k];
	return NULL;
}

struct result {
	struct edit e[8];
	size_t n;
	uint8_t final;
	size_t lookups;
	const char *ar, *as, *ams, *aar; /* into e; NULL when not inserted */
};

static void run(struct result *r, const char *client, bool non_smtp, const char *sender,
		const char *const *rcpts, const char *auth, const char *msg)
{
	struct conn c;
	conn_open(&c, client, non_smtp);
	r->lookups = send_msg(&c, sender, rcpts, auth, msg);
	r->n = edits(&c.out, r->e, 8, &r->final);
	const struct edit *x;
	r->ar = (x = inserted(r->e, r->n, "Authentication-Results")) ? x->value : NULL;
	r->as = (x = inserted(r->e, r->n, "ARC-Seal")) ? x->value : NULL;
	r->ams = (x = inserted(r->e, r->n, "ARC-Message-Signature")) ? x->value : NULL;
	r->aar = (x = inserted(r->e, r->n, "ARC-Authentication-Results")) ? x->value : NULL;
	conn_close(&c);
}

/* The message as the next hop gets it: our four fields on top. */
static char *with_seal(const struct result *r, const char *msg)
{
	size_t n =
		strlen(r->as) + strlen(r->ams) + strlen(r->aar) + strlen(r->ar) + strlen(msg) + 200;
	char *out = malloc(n);
	assert_non_null(out);
	snprintf(out, n,
		 "ARC-Seal:%s\r\nARC-Message-Signature:%s\r\nARC-Authentication-Results:%s\r\n"
		 "Authentication-Results:%s\r\n%s",
		 r->as, r->ams, r->aar, r->ar, msg);
	return out;
}

/* What log_msg writes to stderr between log_start and log_end, in g_log. */
static void log_start(void)
{
	fixture_log_start();
}

static void log_end(void)
{
	fixture_log_end(g_log, sizeof g_log);
}

static void set_arc(const char *text)
{
	g_arc = text;
}

static const char *const to_outside[] = {"<sub@gmail.example>", NULL};
static const char *const to_ours[] = {"<bob@example.com>", NULL};

/* ---- arc= in Authentication-Results (ARC-AR-01) ---- */

/* ARC-AR-01 (RFC 8617 10.1): "arc=none" with smtp.remote-ip for a message
 * without ARC sets; no lookup. arc.enabled = false: no arc= at all. */
static void ARC_AR_01_session_none_and_disabled(void **state)
{
	(void)state;
	struct result r;
	set_arc("");
	run(&r, OUTSIDE_IP, false, "<a@outside.example>", to_ours, NULL, OUTSIDE_MSG);
	assert_int_equal(r.lookups, 0);
	assert_non_null(r.ar);
	assert_string_equal(r.ar,
			    " " AUTHSERV "; dkim=none; arc=none\r\n\tsmtp.remote-ip=" OUTSIDE_IP);
	assert_int_equal(r.final, SMFIR_CONTINUE);
	/* Postfix writes an IPv6 client as "IPv6:..."; the AR names the address */
	run(&r, "IPv6:2001:db8::7", false, "<a@outside.example>", to_ours, NULL, OUTSIDE_MSG);
	assert_string_equal(r.ar, " " AUTHSERV
				  "; dkim=none; arc=none\r\n\tsmtp.remote-ip=\"2001:db8::7\"");
	char *m = outside_seal(OUTSIDE_MSG, "s1", SIGNET_RESULT_NONE);
	set_arc("arc { enabled = false; }");
	run(&r, OUTSIDE_IP, false, "<a@outside.example>", to_ours, NULL, m);
	assert_int_equal(r.lookups, 0);
	assert_string_equal(r.ar, " " AUTHSERV "; dkim=none");
	free(m);
}

/* ARC-AR-01, ARC-VAL-02: a chain of two sets where the message changed
 * before the second: arc=pass header.oldest-pass=2; its key lookup went
 * through session_next_lookup. */
static void ARC_AR_01_session_pass_oldest_pass(void **state)
{
	(void)state;
	struct result r;
	set_arc("");
	char *m1 = outside_seal(OUTSIDE_MSG, "s1", SIGNET_RESULT_NONE);
	char *changed = replace(m1, "Hello list.", "Hello list.\r\n-- \r\nfooter");
	char *m2 = outside_seal(changed, "s1", SIGNET_RESULT_PASS);
	run(&r, OUTSIDE_IP, false, "<a@outside.example>", to_ours, NULL, m2);
	assert_int_equal(r.lookups, 1); /* s1._domainkey.sealer.example, once */
	assert_string_equal(r.ar, " " AUTHSERV "; dkim=none; arc=pass\r\n"
				  "\theader.oldest-pass=2 smtp.remote-ip=" OUTSIDE_IP);
	free(m1), free(changed), free(m2);
}

/* ARC-AR-01, ARC-VAL-01: a body changed after the last seal: arc=fail with
 * the reason. */
static void ARC_AR_01_session_fail(void **state)
{
	(void)state;
	struct result r;
	set_arc("");
	char *m1 = outside_seal(OUTSIDE_MSG, "s1", SIGNET_RESULT_NONE);
	char *changed = replace(m1, "Hello list.", "Hello list!");
	run(&r, OUTSIDE_IP, false, "<a@outside.example>", to_ours, NULL, changed);
	assert_non_null(strstr(r.ar, "arc=fail"));
	assert_non_null(strstr(r.ar, "reason=\"ARC-Message-Signature i=1: "));
	free(m1), free(changed);
}

/* A key lookup that failed temporarily: arc=temperror, and such a chain is
 * not sealed (RFC 8617 has no cv= for it). */
static void ARC_AR_01_session_temperror_not_sealed(void **state)
{
	(void)state;
	set_arc("arc { seal = all; }");
	/* the key lookup answered by hand: TEMPFAIL */
	struct conn d;
	conn_open(&d, OUTSIDE_IP, false);
	pk_str(&d.in, SMFIC_MAIL, "<a@outside.example>");
	pk_str(&d.in, SMFIC_RCPT, "<bob@example.com>");
	buf_reset(&d.out);
	char *m2 = outside_seal(OUTSIDE_MSG, "s1", SIGNET_RESULT_NONE);
	const char *p = m2;
	while (!(p[0] == '\r' && p[1] == '\n')) {
		const char *colon = strchr(p, ':'), *end = p;
		do
			end = strstr(end, "\r\n") + 2;
		while (*end == ' ' || *end == '\t');
		pk_header(&d.in, p, (size_t)(colon - p), colon + 1, (size_t)(end - 2 - colon - 1));
		p = end;
	}
	pk(&d.in, SMFIC_EOH, NULL, 0);
	pk(&d.in, SMFIC_BODY, p + 2, strlen(p + 2));
	pk(&d.in, SMFIC_BODYEOB, NULL, 0);
	assert_int_equal(session_feed(d.s, d.in.data, d.in.len, &d.out), SESSION_OK);
	assert_true(session_waiting(d.s));
	unsigned id;
	const char *name;
	enum signet_rrtype type;
	assert_true(session_next_lookup(d.s, &id, &name, &type));
	assert_string_equal(name, "s1._domainkey.sealer.example");
	assert_true(session_lookup_wanted(d.s, id));
	struct dns_answer a = {.status = SIGNET_DNS_TEMPFAIL, .why = "SERVFAIL"};
	buf_reset(&d.out);
	assert_int_equal(session_answer(d.s, id, &a, &d.out), SESSION_OK);
	assert_false(session_waiting(d.s));
	assert_false(session_lookup_wanted(d.s, id)); /* the message is over */
	static struct result r;
	r.n = edits(&d.out, r.e, 8, &r.final);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.e[0].name, "Authentication-Results");
	assert_non_null(strstr(r.e[0].value, "arc=temperror"));
	assert_int_equal(r.final, SMFIR_CONTINUE);
	conn_close(&d);
	free(m2);
}

/* SESSION_ARC_MAX_LOOKUPS: a chain whose 16 sets each name another
 * selector gets all 16 keys and passes; with 17 the 17th name is never
 * asked (the bound), so that seal cannot be checked: temperror. */
static void ARC_session_lookup_bound(void **state)
{
	(void)state;
	set_arc("");
	char *m = strdup(OUTSIDE_MSG);
	struct result r;
	for (unsigned i = 1; i <= MAX_ARC_LOOKUPS + 1; i++) {
		char sel[16];
		snprintf(sel, sizeof sel, "s%u", i);
		char *next = outside_seal(m, sel, SIGNET_RESULT_NONE);
		free(m);
		m = next;
		if (i < MAX_ARC_LOOKUPS - 1)
			continue;
		run(&r, OUTSIDE_IP, false, "<a@outside.example>", to_ours, NULL, m);
		if (i <= MAX_ARC_LOOKUPS) {
			assert_int_equal(r.lookups, i);
			assert_non_null(strstr(r.ar, "arc=pass"));
		} else {
			assert_int_equal(r.lookups, MAX_ARC_LOOKUPS);
			assert_non_null(strstr(r.ar, "arc=temperror"));
		}
	}
	free(m);
}

/* ---- sealing (ARC-SEAL-02) ---- */

/* arc.seal = none (the default): nothing added, whatever the route. */
static void ARC_SEAL_02_none_never_seals(void **state)
{
	(void)state;
	struct result r;
	set_arc("arc { seal = none; }");
	run(&r, OUTSIDE_IP, false, "<a@outside.example>", to_outside, NULL, OUTSIDE_MSG);
	assert_non_null(r.ar);
	assert_null(r.as);
	assert_null(r.ams);
	assert_null(r.aar);
}

/* ARC-SEAL-02 forwarded: from outside over SMTP to a recipient outside our
 * domains: AR, then ARC-Seal, ARC-Message-Signature, ARC-Authentication-
 * Results each inserted at 0 (AS ends up first); the AAR carries our AR;
 * cv=none for the first set; the next hop validates it (pass, i=1, d= our
 * domain, selector of dkim_signing). */
static void ARC_SEAL_02_forwarded_from_outside_to_outside(void **state)
{
	(void)state;
	struct result r;
	set_arc("arc { seal = forwarded; }");
	run(&r, OUTSIDE_IP, false, "<a@outside.example>", to_outside, NULL, OUTSIDE_MSG);
	assert_non_null(r.as);
	assert_int_equal(r.n, 4);
	assert_string_equal(r.e[0].name, "Authentication-Results");
	assert_string_equal(r.e[1].name, "ARC-Authentication-Results");
	assert_string_equal(r.e[2].name, "ARC-Message-Signature");
	assert_string_equal(r.e[3].name, "ARC-Seal");
	for (size_t k = 0; k < 4; k++)
		assert_int_equal(r.e[k].index, 0);
	char want[1024];
	snprintf(want, sizeof want, " i=1; %s", r.ar + 1);
	assert_string_equal(r.aar, want);
	assert_non_null(strstr(r.as, "cv=none"));
	assert_non_null(strstr(r.as, "d=example.com"));
	assert_non_null(strstr(r.as, "s=ed2024"));
	char *next = with_seal(&r, OUTSIDE_MSG);
	struct signet_arc *a = validate(next);
	assert_int_equal(signet_arc_result(a)->result, SIGNET_RESULT_PASS);
	assert_int_equal(signet_arc_result(a)->instances, 1);
	signet_arc_free(a);
	free(next);
}

/* forwarded: a recipient of ours only is no forward; one outside among
 * ours is, sealed with the recipient domain we hold a key for. */
static void ARC_SEAL_02_forwarded_needs_a_recipient_outside(void **state)
{
	(void)state;
	struct result r;
	set_arc("arc { seal = forwarded; }");
	run(&r, OUTSIDE_IP, false, "<a@outside.example>", to_ours, NULL, OUTSIDE_MSG);
	assert_non_null(r.ar);
	assert_null(r.as);
	static const char *const mixed[] = {"<bob@Example.COM>", "<sub@gmail.example>", NULL};
	run(&r, OUTSIDE_IP, false, "<a@outside.example>", mixed, NULL, OUTSIDE_MSG);
	assert_non_null(r.as);
	assert_non_null(strstr(r.as, "d=example.com"));
	/* arc.local_domains decides instead of dkim_signing's domains */
	set_arc("arc { seal = forwarded; local_domains = [\"gmail.example\"]; }");
	run(&r, OUTSIDE_IP, false, "<a@outside.example>", to_outside, NULL, OUTSIDE_MSG);
	assert_null(r.as);
}

/* Mail we sign is ours leaving, never a forward: no seal with forwarded
 * or all. Mail from an authenticated sender that we only verify is not
 * sealed as a forward either. */
static void ARC_SEAL_02_signed_and_authenticated_mail_not_sealed(void **state)
{
	(void)state;
	struct result r;
	const char *own = "From: Bob <bob@example.com>\r\nSubject: hi\r\n\r\nhello\r\n";
	const char *modes[] = {"arc { seal = forwarded; }", "arc { seal = all; }"};
	for (size_t k = 0; k < 2; k++) {
		set_arc(modes[k]);
		run(&r, "127.0.0.1", false, "<bob@example.com>", to_outside, NULL, own);
		assert_non_null(inserted(r.e, r.n, "DKIM-Signature"));
		assert_null(r.as);
		assert_null(r.ar);
	}
	set_arc("arc { seal = forwarded; }");
	run(&r, OUTSIDE_IP, false, "<alice@outside.example>", to_outside, "alice", OUTSIDE_MSG);
	assert_null(inserted(r.e, r.n, "DKIM-Signature"));
	assert_non_null(r.ar);
	assert_null(r.as);
}

/* The protocol flags of our OPTNEG reply to an offer of every step flag
 * (as Postfix offers them). */
static uint32_t negotiated_protocol(void)
{
	struct runtime *rt = make_runtime();
	struct session *se = session_new(rt, "test");
	runtime_unref(rt);
	struct signet_buf in, out;
	buf_init(&in, 4096);
	buf_init(&out, 4096);
	uint8_t o[12] = {0, 0, 0, 6, 0, 0, 0x01, 0xff, 0, 0x1f, 0xff, 0xff};
	pk(&in, SMFIC_OPTNEG, o, sizeof o);
	assert_int_equal(session_feed(se, in.data, in.len, &out), SESSION_OK);
	assert_true(out.len >= 17);
	assert_int_equal(out.data[4], SMFIC_OPTNEG);
	uint32_t p = (uint32_t)out.data[13] << 24 | (uint32_t)out.data[14] << 16 |
		     (uint32_t)out.data[15] << 8 | out.data[16];
	session_free(se);
	buf_free(&in);
	buf_free(&out);
	return p;
}

/* ARC-SEAL-02 needs the recipients: with arc.seal forwarded or all the
 * session does not ask the MTA to skip RCPT (SMFIP_NORCPT), and takes no
 * reply to it when offered (SMFIP_NR_RCPT); without sealing it skips
 * them as before. */
static void ARC_SEAL_02_rcpt_negotiated_only_for_sealing(void **state)
{
	(void)state;
	set_arc("");
	uint32_t p = negotiated_protocol();
	assert_true(p & SMFIP_NORCPT);
	const char *modes[] = {"arc { seal = forwarded; }", "arc { seal = all; }"};
	for (size_t k = 0; k < 2; k++) {
		set_arc(modes[k]);
		p = negotiated_protocol();
		assert_false(p & SMFIP_NORCPT);
		assert_true(p & SMFIP_NR_RCPT);
	}
	set_arc("arc { enabled = false; seal = forwarded; }");
	assert_true(negotiated_protocol() & SMFIP_NORCPT);
}

/* all: every verified message, a recipient of ours too. */
static void ARC_SEAL_02_all_seals_every_verified_message(void **state)
{
	(void)state;
	struct result r;
	set_arc("arc { seal = all; }");
	run(&r, OUTSIDE_IP, false, "<a@outside.example>", to_ours, NULL, OUTSIDE_MSG);
	assert_non_null(r.as);
	assert_non_null(strstr(r.as, "d=example.com"));
	/* arc.selector that dkim_signing does not have: not sealed */
	set_arc("arc { seal = all; selector = other; }");
	run(&r, OUTSIDE_IP, false, "<a@outside.example>", to_ours, NULL, OUTSIDE_MSG);
	assert_non_null(r.ar);
	assert_null(r.as);
}

/* ---- a list or forwarder reinjecting (ARC-SEAL-03) ---- */

/* The message as a local list reinjects it: our reception AR on top (with
 * arc=), the body changed (a footer). */
static char *reinjected(const char *chain_msg, const char *reception_ar)
{
	char *footer = replace(chain_msg, "Hello list.", "Hello list.\r\n-- \r\nlist footer");
	size_t n = strlen(footer) + strlen(reception_ar) + 64;
	char *out = malloc(n);
	assert_non_null(out);
	snprintf(out, n, "Authentication-Results: %s\r\n%s", reception_ar, footer);
	free(footer);
	return out;
}

#define RECEPTION_AR(arc)                                                                          \
	AUTHSERV "; dkim=pass header.d=outside.example header.s=x\r\n\tarc=" arc                   \
		 " smtp.remote-ip=" OUTSIDE_IP

/* ARC-SEAL-03: a local reinjection (sendmail, port 0) carrying our AR of
 * reception with arc=pass and a chain whose newest AMS the footer broke:
 * our AR now says arc=fail, the seal says cv=pass and its AAR is the
 * reception AR, so the next hop sees a passing chain (oldest-pass=2). The
 * reception AR itself is removed as ours. The log line says so. */
static void ARC_SEAL_03_list_reinjection_uses_reception_results(void **state)
{
	(void)state;
	struct result r;
	set_arc("arc { seal = forwarded; }");
	char *chain = outside_seal(OUTSIDE_MSG, "s1", SIGNET_RESULT_NONE);
	char *msg = reinjected(chain, RECEPTION_AR("pass"));
	log_start();
	run(&r, "127.0.0.1", true, "<list-bounces@example.com>", to_outside, NULL, msg);
	log_end();
	assert_non_null(r.ar);
	assert_non_null(strstr(r.ar, "arc=fail"));
	assert_null(strstr(r.ar, "smtp.remote-ip"));   /* local submission: no SMTP client */
	assert_int_equal(r.e[0].cmd, SMFIR_CHGHEADER); /* the reception AR removed */
	assert_string_equal(r.e[0].name, "Authentication-Results");
	assert_non_null(r.as);
	assert_non_null(strstr(r.as, "cv=pass"));
	assert_non_null(strstr(r.as, "i=2"));
	assert_string_equal(r.aar, " i=2; " RECEPTION_AR("pass"));
	if (strstr(g_log, "arc=fail (ARC-Message-Signature i=1: ") == NULL ||
	    strstr(g_log, "sealed i=2 d=example.com s=ed2024 cv=pass (results from reception)") ==
		    NULL)
		fail_msg("log: %s", g_log);
	char *body_now = replace(chain, "Hello list.", "Hello list.\r\n-- \r\nlist footer");
	char *next = with_seal(&r, body_now);
	struct signet_arc *a = validate(next);
	assert_int_equal(signet_arc_result(a)->result, SIGNET_RESULT_PASS);
	assert_int_equal(signet_arc_result(a)->oldest_pass, 2);
	signet_arc_free(a);
	free(next), free(body_now), free(msg), free(chain);
}

/* AR-TRUST-01 (RFC 8601 1.2, 7.1): only an Authentication-Results with our
 * own authserv-id is read as our reception results. A local reinjection
 * carrying another server's AR that claims dkim=pass and arc=pass is not
 * sealed on its word (nothing of ours from reception to vouch with; the
 * log says so), and the foreign field is left as it is. */
static void AR_TRUST_01_foreign_authserv_id_not_trusted(void **state)
{
	(void)state;
	struct result r;
	set_arc("arc { seal = forwarded; }");
	char *chain = outside_seal(OUTSIDE_MSG, "s1", SIGNET_RESULT_NONE);
	char *msg = reinjected(chain, "mx.other.example; dkim=pass header.d=outside.example\r\n"
				      "\tarc=pass smtp.remote-ip=" OUTSIDE_IP);
	log_start();
	run(&r, "127.0.0.1", true, "<list-bounces@example.com>", to_outside, NULL, msg);
	log_end();
	assert_null(r.as);
	assert_null(r.aar);
	assert_non_null(strstr(g_log, "not sealed: local mail without our Authentication-Results "
				      "from reception"));
	for (size_t k = 0; k < r.n; k++)
		assert_false(r.e[k].cmd == SMFIR_CHGHEADER &&
			     strcmp(r.e[k].name, "Authentication-Results") == 0);
	free(msg), free(chain);
}

/* ARC-SEAL-01 through the daemon: the reception AR's arc=fail is kept
 * (cv=fail); and arc=pass there never makes cv=pass over a chain whose
 * seal is broken now (its AAR was changed). */
static void ARC_SEAL_01_never_pass_over_a_failed_chain(void **state)
{
	(void)state;
	struct result r;
	set_arc("arc { seal = forwarded; }");
	char *chain = outside_seal(OUTSIDE_MSG, "s1", SIGNET_RESULT_NONE);
	char *msg = reinjected(chain, RECEPTION_AR("fail"));
	run(&r, "127.0.0.1", true, "<list-bounces@example.com>", to_outside, NULL, msg);
	assert_non_null(r.as);
	assert_non_null(strstr(r.as, "cv=fail"));
	free(msg);
	char *tampered = replace(chain, "spf=pass smtp.mailfrom=outside.example",
				 "spf=pass smtp.mailfrom=evil.example");
	msg = reinjected(tampered, RECEPTION_AR("pass"));
	run(&r, "127.0.0.1", true, "<list-bounces@example.com>", to_outside, NULL, msg);
	assert_non_null(r.as);
	assert_non_null(strstr(r.as, "cv=fail"));
	free(msg), free(tampered), free(chain);
}

/* SESSION_ARC_MAX_AR: a reception AR of that many bytes (after its
 * leading space) goes into the seal whole; one byte more is not copied,
 * or cut: the message is not sealed and the log says why. */
static void ARC_SEAL_03_reception_ar_limit(void **state)
{
	(void)state;
	set_arc("arc { seal = forwarded; }");
	char *chain = outside_seal(OUTSIDE_MSG, "s1", SIGNET_RESULT_NONE);
	for (size_t len = SESSION_ARC_MAX_AR - 1; len <= SESSION_ARC_MAX_AR + 1; len++) {
		static char ar[SESSION_ARC_MAX_AR + 8];
		const char *head = AUTHSERV "; arc=pass (";
		size_t n = strlen(head);
		memcpy(ar, head, n);
		memset(ar + n, 'x', len - n - 1);
		ar[len - 1] = ')';
		ar[len] = '\0';
		char *msg = reinjected(chain, ar);
		struct result *r = calloc(1, sizeof *r);
		assert_non_null(r);
		log_start();
		run(r, "127.0.0.1", true, "<list-bounces@example.com>", to_outside, NULL, msg);
		log_end();
		if (len <= SESSION_ARC_MAX_AR) {
			assert_non_null(r->aar);
			assert_int_equal(strlen(r->aar), strlen(" i=2; ") + len);
			assert_non_null(strstr(r->as, "cv=pass"));
		} else {
			assert_non_null(r->ar);
			assert_null(r->as);
			if (strstr(g_log,
				   "not sealed: our Authentication-Results from reception is "
				   "over SESSION_ARC_MAX_AR bytes") == NULL)
				fail_msg("log: %.2000s", g_log);
		}
		free(r);
		free(msg);
	}
	free(chain);
}

/* Only a trusted (local) client's AR of ours counts: from outside over
 * SMTP it is a forgery, removed and never the AAR nor the upstream
 * result; and local mail without one is no forward. */
static void ARC_SEAL_03_reception_results_only_from_local_clients(void **state)
{
	(void)state;
	struct result r;
	set_arc("arc { seal = forwarded; }");
	char *chain = outside_seal(OUTSIDE_MSG, "s1", SIGNET_RESULT_NONE);
	char *msg = reinjected(chain, RECEPTION_AR("pass"));
	run(&r, OUTSIDE_IP, false, "<a@outside.example>", to_outside, NULL, msg);
	assert_int_equal(r.e[0].cmd, SMFIR_CHGHEADER); /* the forged one removed */
	assert_non_null(r.as);
	assert_non_null(strstr(r.as, "cv=fail"));
	char want[1024];
	snprintf(want, sizeof want, " i=2; %s", r.ar + 1);
	assert_string_equal(r.aar, want);
	char *footer = replace(chain, "Hello list.", "Hello list.\r\n-- \r\nlist footer");
	run(&r, "127.0.0.1", true, "<list-bounces@example.com>", to_outside, NULL, footer);
	assert_non_null(r.ar);
	assert_null(r.as);
	free(footer), free(msg), free(chain);
}

/* ---- the module's own interface ---- */

/* ARC-VAL-03 through session_arc: the sealers of a passing chain, i=1..N,
 * for the DMARC override; nothing past N, nothing for a failing chain, and
 * nothing that does not fit the caller's buffer. */
static void ARC_VAL_03_session_sealers(void **state)
{
	(void)state;
	set_arc("");
	struct runtime *rt = make_runtime();
	char *m1 = outside_seal(OUTSIDE_MSG, "s1", SIGNET_RESULT_NONE);
	char *m2 = outside_seal(m1, "s2", SIGNET_RESULT_NONE);
	const char *bad = "Hello list?";
	for (int round = 0; round < 2; round++) {
		char *msg = round == 0 ? strdup(m2) : replace(m2, "Hello list.", bad);
		struct header_store hs;
		header_store_init(&hs);
		const char *p = msg;
		while (!(p[0] == '\r' && p[1] == '\n')) {
			const char *colon = strchr(p, ':'), *end = p;
			do
				end = strstr(end, "\r\n") + 2;
			while (*end == ' ' || *end == '\t');
			assert_int_equal(header_store_add(&hs, (const uint8_t *)p,
							  (size_t)(colon - p),
							  (const uint8_t *)colon + 1,
							  (size_t)(end - 2 - colon - 1), NULL),
					 SIGNET_OK);
			p = end;
		}
		p += 2;
		struct session_arc *sa =
			session_arc_new(rt->cfg, rt->keys, false, false,
					(const uint8_t *)"<a@outside.example>", 19);
		assert_non_null(sa);
		char why[300];
		assert_true(session_arc_start(sa, &hs, AUTHSERV, why, sizeof why));
		assert_true(session_arc_body(sa, (const uint8_t *)p, strlen(p), why, sizeof why));
		unsigned k;
		const char *name;
		while (session_arc_next_lookup(sa, &k, &name)) {
			struct signet_txt t = {(const uint8_t *)g_out_rec, strlen(g_out_rec)};
			struct dns_answer a = {
				.status = SIGNET_DNS_OK, .records = &t, .nrecords = 1};
			session_arc_answer(sa, k, &a);
		}
		assert_true(session_arc_lookups_done(sa));
		session_arc_finish(sa);
		assert_non_null(session_arc_result(sa));
		char d[32];
		if (round == 0) {
			assert_int_equal(session_arc_result(sa)->result, SIGNET_RESULT_PASS);
			assert_true(session_arc_sealer(sa, 1, d, sizeof d));
			assert_string_equal(d, "sealer.example");
			assert_true(session_arc_sealer(sa, 2, d, sizeof d));
			assert_string_equal(d, "sealer.example");
			assert_false(session_arc_sealer(sa, 3, d, sizeof d));
			assert_false(session_arc_sealer(sa, 1, d, strlen("sealer.example")));
		} else {
			assert_int_equal(session_arc_result(sa)->result, SIGNET_RESULT_FAIL);
			assert_false(session_arc_sealer(sa, 1, d, sizeof d));
		}
		session_arc_free(sa);
		header_store_free(&hs);
		free(msg);
	}
	assert_null(session_arc_result(NULL));
	runtime_unref(rt);
	free(m1), free(m2);
}

/* ---- counters ---- */

static unsigned long long metric(const char *line)
{
	struct signet_buf b;
	buf_init(&b, 1 << 20);
	assert_int_equal(metrics_render(metrics_process(), &b), SIGNET_OK);
	assert_int_equal(buf_terminate(&b), SIGNET_OK);
	const char *at = strstr((const char *)b.data, line);
	unsigned long long v = at ? strtoull(at + strlen(line), NULL, 10) : ~0ull;
	buf_free(&b);
	assert_true(v != ~0ull);
	return v;
}

/* signetd_arc_results_total{result} per verified message and
 * signetd_arc_seals_total{cv} per seal added. */
static void ARC_session_metrics(void **state)
{
	(void)state;
	struct result r;
	const char *pass = "signetd_arc_results_total{result=\"pass\"} ";
	const char *none = "signetd_arc_results_total{result=\"none\"} ";
	const char *cv_none = "signetd_arc_seals_total{cv=\"none\"} ";
	const char *cv_pass = "signetd_arc_seals_total{cv=\"pass\"} ";
	unsigned long long p0 = metric(pass), n0 = metric(none), s0 = metric(cv_none),
			   s1 = metric(cv_pass);
	set_arc("arc { seal = forwarded; }");
	run(&r, OUTSIDE_IP, false, "<a@outside.example>", to_outside, NULL, OUTSIDE_MSG);
	char *m = outside_seal(OUTSIDE_MSG, "s1", SIGNET_RESULT_NONE);
	run(&r, OUTSIDE_IP, false, "<a@outside.example>", to_outside, NULL, m);
	assert_int_equal(metric(none), n0 + 1);
	assert_int_equal(metric(pass), p0 + 1);
	assert_int_equal(metric(cv_none), s0 + 1);
	assert_int_equal(metric(cv_pass), s1 + 1);
	free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ARC_AR_01_session_none_and_disabled),
		cmocka_unit_test(ARC_AR_01_session_pass_oldest_pass),
		cmocka_unit_test(ARC_AR_01_session_fail),
		cmocka_unit_test(ARC_AR_01_session_temperror_not_sealed),
		cmocka_unit_test(ARC_session_lookup_bound),
		cmocka_unit_test(ARC_SEAL_02_none_never_seals),
		cmocka_unit_test(ARC_SEAL_02_forwarded_from_outside_to_outside),
		cmocka_unit_test(ARC_SEAL_02_forwarded_needs_a_recipient_outside),
		cmocka_unit_test(ARC_SEAL_02_signed_and_authenticated_mail_not_sealed),
		cmocka_unit_test(ARC_SEAL_02_rcpt_negotiated_only_for_sealing),
		cmocka_unit_test(ARC_SEAL_02_all_seals_every_verified_message),
		cmocka_unit_test(ARC_SEAL_03_list_reinjection_uses_reception_results),
		cmocka_unit_test(AR_TRUST_01_foreign_authserv_id_not_trusted),
		cmocka_unit_test(ARC_SEAL_01_never_pass_over_a_failed_chain),
		cmocka_unit_test(ARC_SEAL_03_reception_results_only_from_local_clients),
		cmocka_unit_test(ARC_SEAL_03_reception_ar_limit),
		cmocka_unit_test(ARC_VAL_03_session_sealers),
		cmocka_unit_test(ARC_session_metrics),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
