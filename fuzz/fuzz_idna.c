/* fuzz_idna.c: domain names through lib/idna.c (libidn2) and lib/psl.c
 * (libpsl's built-in list, so no file is read). Checks the error codes,
 * that output is NUL-terminated ASCII inside its buffer, that the A-label
 * form of a name with UTF-8 survives the trip to U-labels and back, and
 * that an ICANN suffix is a suffix of the whole list too. */
#include <libpsl.h>

#include <signet/psl.h>

#include "fuzz.h"
#include "idna.h"

static bool status_ok(enum signet_status st)
{
	return st == SIGNET_OK || st == SIGNET_ERR_SYNTAX || st == SIGNET_ERR_LIMIT;
}

static void check_alabel_form(const char *a, size_t cap)
{
	size_t n = strnlen(a, cap);
	FUZZ_CHECK(n < cap);
	for (size_t k = 0; k < n; k++)
		FUZZ_CHECK((uint8_t)a[k] < 0x80);
}

/* "xn--" in any case: an A-label, which idna_to_ascii passes on unchecked. */
static bool has_ace(const uint8_t *p, size_t n)
{
	for (size_t k = 0; k + 4 <= n; k++)
		if ((p[k] | 0x20) == 'x' && (p[k + 1] | 0x20) == 'n' && p[k + 2] == '-' &&
		    p[k + 3] == '-')
			return true;
	return false;
}

/* A name with UTF-8 that converts: its A-label form decodes, and the
 * U-labels convert back to the same A-label form (RFC 5891 5.4), unless
 * the input held an A-label of its own (not checked on the way in). */
static void round_trip(const char *a, const uint8_t *in, size_t n)
{
	char u[IDNA_MAX_NAME], again[IDNA_MAX_NAME];
	struct signet_error err = {0};
	enum signet_status st = idna_to_unicode(span_from_str(a), u, sizeof u, &err);
	if (st == SIGNET_ERR_SYNTAX && has_ace(in, n))
		return;
	FUZZ_CHECK(st == SIGNET_OK);
	st = idna_to_ascii(span_from_str(u), again, sizeof again, &err);
	FUZZ_CHECK(st == SIGNET_OK);
	FUZZ_CHECK(strcmp(a, again) == 0);
}

static void check_psl(const uint8_t *p, size_t size)
{
	static struct signet_psl *psl;
	if (psl == NULL) {
		struct signet_error err = {0};
		const psl_ctx_t *ctx = psl_builtin();
		if (ctx == NULL || signet_psl_new(ctx, false, &psl, &err) != SIGNET_OK)
			return;
	}
	bool icann = signet_psl_is_suffix(psl, (const char *)p, size);
	bool any = signet_psl_is_suffix_any(psl, (const char *)p, size);
	FUZZ_CHECK(!icann || any); /* every rule of the built-in list has a section */
	/* DMARC-ORG-01: a pointer into the input at the start of a label; the
	 * whole input when it is a public suffix itself. */
	const char *d = (const char *)p, *org = signet_psl_org_domain(psl, d, size);
	FUZZ_CHECK(org != NULL && org >= d && org <= d + size);
	FUZZ_CHECK(org == d || org[-1] == '.');
	FUZZ_CHECK(!any || org == d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* An exact-size copy: ASan then catches a read one byte past the end. */
	uint8_t *p = malloc(size ? size : 1);
	FUZZ_CHECK(p != NULL);
	if (size > 0)
		memcpy(p, data, size);
	struct signet_span s = {p, size};
	char a[IDNA_MAX_NAME], u[IDNA_MAX_NAME];
	struct signet_error err = {0};

	enum signet_status st = idna_to_ascii(s, a, sizeof a, &err);
	FUZZ_CHECK(status_ok(st));
	FUZZ_CHECK(err.msg[sizeof err.msg - 1] == '\0');
	if (st == SIGNET_OK) {
		check_alabel_form(a, sizeof a);
		if (idna_is_unicode(s))
			round_trip(a, p, size);
		else
			FUZZ_CHECK(strlen(a) == size && memcmp(a, p, size) == 0);
	}
	st = idna_to_unicode(s, u, sizeof u, &err);
	FUZZ_CHECK(status_ok(st));
	if (st == SIGNET_OK)
		FUZZ_CHECK(strnlen(u, sizeof u) < sizeof u);
	check_psl(p, size);
	free(p);
	return 0;
}
