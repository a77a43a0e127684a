/* psl.h: the Public Suffix List (publicsuffix.org format, Debian's package
 * publicsuffix) for DKIM-VER-17: is a signing domain exactly a public
 * suffix ("com", "co.uk")? And for DMARC-ORG-01: what is a name's
 * organizational domain (RFC 7489 3.2)? The list is libpsl's: the front
 * end loads it (psl_load_fp or psl_load_file on a .dat or .dafsa file, psl_latest,
 * psl_builtin) and wraps the context here; libsignet only asks it. One
 * wrapped list is read-only and may be shared by any number of verifiers
 * and threads (libpsl's lookups do not write to the context). */
#ifndef SIGNET_PSL_H
#define SIGNET_PSL_H

#include <signet/signet.h>

struct signet_psl;
struct psl_ctx_st; /* libpsl's psl_ctx_t (<libpsl.h>) */

#define SIGNET_PSL_DEFAULT_FILE "/usr/share/publicsuffix/public_suffix_list.dat"
/* The largest list file a front end hands to libpsl: the 2023 list is
 * 246 KB (its DAFSA form 54 KB), so 8 MiB leaves room and still refuses a
 * device or a wrong file that would make libpsl read without end. */
#define SIGNET_PSL_MAX_BYTES (8u * 1024 * 1024)
/* The note a verifier adds to a result whose d= is a public suffix. */
#define SIGNET_PSL_NOTE "d= is a public suffix"

/* Wraps a list libpsl loaded. With owned, signet_psl_free calls psl_free
 * on ctx, and so does this function when it fails; without it (the
 * context of psl_builtin(), or one the caller frees after the wrapper)
 * the caller keeps it. A NULL ctx is SIGNET_ERR_INVAL; a list libpsl read
 * no rule from (an empty file, only comments) is SIGNET_ERR_SYNTAX, so a
 * file that is no list is never used as one. On success *out is the
 * caller's (signet_psl_free). */
SIGNET_API SIGNET_MUST_USE enum signet_status signet_psl_new(const struct psl_ctx_st *ctx,
							     bool owned, struct signet_psl **out,
							     struct signet_error *err);

/* True when domain (len bytes, no NUL needed; U-labels or A-labels, any
 * case, one final dot ignored) is exactly a public suffix by the ICANN
 * rules of the list: it matches a rule or a wildcard and no exception, or
 * it is a single label (the format's implicit "*" rule). Rules of the
 * PRIVATE section (github.io) do not count; rules outside both sections
 * (a local list without the markers) do. False for a registrable name or
 * anything below one, and for what is not a domain name (empty labels,
 * characters other than letters, digits, '-' and UTF-8, a name libidn2
 * refuses, a label over 63 octets as an A-label). */
SIGNET_API bool signet_psl_is_suffix(const struct signet_psl *psl, const char *domain, size_t len);

/* The same with every rule of the list, the PRIVATE section's too
 * (github.io, uk.com): the list's own test cases, and what an
 * organizational domain (RFC 7489 3.2) is computed from. */
SIGNET_API bool signet_psl_is_suffix_any(const struct signet_psl *psl, const char *domain,
					 size_t len);

/* DMARC-ORG-01 (RFC 7489 3.2): the organizational domain of domain (len
 * bytes, no NUL needed): its longest suffix that is a public suffix by
 * signet_psl_is_suffix_any (PRIVATE rules count, as the list's own test
 * cases have them: example.uk.com), plus one label. Wildcards and
 * exceptions are the list's: with "*.kawasaki.jp" and "!city.kawasaki.jp",
 * www.city.kawasaki.jp gives city.kawasaki.jp and a.b.x.kawasaki.jp gives
 * b.x.kawasaki.jp.
 * Allocates nothing: the answer is a pointer into domain, and the
 * organizational domain is the bytes from it to domain + len (so a
 * NUL-terminated domain gives a NUL-terminated answer), borrowed for as
 * long as domain is. Matching ignores case and one final dot; the answer
 * keeps both as domain has them ("Mail.Example.CO.UK." gives
 * "Example.CO.UK."), so compare answers without regard to case.
 * - domain itself when it is a public suffix ("co.uk"), and so for a
 *   single label ("com", an unlisted "example": the implicit "*" rule);
 * - NULL when psl or domain is NULL (no list: no answer; RFC 9989's DNS
 *   tree walk needs none, see dmarc.h);
 * - domain is not checked for being a name: a label that is no name
 *   matches no rule, so the answer may contain it (".com" gives ".com"),
 *   and when no suffix matches at all (the last label is no name,
 *   "example.c_m") the answer is the last label. */
SIGNET_API const char *signet_psl_org_domain(const struct signet_psl *psl, const char *domain,
					     size_t len);

/* The number of rules libpsl counted (exceptions not included); 0 when it
 * does not know (a list in DAFSA form, psl_builtin). */
SIGNET_API size_t signet_psl_rules(const struct signet_psl *psl);

/* signet_psl_free(NULL) is a no-op. */
SIGNET_API void signet_psl_free(struct signet_psl *psl);

#endif
