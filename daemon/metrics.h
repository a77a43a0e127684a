/* metrics.h: signetd's Prometheus metrics: a fixed set of counters and
 * histograms that worker threads bump with relaxed C11 atomics (no lock,
 * no allocation on the mail path), key record health gauges the periodic
 * DNS check replaces after each round, and the text exposition format
 * 0.0.4. Pure: no sockets, no threads of its own; metrics_http.h serves
 * the text over HTTP. It does not decide anything about mail. */
#ifndef SIGNETD_METRICS_H
#define SIGNETD_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <signet/dmarc.h>
#include <signet/signet.h>
#include <signet/verifier.h>

#include "policy.h"

struct metrics;
struct signet_buf;

/* What happened to a message at its end (signetd_messages_total{action}). */
enum metrics_action {
	METRICS_SIGNED,   /* DKIM-Signature(s) added */
	METRICS_VERIFIED, /* Authentication-Results added */
	METRICS_PASSED,   /* accepted without either (limits, on_error = accept) */
	METRICS_DEFERRED, /* 451 (on_error = tempfail, verify.on_temperror = tempfail) */
	METRICS_REJECTED, /* 550 (verify.on_fail = reject) */
	METRICS_NACTIONS
};

/* A connection bound server.c enforced (signetd_connection_limits_total{event}). */
enum metrics_conn_event {
	METRICS_CONN_MAX,            /* a connection closed at once: connections.max open */
	METRICS_CONN_FD_LIMIT,       /* accept() failed for want of a file descriptor */
	METRICS_CONN_IDLE_TIMEOUT,   /* closed: nothing for connections.idle_timeout */
	METRICS_CONN_PACKET_TIMEOUT, /* closed: a packet incomplete for connections.packet_timeout */
	METRICS_NCONN_EVENTS
};

/* What DMARC enforcement did (signetd_dmarc_actions_total{action}). */
enum metrics_dmarc_action {
	METRICS_DMARC_REJECT,     /* 550 5.7.1: disposition reject, dmarc.enforce */
	METRICS_DMARC_QUARANTINE, /* disposition quarantine, marked in Authentication-Results only */
	METRICS_DMARC_HOLD,     /* disposition quarantine, Postfix hold queue (dmarc.quarantine) */
	METRICS_DMARC_TEMPFAIL, /* 451: temperror with dmarc.on_temperror = tempfail */
	METRICS_DMARC_NACTIONS
};

enum metrics_alg { METRICS_RSA_SHA256, METRICS_ED25519_SHA256, METRICS_NALGS };

enum metrics_hist {
	METRICS_SIGN_SECONDS,
	METRICS_VERIFY_SECONDS,
	METRICS_DNS_SECONDS,
	METRICS_NHISTS
};

/* DMARC report observations (signetd_dmarc_observations_total{outcome}):
 * written to the report store, or dropped (report_writer.h). */
enum metrics_obs_outcome { METRICS_OBS_RECORDED, METRICS_OBS_DROPPED, METRICS_NOBS };

/* Signing keys from Redis (dkim_signing.use_redis, keyfetch.h), per
 * message that asked: signetd_redis_key_answers_total{answer}. */
enum metrics_key_answer {
	METRICS_KEYS_CACHED,  /* from the worker's cache, no wait */
	METRICS_KEYS_FETCHED, /* after a round trip to Redis */
	METRICS_KEYS_NONE,    /* Redis has no selector or key for the domain: not signed */
	METRICS_KEYS_ERROR,   /* Redis unreachable or a bad value: on_error.sign */
	METRICS_NKEY_ANSWERS
};

/* Histogram buckets: 0.5 ms .. 10 s (metrics.c), then +Inf. */
#define METRICS_NBUCKETS 14
#define METRICS_FAST_ANSWER_US 1000 /* signetd_dns_fast_answers_total: answered under 1 ms */

