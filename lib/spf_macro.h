/* spf_macro.h: SPF macros (RFC 7208 7): the syntax of macro-string and
 * domain-spec, and expansion. Internal to libsignet; no DNS here: the
 * evaluator (spf.c) looks %{p} up first and passes it in. */
#ifndef SIGNET_SPF_MACRO_H
#define SIGNET_SPF_MACRO_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

/* Expansions longer than this are an error (the record is at most
 * SIGNET_SPF_MAX_RECORD bytes; this bounds what its macros can make). */
#define SPF_MACRO_MAX 8192

/* The values of the macro letters (RFC 7208 7.3), NUL-terminated. p may be
 * NULL when not looked up yet (spf_macro_uses_p says whether it is needed). */
struct spf_macro_ctx {
	const char *s, *l, *o, *d, *i, *p, *v, *h; /* every macro-string */
	const char *c, *r, *t;                     /* exp= text only */
};

/* macro-string (7.1): %{letter digits r delimiters}, %%, %_, %-, and
 * visible ASCII otherwise; c, r, t only when exp. The reason on false. */
bool spf_macro_valid(struct signet_span s, bool exp, const char **why);

/* domain-spec = macro-string domain-end (7.1): ends in a macro-expand or in
 * "." toplabel ["."]. */
bool spf_macro_domain_spec_valid(struct signet_span s, const char **why);

/* Does s use %{p} (so the validated PTR name must be known first)? */
bool spf_macro_uses_p(struct signet_span s);

/* Expands s into out (NUL-terminated). False with *why when the result
 * would pass SPF_MACRO_MAX or s is not valid. */
bool spf_macro_expand(struct signet_span s, const struct spf_macro_ctx *ctx, bool exp,
		      char out[SPF_MACRO_MAX + 1], size_t *outlen, const char **why);

/* A domain-spec's expansion as a name to query (7.3): one trailing dot
 * removed, then leading labels dropped until it is at most 253 octets. */
void spf_macro_fit_domain(char *name, size_t *len);

#endif
