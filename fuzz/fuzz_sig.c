/* fuzz_sig.c: the DKIM-Signature parser (lib/sig.c, RFC 6376 3.5). Checks
 * the parsed fields stay inside the input and within their bounds. Does
 * not verify anything. */
#include "fuzz.h"
#include "sig.h"

static void inside(struct signet_span s, const uint8_t *p, size_t n)
{
	FUZZ_CHECK(s.len == 0 || (s.p >= p && s.len <= n && (size_t)(s.p - p) <= n - s.len));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *p = malloc(size ? size : 1);
	FUZZ_CHECK(p != NULL);
	if (size > 0)
		memcpy(p, data, size);
	static struct dkim_sig s;
	memset(&s, 0, sizeof s);
	struct signet_error err = {0};
	enum signet_status st = sig_parse(p, size, &s, &err);
	FUZZ_CHECK(err.msg[sizeof err.msg - 1] == '\0');
	if (st != SIGNET_OK) {
		FUZZ_CHECK(err.msg[0] != '\0'); /* a permerror always has a reason */
	} else {
		FUZZ_CHECK(s.alg != SIGNET_ALG_UNKNOWN);
		FUZZ_CHECK(s.nh >= 1 && s.nh <= SIGNET_MAX_H_NAMES);
		FUZZ_CHECK(s.bh_len <= sizeof s.bh && s.b_len <= sizeof s.b);
		FUZZ_CHECK(s.d.len > 0 && s.s.len > 0);
		inside(s.a, p, size), inside(s.d, p, size), inside(s.s, p, size);
		inside(s.i, p, size), inside(s.h, p, size), inside(s.q, p, size);
		inside(s.z, p, size), inside(s.auid_domain, p, size), inside(s.b_raw, p, size);
		for (size_t k = 0; k < s.nh; k++)
			inside(s.hnames[k], p, size);
		if (s.has_t && s.has_x)
			FUZZ_CHECK(s.x > s.t); /* "x= is not after t=" is refused */
	}
	free(p);
	return 0;
}