/* Key record states of one selector (signetd_key_health{state}), a bit set. */
enum metrics_key_state {
	METRICS_KEY_OK = 1u << 0,            /* the record holds the key; no error */
	METRICS_KEY_MISSING = 1u << 1,       /* NXDOMAIN or no TXT record */
	METRICS_KEY_MISMATCH = 1u << 2,      /* no record matches the key (or one is unusable) */
	METRICS_KEY_REVOKED = 1u << 3,       /* empty p= */
	METRICS_KEY_TESTING = 1u << 4,       /* t=y */
	METRICS_KEY_WEAK = 1u << 5,          /* RSA under 2048 bits */
	METRICS_KEY_MULTIPLE = 1u << 6,      /* more than one TXT record */
	METRICS_KEY_LOOKUP_FAILED = 1u << 7, /* temporary DNS failure: state unknown */
	METRICS_KEY_NSTATES = 8
};

struct metrics_key_health {
	const char *domain;   /* borrowed for the call */
	const char *selector; /* borrowed for the call */
	unsigned states;      /* enum metrics_key_state bits */
};

/* The daemon's one set of metrics (static: counts survive reloads). */
struct metrics *metrics_process(void);

/* A separate zeroed set (tests); NULL on out of memory. metrics_free(NULL)
 * is a no-op; metrics_free(metrics_process()) only empties its key health
 * table (at exit: the counters are static). */
struct metrics *metrics_new(void);
void metrics_free(struct metrics *m);

/* The mail path: relaxed atomics only. Out-of-range enums are ignored. */
void metrics_message(struct metrics *m, enum metrics_action a);
void metrics_signature(struct metrics *m, enum metrics_alg alg);
/* One signature's result; SIGNET_RESULT_NONE counts a message without any. */
void metrics_verify_result(struct metrics *m, enum signet_result r);
/* One DMARC evaluation's result, and what enforcement did (if anything). */
void metrics_dmarc_result(struct metrics *m, enum signet_dmarc_result r);
void metrics_dmarc_action(struct metrics *m, enum metrics_dmarc_action a);
/* POLICY_SIGNED is not counted; an out-of-range code counts as other. */
void metrics_not_signed(struct metrics *m, enum policy_reason why);
/* ARC (issue #16): a message's chain result (none, pass, fail, temperror)
 * and a seal we added, by its cv= (none, pass, fail). */
void metrics_arc_result(struct metrics *m, enum signet_result r);
void metrics_arc_seal(struct metrics *m, enum signet_result cv);
void metrics_observe(struct metrics *m, enum metrics_hist h, uint64_t usec);
/* One key lookup's answer: lookups by status, secure, time, fast answers. */
void metrics_dns(struct metrics *m, enum signet_dns_status st, bool secure, uint64_t usec);

/* The DMARC report writer's thread and submitters: relaxed atomics only. */
void metrics_dmarc_observations(struct metrics *m, enum metrics_obs_outcome o, uint64_t n);

void metrics_key_answer(struct metrics *m, enum metrics_key_answer a);

/* The network side: relaxed atomics only. */
void metrics_conn_event(struct metrics *m, enum metrics_conn_event e);

/* Replaces the key health table (copied). SIGNET_ERR_NOMEM keeps the old one. */
SIGNET_MUST_USE enum signet_status metrics_key_health_set(struct metrics *m,
							  const struct metrics_key_health *v,
							  size_t n);

/* One selector in key rotation (conf/rotation.h): signetd_key_rotation
 * {domain,selector,state} 1 and signetd_key_rotation_checked_seconds (the
 * unix time of its last DNS check; 0 never). Strings borrowed for the call. */
struct metrics_rotation {
	const char *domain;
	const char *selector;
	const char *state; /* rotation_state_name */
	uint64_t checked;
};
/* Replaces the rotation entries shown (the last round's). */
SIGNET_MUST_USE enum signet_status metrics_rotation_set(struct metrics *m,
							const struct metrics_rotation *v, size_t n);

/* Appends the exposition text (format 0.0.4) to out. */
SIGNET_MUST_USE enum signet_status metrics_render(struct metrics *m, struct signet_buf *out);

#endif
