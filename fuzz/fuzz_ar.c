/* fuzz_ar.c: Authentication-Results (lib/ar.c). signet_ar_is_ours reads
 * forged fields an attacker puts in a message (RFC 8601 2.2 grammar:
 * CFWS, nested comments, quoted strings); signet_ar_format writes tag
 * values an attacker chose (d=, s=, i=, b=, reason text). Input: [id len]
 * authserv-id, then the field value; the value's bytes also fill a result. */
#include <signet/ar.h>

#include "fuzz.h"

/* reason[] is our text, bounded: the input cut to fit. */
static void fill(char *dst, size_t cap, const uint8_t *p, size_t n)
{
	size_t k = n < cap - 1 ? n : cap - 1;
	memcpy(dst, p, k);
	dst[k] = '\0';
}

/* A tag value: borrowed by the result, whole (as the verifier gives them). */
static const char *dup_n(char **pool, const uint8_t *p, size_t n)
{
	char *s = *pool;
	memcpy(s, p, n);
	s[n] = '\0';
	*pool += n + 1;
	return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t idlen = data[0] % 64;
	if (size - 1 < idlen)
		return 0;
	char id[64];
	memcpy(id, data + 1, idlen);
	id[idlen] = '\0';
	const uint8_t *v = data + 1 + idlen;
	size_t vlen = size - 1 - idlen;
	uint8_t *p = malloc(vlen ? vlen : 1); /* exact size: over-reads trap */
	FUZZ_CHECK(p != NULL);
	if (vlen > 0)
		memcpy(p, v, vlen);

	bool ours = signet_ar_is_ours(p, vlen, id);
	/* Case of the id never matters (AR-DEL-03). */
	char upper[64];
	for (size_t k = 0; k <= idlen; k++)
		upper[k] = (char)((id[k] >= 'a' && id[k] <= 'z') ? id[k] - 32 : id[k]);
	if (strlen(id) == idlen && signet_ar_authserv_id_valid(id))
		FUZZ_CHECK(signet_ar_is_ours(p, vlen, upper) == ours);

	if (signet_ar_authserv_id_valid(id)) {
		/* Our own output always counts as ours, whatever the tag values. */
		static struct signet_sig_result r[2];
		memset(r, 0, sizeof r);
		size_t third = vlen / 3;
		char *strings = malloc(3 * vlen + 5), *pool = strings;
		FUZZ_CHECK(strings != NULL);
		r[0].result = (enum signet_result)(1 + (vlen % 6));
		r[0].d = dup_n(&pool, p, third);
		r[0].s = dup_n(&pool, p + third, third);
		r[0].i = dup_n(&pool, p + 2 * third, vlen - 2 * third);
		r[0].b = dup_n(&pool, p, vlen);
		r[0].a = dup_n(&pool, p + third, third);
		if (r[0].result != SIGNET_RESULT_PASS)
			fill(r[0].reason, sizeof r[0].reason, p, vlen);
		r[1] = r[0]; /* same b=: header.b must be lengthened until unique */
		const struct signet_sig_result *rs[2] = {&r[0], &r[1]};
		static char out[32768];
		size_t len = 0;
		struct signet_error err = {0};
		enum signet_status st = signet_ar_format(id, rs, 2, out, sizeof out, &len, &err);
		FUZZ_CHECK(st == SIGNET_OK || st == SIGNET_ERR_LIMIT || st == SIGNET_ERR_INVAL);
		if (st == SIGNET_OK) {
			FUZZ_CHECK(len < sizeof out && out[len] == '\0' && strlen(out) == len);
			FUZZ_CHECK(signet_ar_is_ours((const uint8_t *)out, len, id));
			/* Folded lines only (RFC 5322 2.2.3: CRLF then WSP; a long
			 * reason folds before one of its own spaces): no bare CR or LF. */
			for (size_t k = 0; k < len; k++)
				if (out[k] == '\n')
					FUZZ_CHECK(k > 0 && out[k - 1] == '\r' && k + 1 < len &&
						   (out[k + 1] == '\t' || out[k + 1] == ' '));
				else if (out[k] == '\r')
					FUZZ_CHECK(k + 1 < len && out[k + 1] == '\n');
		}
		free(strings);
	}
	free(p);
	return 0;
}
