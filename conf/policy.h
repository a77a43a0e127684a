/* policy.h: the signing decision as a pure function of the config, the key
 * store and the facts of one message (rspamd's dkim_signing rules): which
 * (domain, selector, key) to sign with, or why the message is only
 * verified, in words an administrator can act on. No I/O; the milter and
 * `signet policy` both call it. Also the From-field address parser it uses. */
#ifndef SIGNETD_POLICY_H
#define SIGNETD_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include <signet/signet.h>
#include <signet/key.h>

#include "config.h"
#include "keystore.h"

#define POLICY_MAX_ADDRS 16    /* mailboxes of one From field kept (more are counted) */
#define POLICY_MAX_FIELD 65536 /* bytes of one From field value looked at */

struct policy_facts {
	bool non_smtp;                    /* MILTER-PFX-01: mail from Postfix's non_smtpd_milters
					     (sendmail(1), pickup): local, signed like local_addrs */
	const char *client_addr;          /* numeric client address ("IPv6:" ok), or NULL */
	const struct sockaddr *client_sa; /* used when client_addr is NULL; may be NULL */
	const char *auth_user;            /* {auth_authen}; NULL or "" = not authenticated */
	const char *env_from;             /* MAIL FROM address, <> optional; "" or "<>" = null
					     sender; NULL = unknown */
	const char *const *from;          /* the From field values (text after "From:") */
	const size_t *from_len;           /* their lengths; NULL = NUL-terminated */
	size_t n_from;                    /* number of From fields in the message */
};

struct policy_sig {
	const char *selector;         /* borrowed from the key store */
	const struct signet_key *key; /* borrowed from the key store */
	const char *path;             /* borrowed: the key file, for logs */
};

/* Why a message is not signed, as a small fixed set (the metrics'
 * labels); reason[] keeps the full sentence. */
enum policy_reason {
	POLICY_SIGNED = 0,         /* sign is true */
	POLICY_NOT_LOCAL_NOT_AUTH, /* not authenticated and not a local client */
	POLICY_NO_KEY,             /* no key for the signing domain */
	POLICY_FROM_MISSING,       /* no From field */
	POLICY_FROM_REPEATED,      /* more than one From field */
	POLICY_MISMATCH,           /* envelope or auth user domain differs (allow_*_mismatch) */
	POLICY_OTHER,              /* signing off, sign_local off, unparseable From, ... */
	POLICY_NREASONS
};

struct policy_decision {
	bool sign;                                  /* false: verify only */
	enum policy_reason code;                    /* POLICY_SIGNED when sign, else why not */
	char domain[256];                           /* d= when signing */
	struct policy_sig sigs[SIGNET_MAX_SIGNERS]; /* every configured selector of the domain */
	size_t nsigs;
	/* dkim_signing.use_redis: sigs[] has the selectors (key NULL; with
	 * selector_prefix one entry whose selector is "" as Redis names it);
	 * the keys are fetched by the daemon (keyfetch.h) */
	bool from_redis;
	char reason[600]; /* why (not) signing, one line */
};

/* Decides for one message. Always fills out (sign or a reason); returns
 * SIGNET_ERR_INVAL only for NULL cfg/facts/out. ks may be NULL (no keys).
 * Borrowed pointers in out live as long as ks. */
SIGNET_MUST_USE enum signet_status policy_decide(const struct signetd_config *cfg,
						 const struct keystore *ks,
						 const struct policy_facts *facts,
						 struct policy_decision *out);

/* The metrics label of a reason: "no_key", "from_missing", ...; "other"
 * for anything out of range. */
const char *policy_reason_label(enum policy_reason r);

/* The mailboxes of a From field value (RFC 5322 3.6.2 mailbox-list, 3.4:
 * "Name <user@dom>", bare user@dom, comments, quoted local parts and
 * display names, groups "team: a@x, b@y;", obs-route). */
struct policy_addrs {
	size_t n;                           /* mailboxes found (may exceed POLICY_MAX_ADDRS) */
	char domain[POLICY_MAX_ADDRS][256]; /* each one's domain, ASCII lower-cased */
};

/* false with why filled ("no '@' in 'undisclosed'") when the value does not
 * parse or a mailbox has no usable domain. */
bool policy_from_addrs(const char *value, size_t len, struct policy_addrs *out, char *why,
		       size_t whycap);

#endif
