/* session_fixture.h: what the tests of daemon/session.c (test_session.c,
 * test_session_arc.c, test_session_redis.c) share: a temp dir holding example.com's ed25519
 * signing key as signetd loads it, a runtime made from config text, milter
 * packets built as an MTA sends them, a connection opened up to CONNECT,
 * its replies taken apart, and stderr captured while the session logs. Test-only; its state is the
 * globals below (one test executable, one thread). */
#ifndef SIGNET_SESSION_FIXTURE_H
#define SIGNET_SESSION_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <signet/key.h>

#include "buf.h"
#include "runtime.h"
#include "session.h"

#define AUTHSERV "mx.example.com" /* authserv_id, and the MTA's macro j */
#define FIXTURE_IN_CAP (64u * 1024 * 1024)
#define FIXTURE_OUT_CAP (1024u * 1024) /* server.c's CONN_MAX_OUT */
#define FIXTURE_SMTP_PORT 25000        /* a real SMTP client's; 0: non_smtp */

extern char g_dir[64];           /* the temp dir (fixture_setup) */
extern struct signet_key *g_key; /* example.com's, selector ed2024, in <g_dir>/ed.key */

/* cmocka group setup and teardown: tmpl ("/tmp/NAME-XXXXXX") made a
 * directory, a new key written to <g_dir>/ed.key (0600), log_open to
 * stderr; 0, or -1 on failure. The teardown frees the key and removes the
 * directory. */
int fixture_setup(const char *tmpl);
int fixture_teardown(void);

/* A runtime for authserv_id AUTHSERV, local_addrs 127.0.0.0/8 and
 * dkim_signing of example.com with g_key, then extra (more UCL text).
 * Fails the test, with the diagnostics, when it does not load. */
struct runtime *fixture_runtime(const char *extra);
/* A runtime from the whole config text (and the keys it names). */
struct runtime *fixture_runtime_text(const char *text);

/* ---- packets in (appended to in; a failed append fails the test) ---- */

void pk(struct signet_buf *in, uint8_t cmd, const void *data, size_t len);
/* Two NUL-terminated strings (HEADER data, a macro pair). */
void pk2(struct signet_buf *in, uint8_t cmd, const char *a, const char *b);
/* One NUL-terminated string (MAIL, RCPT, HELO). */
void pk_str(struct signet_buf *in, uint8_t cmd, const char *s);
/* The MTA's offer: v6, every action, HDR_LEADSPC only: every step gets a
 * reply and header values arrive verbatim. */
void pk_optneg(struct signet_buf *in);
/* CONNECT from addr (IPv4 text) and port. */
void pk_connect_port(struct signet_buf *in, const char *addr, uint16_t port);

/* ---- one connection ---- */

struct conn {
	struct session *s;
	struct signet_buf in, out; /* what the test builds; the replies */
};

/* A session on rt (the session takes its own reference; the caller's is
 * dropped). With addr: macro j, OPTNEG and CONNECT from addr:port are fed
 * and their replies dropped; NULL addr: nothing is sent yet. */
void conn_start(struct conn *c, struct runtime *rt, const char *addr, uint16_t port);
void conn_close(struct conn *c);
/* Feeds what was built in c->in; the replies are in c->out (reset first). */
enum session_status conn_feed(struct conn *c);

/* ---- replies out ---- */

struct reply {
	uint8_t cmd;
	uint32_t index;     /* SMFIR_INSHEADER, SMFIR_CHGHEADER */
	char name[64];      /* SMFIR_INSHEADER, SMFIR_CHGHEADER */
	const uint8_t *val; /* the same: into the out buffer */
	size_t vlen;
	char text[128]; /* SMFIR_REPLYCODE */
};

/* Splits out into at most max replies (a reply that does not parse fails
 * the test); returns how many there are. */
size_t replies(const struct signet_buf *out, struct reply *r, size_t max);

/* ---- the log ---- */

/* stderr (where log_msg writes) goes to <g_dir>/log until fixture_log_end,
 * which puts it back and copies what was written into out (NUL ended, cut
 * at cap - 1 bytes). */
void fixture_log_start(void);
void fixture_log_end(char *out, size_t cap);

#endif
