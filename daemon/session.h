/* session.h: one milter connection, sans-I/O. Bytes from the MTA go in;
 * replies come out in one buffer per step (so each step is one write); key
 * lookups the verifier needs are handed out, and their answers come back
 * in. The network and DNS are the caller's (server.c). */
#ifndef SIGNETD_SESSION_H
#define SIGNETD_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns.h"

struct session;
struct runtime;
struct signet_buf;

/* A new session for one MTA connection; rt is referenced for its lifetime. */
struct session *session_new(struct runtime *rt, const char *peer);
void session_free(struct session *s);

enum session_status {
	SESSION_OK,    /* keep going */
	SESSION_CLOSE, /* QUIT, or a protocol error (logged): close the connection */
};

/* Feeds bytes; processes every complete packet until the session has to
 * wait for key lookups. Replies are appended to out. */
enum session_status session_feed(struct session *s, const uint8_t *p, size_t len,
				 struct signet_buf *out);

/* The next lookup to start (name borrowed until the answer), or false:
 * DKIM keys (TXT) and the SPF checks' questions (A, AAAA, MX, PTR, TXT). */
bool session_next_lookup(struct session *s, unsigned *id, const char **name,
			 enum signet_rrtype *type);

/* False when lookup id belongs to a message that is over (aborted or
 * finished), or to an SPF check that no longer needs it: its answer would
 * be ignored, so it may be cancelled. */
bool session_lookup_wanted(const struct session *s, unsigned id);

/* The answer to lookup id; may finish the message (replies into out) and
 * go on with packets already received. */
enum session_status session_answer(struct session *s, unsigned id, const struct dns_answer *a,
				   struct signet_buf *out);

struct signetd_config;
struct signkeys;

/* dkim_signing.use_redis: the signing keys the message waits for at the end
 * of its header (once per message; false: none wanted). cfg, domain and
 * selectors are borrowed until the answer; n == 0: the selector is Redis's
 * (selector_prefix). The caller asks keyfetch_get and answers with
 * session_key_answer (at once, or later). */
bool session_next_key_request(struct session *s, unsigned *id, const struct signetd_config **cfg,
			      const char **domain, const char *const **selectors, size_t *n);
/* The keys (borrowed: the session takes its own reference) or error; the
 * EOH reply goes into out and what the MTA sent meanwhile goes on. */
enum session_status session_key_answer(struct session *s, unsigned id, struct signkeys *keys,
				       const char *error, struct signet_buf *out);

/* True while the MTA waits for our EOM reply and we wait for key lookups,
 * or for our EOH reply while the signing keys are fetched. */
bool session_waiting(const struct session *s);

/* Bytes of a packet the MTA has started and not finished (0 at a packet
 * boundary): server.c bounds how long one may stay incomplete. */
size_t session_partial(const struct session *s);

/* While waiting: appends a progress reply (SMFIR_PROGRESS), which resets
 * the MTA's timeout; nothing otherwise. False if it cannot be encoded. */
bool session_progress(struct session *s, struct signet_buf *out);

/* The MTA went away: end the message without replying (logged). */
void session_abort(struct session *s);

/* Where the connection is in the milter dialogue (session.c's step_rules:
 * which step may come in which state; any other is a protocol error). */
enum session_state {
	SESSION_NEW,      /* before OPTNEG */
	SESSION_IDLE,     /* negotiated, no message open: after CONNECT, EOM, ABORT */
	SESSION_ENVELOPE, /* MAIL seen: RCPT, DATA, then the header */
	SESSION_HEADERS,  /* header fields arriving */
	SESSION_BODY,     /* after EOH (or the first BODY): signer or verifier made */
	SESSION_STATES
};

/* What the session holds now, for tests and the fuzzer (fuzz_milter.c). */
struct session_stats {
	enum session_state state;
	unsigned objects; /* signers + verifiers made for the current message: 0 or 1 */
	size_t ours_ar;   /* Authentication-Results claiming our authserv-id so far */
};
void session_get_stats(const struct session *s, struct session_stats *out);

#endif
