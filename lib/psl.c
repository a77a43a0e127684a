/* psl.c: the Public Suffix List (psl.h) for DKIM-VER-17 and the
 * organizational domain (DMARC-ORG-01) on top of libpsl. The front end
 * loads the list; this file puts a domain into the form libpsl expects
 * (lower-case A-labels, no final dot; libpsl itself does neither) and asks
 * which section's rules match. No file I/O. */
#include <libpsl.h>
#include <stdlib.h>
#include <string.h>

#include <signet/psl.h>

#include "buf.h"
#include "error.h"
#include "idna.h"

#define PSL_SPEC "publicsuffix.org/list"

struct signet_psl {
	const psl_ctx_t *ctx;
	bool owned; /* psl_free(ctx) in signet_psl_free */
};

static void ctx_free(const psl_ctx_t *ctx, bool owned)
{
	if (owned)
		psl_free((psl_ctx_t *)ctx); /* ours to free: libpsl's API is not const */
}

enum signet_status signet_psl_new(const struct psl_ctx_st *ctx, bool owned, struct signet_psl **out,
				  struct signet_error *err)
{
	if (out == NULL || ctx == NULL) {
		ctx_free(ctx, owned);
		return error_set(err, SIGNET_ERR_INVAL, NULL, "signet_psl_new: NULL argument");
	}
	*out = NULL;
	/* libpsl skips what it cannot read and gives a context even for an
	 * empty file; -1 means "not counted" (DAFSA), not "empty". */
	if (psl_suffix_count(ctx) == 0) {
		ctx_free(ctx, owned);
		return error_set(err, SIGNET_ERR_SYNTAX, PSL_SPEC,
				 "no rules: this is not a public suffix list");
	}
	struct signet_psl *psl = calloc(1, sizeof *psl);
	if (psl == NULL) {
		ctx_free(ctx, owned);
		return error_set(err, SIGNET_ERR_NOMEM, NULL, "out of memory");
	}
	psl->ctx = ctx;
	psl->owned = owned;
	*out = psl;
	return SIGNET_OK;
}

/* Letters, digits, '-' and UTF-8 octets (checked by idna_to_ascii) in
 * non-empty dot-separated labels: libpsl answers for any string, and
 * ".com" or "co..uk" must not be public suffixes. */
static bool name_chars_ok(struct signet_span s)
{
	if (s.len == 0 || s.p[0] == '.' || s.p[s.len - 1] == '.')
		return false;
	for (size_t k = 0; k < s.len; k++) {
		uint8_t c = s.p[k];
		bool ldh = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			   (c >= '0' && c <= '9') || c == '-' || c >= 0x80;
		if (c == '.' ? s.p[k - 1] == '.' : !ldh)
			return false;
	}
	return true;
}

/* The A-label form of s in lower case into out; false if it is no name
 * (a label over IDNA_MAX_LABEL octets; idna_to_ascii checks U-labels and
 * whole names, and libpsl 0.21 never matches a rule of 127 octets or more). */
static bool lookup_form(struct signet_span s, char *out, size_t cap)
{
	struct signet_error ierr = {0};
	if (!name_chars_ok(s) || idna_to_ascii(s, out, cap, &ierr) != SIGNET_OK)
		return false;
	size_t label = 0;
	for (size_t k = 0; out[k] != '\0'; k++) {
		out[k] = (char)ascii_lower((uint8_t)out[k]);
		label = out[k] == '.' ? 0 : label + 1;
		if (label > IDNA_MAX_LABEL)
			return false;
	}
	return true;
}

/* Which rules count. The ICANN section holds TLDs and the names their
 * registries hand out below them (co.uk, *.ck): nobody can own such a
 * name, so a signature by it is the "implausible signing domain" of RFC
 * 6376 6.1.1. The PRIVATE section holds names that one company runs for
 * its customers (github.io): that company may sign with them. A rule
 * outside both sections matches PSL_TYPE_ANY only, and counts. */
static bool is_suffix(const struct signet_psl *psl, const char *domain, size_t len,
		      bool with_private)
{
	if (psl == NULL || domain == NULL)
		return false;
	if (len > 0 && domain[len - 1] == '.')
		len--; /* the root label */
	char a[IDNA_MAX_NAME];
	if (!lookup_form((struct signet_span){(const uint8_t *)domain, len}, a, sizeof a))
		return false;
	/* PSL_TYPE_ANY first: a registrable d=, the usual answer, takes one lookup. */
	if (!psl_is_public_suffix2(psl->ctx, a, PSL_TYPE_ANY))
		return false;
	if (with_private || psl_is_public_suffix2(psl->ctx, a, PSL_TYPE_ICANN))
		return true;
	return !psl_is_public_suffix2(psl->ctx, a, PSL_TYPE_PRIVATE);
}

bool signet_psl_is_suffix(const struct signet_psl *psl, const char *domain, size_t len)
{
	return is_suffix(psl, domain, len, false);
}

bool signet_psl_is_suffix_any(const struct signet_psl *psl, const char *domain, size_t len)
{
	return is_suffix(psl, domain, len, true);
}

/* DMARC-ORG-01 (RFC 7489 3.2): from the whole name down, the first suffix
 * that is a public suffix is the longest; the name one label above it is
 * the answer. */
const char *signet_psl_org_domain(const struct signet_psl *psl, const char *domain, size_t len)
{
	if (psl == NULL || domain == NULL)
		return NULL;
	const char *end = domain + len, *org = domain, *s = domain;
	for (;;) {
		if (is_suffix(psl, s, (size_t)(end - s), true))
			return org;
		org = s;
		const char *dot = memchr(s, '.', (size_t)(end - s));
		if (dot == NULL)
			return org; /* no label matched: the last one */
		s = dot + 1;
	}
}

size_t signet_psl_rules(const struct signet_psl *psl)
{
	int n = psl != NULL ? psl_suffix_count(psl->ctx) : 0;
	return n > 0 ? (size_t)n : 0;
}

void signet_psl_free(struct signet_psl *psl)
{
	if (psl == NULL)
		return;
	ctx_free(psl->ctx, psl->owned);
	free(psl);
}
