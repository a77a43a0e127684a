/* session_arc.h: ARC (RFC 8617) of one message in signetd, beside DKIM:
 * the chain verified from the same header fields and body, its key
 * lookups handed to session.c (bounded like the DKIM ones), arc= for
 * Authentication-Results, and the seal arc.seal asks for (signetd.conf(5)).
 * Sans-I/O: session.c feeds it and writes the header edits it returns. */
#ifndef SIGNETD_SESSION_ARC_H
#define SIGNETD_SESSION_ARC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <signet/ar.h>
#include <signet/arc.h>

#include "dns.h"
#include "header_store.h"

struct signetd_config;
struct keystore;

/* ARC key lookups of one message at most (distinct selector._domainkey
 * names; a chain of 50 sets by one sealer asks one). Past it the rest stay
 * unanswered: temperror, as for a key that did not come. */
#define SESSION_ARC_MAX_LOOKUPS 16
/* An Authentication-Results copied into a seal (ours from reception). */
#define SESSION_ARC_MAX_AR SIGNET_ARC_MAX_AAR

struct session_arc;

/* A new per-message state (cfg and ks borrowed for its life), or
 * NULL when arc.enabled is false or out of memory (then no ARC: logged by
 * the caller). trusted: a client whose Authentication-Results with our
 * authserv-id we wrote ourselves (non-SMTP, local_addrs, sign_networks:
 * a list or forwarder reinjecting what we received); authenticated: SMTP
 * AUTH. sender: the MAIL FROM address, <> optional. */
struct session_arc *session_arc_new(const struct signetd_config *cfg, const struct keystore *ks,
				    bool trusted, bool authenticated, const uint8_t *sender,
				    size_t slen);
void session_arc_free(struct session_arc *sa);

/* One RCPT address (<> optional): remembered as inside or outside (our
 * domains: arc.local_domains, else dkim_signing's domain { } keys). */
void session_arc_rcpt(struct session_arc *sa, const uint8_t *addr, size_t len);

/* End of headers of a message that is verified: replays hs into the
 * validator and keeps our newest Authentication-Results (authserv_id) for
 * a seal. False (reason in why) when the validator could not start: the
 * message goes on without arc=. */
bool session_arc_start(struct session_arc *sa, const struct header_store *hs,
		       const char *authserv_id, char *why, size_t whycap);
/* Body bytes; false (why) when the validator failed (it is dropped). */
bool session_arc_body(struct session_arc *sa, const uint8_t *p, size_t len, char *why,
		      size_t whycap);

/* Key lookups: the next not handed out (k its index below
 * SESSION_ARC_MAX_LOOKUPS, name borrowed until the answer); whether
 * lookup k waits for its answer; the answer; all answered. */
bool session_arc_next_lookup(struct session_arc *sa, unsigned *k, const char **name);
bool session_arc_lookup_wanted(const struct session_arc *sa, unsigned k);
void session_arc_answer(struct session_arc *sa, unsigned k, const struct dns_answer *a);
bool session_arc_lookups_done(const struct session_arc *sa);

/* End of message: decides the chain. NULL sa, or a validator dropped: no
 * result. */
void session_arc_finish(struct session_arc *sa);

/* The chain's result (borrowed until free), NULL when there is none; and
 * the d= of ARC-Seal i (1..instances) of a passing chain, NUL-terminated
 * into out (false otherwise: not a pass, i out of range, too long): the
 * sealers a DMARC override may trust (ARC-VAL-03). */
const struct signet_arc_result *session_arc_result(const struct session_arc *sa);
bool session_arc_sealer(const struct session_arc *sa, unsigned i, char *out, size_t cap);

/* The arc= entry of our Authentication-Results (ARC-AR-01), NULL without
 * a result; remote_ip borrowed for the entry's life. */
const struct signet_ar_arc *session_arc_ar_entry(struct session_arc *sa, const char *remote_ip);

/* ARC-SEAL-02: seals the message when arc.seal says so; ar is our
 * Authentication-Results value just formatted (" id; dkim=..."). On
 * success *as, *ams, *aar are the three field values to insert at the top
 * (borrowed until free); false with all NULL when not sealed (why goes to
 * session_arc_describe; nothing when the config does not ask for it). */
bool session_arc_seal(struct session_arc *sa, const char *ar, const char **as, const char **ams,
		      const char **aar);
/* After session_arc_seal: true and the new set's cv= when it sealed. */
bool session_arc_sealed(const struct session_arc *sa, enum signet_result *cv);

/* "; arc=pass (oldest-pass=2); sealed i=2 d=.. s=.. cv=pass" for the log
 * line; "" without a result. */
void session_arc_describe(const struct session_arc *sa, char *line, size_t cap);

#endif
