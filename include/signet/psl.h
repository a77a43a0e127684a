/* psl.h: the Public Suffix List (publicsuffix.org format, Debian's package
 * publicsuffix) for DKIM-VER-17: is a signing domain exactly a public
 * suffix ("com", "co.uk")? The caller reads the file and hands its bytes
 * in; the list is parsed once into a read-only object that any number of
 * verifiers (and threads) may share. */
#ifndef SIGNET_PSL_H
#define SIGNET_PSL_H

#include <signet/signet.h>

struct signet_psl;

#define SIGNET_PSL_DEFAULT_FILE "/usr/share/publicsuffix/public_suffix_list.dat"
/* Bounds on what one list may cost: the 2023 list is 246 KB with about
 * 10,000 ICANN and 3,500 private rules. */
#define SIGNET_PSL_MAX_BYTES (8u * 1024 * 1024)
#define SIGNET_PSL_MAX_RULES 200000
/* The note a verifier adds to a result whose d= is a public suffix. */
#define SIGNET_PSL_NOTE "d= is a public suffix"

/* Parses a list. Rules are read as the format says: a line up to its first
 * whitespace, "//" comments, "*." wildcards (leftmost label only), "!"
 * exceptions, U-labels turned into A-labels. Any malformed rule is
 * SIGNET_ERR_SYNTAX naming its line, more than SIGNET_PSL_MAX_BYTES or
 * SIGNET_PSL_MAX_RULES is SIGNET_ERR_LIMIT, and a list without one ICANN
 * rule is SIGNET_ERR_SYNTAX: a half-read list is never used. On success
 * *out is the caller's (signet_psl_free). */
SIGNET_API SIGNET_MUST_USE enum signet_status
signet_psl_parse(const uint8_t *text, size_t len, struct signet_psl **out,
		 struct signet_error *err);

/* True when domain (len bytes, no NUL needed; U-labels or A-labels, any
 * ASCII case, one final dot ignored) is exactly a public suffix by the
 * ICANN rules of the list: it matches a rule or a wildcard and no
 * exception, or it is a single label (the format's implicit "*" rule).
 * False for a registrable name or anything below one, and for what is not
 * a domain name at all (empty labels, invalid UTF-8, over 253 octets). */
SIGNET_API bool signet_psl_is_suffix(const struct signet_psl *psl, const char *domain, size_t len);

/* The number of rules in use (ICANN section; duplicates counted once). */
SIGNET_API size_t signet_psl_rules(const struct signet_psl *psl);

/* signet_psl_free(NULL) is a no-op. */
SIGNET_API void signet_psl_free(struct signet_psl *psl);

#endif
