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
#include "keys.h"

#define POLICY_MAX_ADDRS 16       /* mailboxes of one From field kept (more are counted) */
#define POLICY_MAX_FIELD 65536    /* bytes of one From field value looked at */

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

struct policy_decision {
	bool sign;                                /* false: verify only */
	char domain[256];                         /* d= when signing */
	struct policy_sig sigs[SIGNET_MAX_SIGNERS]; /* every configured selector of the domain */
	size_t nsigs;
	char reason[600];                         /* why (not) signing, one line */
};

/* Decides for one message. Always fills out (sign or a reason); returns
 * SIGNET_ERR_INVAL only for NULL cfg/facts/out. ks may be NULL (no keys).
 * Borrowed pointers in out live as long as ks. */
SIGNET_MUST_USE enum signet_status policy_decide(const struct signetd_config *cfg,
						 const struct keystore *ks,
						 const struct policy_facts *facts,
						 struct policy_decision *out);

/* The mailboxes of a From field value (RFC 5322 3.6.2 mailbox-list, 3.4:
 * "Name <user@dom>", bare user@dom, comments, quoted local parts and
 * display names, groups "team: a@x, b@y;", obs-route). */
struct policy_addrs {
	size_t n;                              /* mailboxes found (may exceed POLICY_MAX_ADDRS) */
	char domain[POLICY_MAX_ADDRS][256];    /* each one's domain, ASCII lower-cased */
};

/* false with why filled ("no '@' in 'undisclosed'") when the value does not
 * parse or a mailbox has no usable domain. */
bool policy_from_addrs(const char *value, size_t len, struct policy_addrs *out, char *why,
		       size_t whycap);

#endif
