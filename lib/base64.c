/* base64.c: RFC 4648 base64 for b=, bh= and p= (RFC 6376 2.4). Decoding
 * skips FWS bytes (SP, HTAB, CR, LF) anywhere and rejects everything else
 * that is not strict base64. It does not check that the unused low bits of
 * the last group are zero (nor do OpenSSL or dkimpy). */
#include "base64.h"
#include "error.h"

#define SPEC_B64 "RFC 6376 2.4"

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* The 6-bit value of c, or -1. */
static int sextet(uint8_t c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

static bool is_fws_byte(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static enum signet_status put(uint8_t *out, size_t cap, size_t *n, uint8_t b,
			      struct signet_error *err)
{
	if (*n >= cap)
		return error_set(err, SIGNET_ERR_LIMIT, SPEC_B64,
				 "decoded base64 is longer than %zu bytes", cap);
	out[(*n)++] = b;
	return SIGNET_OK;
}

enum signet_status base64_decode(struct signet_span in, uint8_t *out, size_t cap, size_t *outlen,
				 struct signet_error *err)
{
	uint32_t acc = 0;
	size_t nchars = 0, npad = 0, n = 0;
	*outlen = 0;
	for (size_t k = 0; k < in.len; k++) {
		uint8_t c = in.p[k];
		if (is_fws_byte(c))
			continue;
		if (c == '=') {
			/* Padding only ends a group of 2 or 3 characters. */
			if (++npad > 2 || (nchars % 4) + npad > 4 || nchars % 4 < 2)
				return error_set(err, SIGNET_ERR_SYNTAX, SPEC_B64,
						 "misplaced base64 padding at offset %zu", k);
			continue;
		}
		int v = sextet(c);
		if (v < 0)
			return error_set(err, SIGNET_ERR_SYNTAX, SPEC_B64,
					 "invalid base64 character 0x%02x at offset %zu", c, k);
		if (npad > 0)
			return error_set(err, SIGNET_ERR_SYNTAX, SPEC_B64,
					 "base64 data after padding at offset %zu", k);
		acc = (acc << 6) | (uint32_t)v;
		nchars++;
		if (nchars % 4 == 0) {
			SIGNET_TRY(put(out, cap, &n, (uint8_t)(acc >> 16), err));
			SIGNET_TRY(put(out, cap, &n, (uint8_t)(acc >> 8), err));
			SIGNET_TRY(put(out, cap, &n, (uint8_t)acc, err));
			acc = 0;
		}
	}
	size_t rest = nchars % 4;
	if ((rest + npad) % 4 != 0)
		return error_set(err, SIGNET_ERR_SYNTAX, SPEC_B64,
				 "base64 length is not a multiple of 4");
	if (rest == 2) {
		SIGNET_TRY(put(out, cap, &n, (uint8_t)(acc >> 4), err));
	} else if (rest == 3) {
		SIGNET_TRY(put(out, cap, &n, (uint8_t)(acc >> 10), err));
		SIGNET_TRY(put(out, cap, &n, (uint8_t)(acc >> 2), err));
	}
	*outlen = n;
	return SIGNET_OK;
}

/* Writes the 4 characters for 1..3 input bytes. */
static void quantum(const uint8_t *p, size_t n, char q[4])
{
	uint32_t v = (uint32_t)p[0] << 16;
	if (n > 1)
		v |= (uint32_t)p[1] << 8;
	if (n > 2)
		v |= p[2];
	q[0] = alphabet[(v >> 18) & 63];
	q[1] = alphabet[(v >> 12) & 63];
	q[2] = n > 1 ? alphabet[(v >> 6) & 63] : '=';
	q[3] = n > 2 ? alphabet[v & 63] : '=';
}

/* 4 * ceil(n / 3), or SIZE_MAX on overflow. */
static size_t encoded_len(size_t n)
{
	size_t groups = n / 3 + (n % 3 != 0);
	return groups > SIZE_MAX / 4 ? SIZE_MAX : groups * 4;
}

enum signet_status base64_encode(const uint8_t *p, size_t n, struct signet_buf *out)
{
	size_t need = encoded_len(n);
	if (need == SIZE_MAX || need > out->max || out->len > out->max - need)
		return SIGNET_ERR_LIMIT;
	for (size_t k = 0; k < n; k += 3) {
		char q[4];
		quantum(p + k, n - k < 3 ? n - k : 3, q);
		SIGNET_TRY(buf_append(out, q, sizeof q));
	}
	return SIGNET_OK;
}

enum signet_status base64_encode_str(const uint8_t *p, size_t n, char *out, size_t cap)
{
	size_t need = encoded_len(n);
	if (need == SIZE_MAX || cap == 0 || need > cap - 1)
		return SIGNET_ERR_LIMIT;
	size_t w = 0;
	for (size_t k = 0; k < n; k += 3) {
		quantum(p + k, n - k < 3 ? n - k : 3, out + w);
		w += 4;
	}
	out[w] = '\0';
	return SIGNET_OK;
}
