/* idna.c: A-labels for DKIM (idna.h): UTF-8 decoding with the usual
 * checks, then the Punycode encoder of RFC 3492 6.3. */
#include <string.h>

#include "error.h"
#include "idna.h"

/* RFC 3492 5: Bootstring parameters for Punycode. */
enum { BASE = 36, TMIN = 1, TMAX = 26, SKEW = 38, DAMP = 700, INITIAL_BIAS = 72, INITIAL_N = 128 };

#define LABEL_MAX_CP 64 /* code points per label: a label is at most 63 octets anyway */

bool idna_is_unicode(struct signet_span name)
{
	for (size_t k = 0; k < name.len; k++)
		if (name.p[k] >= 0x80)
			return true;
	return false;
}

/* One code point from UTF-8; 0 on a malformed sequence (RFC 3629 4). */
static size_t utf8_next(const uint8_t *p, size_t len, uint32_t *cp)
{
	uint8_t c = p[0];
	size_t n = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
	if (n == 0 || n > len)
		return 0;
	uint32_t v = n == 1 ? c : n == 2 ? (c & 0x1fu) : n == 3 ? (c & 0x0fu) : (c & 0x07u);
	for (size_t k = 1; k < n; k++) {
		if ((p[k] & 0xc0) != 0x80)
			return 0;
		v = (v << 6) | (p[k] & 0x3fu);
	}
	static const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
	if (v < min[n] || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0; /* overlong, too large, or a surrogate */
	*cp = v;
	return n;
}

static uint32_t adapt(uint32_t delta, uint32_t numpoints, bool first)
{
	delta = first ? delta / DAMP : delta / 2;
	delta += delta / numpoints;
	uint32_t k = 0;
	while (delta > ((BASE - TMIN) * TMAX) / 2) {
		delta /= BASE - TMIN;
		k += BASE;
	}
	return k + (BASE - TMIN + 1) * delta / (delta + SKEW);
}

static char digit(uint32_t d)
{
	return (char)(d < 26 ? 'a' + d : '0' + (d - 26));
}

static enum signet_status put(char *out, size_t cap, size_t *o, char c)
{
	if (*o + 1 >= cap)
		return SIGNET_ERR_LIMIT;
	out[(*o)++] = c;
	return SIGNET_OK;
}

/* RFC 3492 6.3 for one label's code points, after "xn--". */
static enum signet_status punycode(const uint32_t *cp, size_t n, char *out, size_t cap, size_t *o)
{
	uint32_t code = INITIAL_N, delta = 0, bias = INITIAL_BIAS, h = 0;
	for (size_t k = 0; k < n; k++)
		if (cp[k] < 0x80) {
			SIGNET_TRY(put(out, cap, o, (char)ascii_lower((uint8_t)cp[k])));
			h++;
		}
	uint32_t b = h;
	if (b > 0)
		SIGNET_TRY(put(out, cap, o, '-'));
	while (h < n) {
		uint32_t m = UINT32_MAX;
		for (size_t k = 0; k < n; k++)
			if (cp[k] >= code && cp[k] < m)
				m = cp[k];
		/* n <= LABEL_MAX_CP and m <= 0x10FFFF: no overflow below. */
		delta += (m - code) * (h + 1);
		code = m;
		for (size_t k = 0; k < n; k++) {
			if (cp[k] < code)
				delta++;
			if (cp[k] != code)
				continue;
			uint32_t q = delta;
			for (uint32_t t, kk = BASE;; kk += BASE) {
				t = kk <= bias ? TMIN : kk >= bias + TMAX ? TMAX : kk - bias;
				if (q < t)
					break;
				SIGNET_TRY(put(out, cap, o, digit(t + (q - t) % (BASE - t))));
				q = (q - t) / (BASE - t);
			}
			SIGNET_TRY(put(out, cap, o, digit(q)));
			bias = adapt(delta, h + 1, h == b);
			delta = 0;
			h++;
		}
		delta++;
		code++;
	}
	return SIGNET_OK;
}

static enum signet_status label(struct signet_span l, char *out, size_t cap, size_t *o,
				struct signet_error *err)
{
	if (!idna_is_unicode(l)) {
		for (size_t k = 0; k < l.len; k++)
			if (put(out, cap, o, (char)l.p[k]) != SIGNET_OK)
				return error_set(err, SIGNET_ERR_LIMIT, NULL, "domain name too long");
		return SIGNET_OK;
	}
	uint32_t cp[LABEL_MAX_CP];
	size_t n = 0;
	for (size_t k = 0; k < l.len;) {
		size_t used = utf8_next(l.p + k, l.len - k, &cp[n]);
		if (used == 0)
			return error_set(err, SIGNET_ERR_SYNTAX, "RFC 8616 5", "domain is not valid UTF-8");
		if (++n == LABEL_MAX_CP)
			return error_set(err, SIGNET_ERR_LIMIT, NULL, "domain label too long");
		k += used;
	}
	if (put(out, cap, o, 'x') || put(out, cap, o, 'n') || put(out, cap, o, '-') ||
	    put(out, cap, o, '-') || punycode(cp, n, out, cap, o) != SIGNET_OK)
		return error_set(err, SIGNET_ERR_LIMIT, NULL, "domain name too long");
	return SIGNET_OK;
}

enum signet_status idna_to_ascii(struct signet_span name, char *out, size_t cap,
				 struct signet_error *err)
{
	size_t o = 0, start = 0;
	if (cap == 0)
		return error_set(err, SIGNET_ERR_LIMIT, NULL, "no room for the domain name");
	for (size_t k = 0; k <= name.len; k++) {
		if (k < name.len && name.p[k] != '.')
			continue;
		struct signet_span l = {name.p + start, k - start};
		SIGNET_TRY(label(l, out, cap, &o, err));
		if (k < name.len && put(out, cap, &o, '.') != SIGNET_OK)
			return error_set(err, SIGNET_ERR_LIMIT, NULL, "domain name too long");
		start = k + 1;
	}
	out[o] = '\0';
	return SIGNET_OK;
}
