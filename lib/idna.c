/* idna.c: A-labels and U-labels for DKIM (idna.h): UTF-8 decoding with the
 * usual checks, the Punycode encoder of RFC 3492 6.3 and its decoder (6.2). */
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

typedef enum signet_status (*label_fn)(struct signet_span l, char *out, size_t cap, size_t *o,
				      struct signet_error *err);

/* Converts name label by label with conv, keeping the dots. */
static enum signet_status each_label(struct signet_span name, label_fn conv, char *out, size_t cap,
				     struct signet_error *err)
{
	size_t o = 0, start = 0;
	if (cap == 0)
		return error_set(err, SIGNET_ERR_LIMIT, NULL, "no room for the domain name");
	for (size_t k = 0; k <= name.len; k++) {
		if (k < name.len && name.p[k] != '.')
			continue;
		struct signet_span l = {name.p + start, k - start};
		SIGNET_TRY(conv(l, out, cap, &o, err));
		if (k < name.len && put(out, cap, &o, '.') != SIGNET_OK)
			return error_set(err, SIGNET_ERR_LIMIT, NULL, "domain name too long");
		start = k + 1;
	}
	out[o] = '\0';
	return SIGNET_OK;
}

enum signet_status idna_to_ascii(struct signet_span name, char *out, size_t cap,
				 struct signet_error *err)
{
	return each_label(name, label, out, cap, err);
}

bool idna_has_utf8(struct signet_span s)
{
	bool wide = false;
	for (size_t k = 0; k < s.len;) {
		uint32_t cp;
		size_t used = utf8_next(s.p + k, s.len - k, &cp);
		if (used == 0)
			return false;
		wide |= used > 1;
		k += used;
	}
	return wide;
}

static enum signet_status put_utf8(char *out, size_t cap, size_t *o, uint32_t cp)
{
	uint8_t b[4];
	size_t n = 0;
	if (cp < 0x80) {
		b[n++] = (uint8_t)cp;
	} else if (cp < 0x800) {
		b[n++] = (uint8_t)(0xc0 | cp >> 6);
		b[n++] = (uint8_t)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		b[n++] = (uint8_t)(0xe0 | cp >> 12);
		b[n++] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
		b[n++] = (uint8_t)(0x80 | (cp & 0x3f));
	} else {
		b[n++] = (uint8_t)(0xf0 | cp >> 18);
		b[n++] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
		b[n++] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
		b[n++] = (uint8_t)(0x80 | (cp & 0x3f));
	}
	for (size_t k = 0; k < n; k++)
		SIGNET_TRY(put(out, cap, o, (char)b[k]));
	return SIGNET_OK;
}

static int digit_value(uint8_t c)
{
	if (c >= 'a' && c <= 'z')
		return c - 'a';
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= '0' && c <= '9')
		return c - '0' + 26;
	return -1;
}

/* RFC 3492 6.2: the code points of one label's Punycode (after "xn--").
 * False on bad input, an overflow, or more than LABEL_MAX_CP code points. */
static bool punydecode(struct signet_span in, uint32_t *cp, size_t *ncp)
{
	size_t n = 0, b = 0, pos = 0;
	for (size_t k = 0; k < in.len; k++)
		if (in.p[k] == '-')
			b = k; /* the last delimiter */
	if (b > 0) { /* no basic code points: a leading '-' is no delimiter */
		for (size_t k = 0; k < b; k++) {
			if (in.p[k] >= 0x80 || n == LABEL_MAX_CP)
				return false;
			cp[n++] = ascii_lower(in.p[k]); /* A-labels are case-insensitive */
		}
		pos = b + 1;
	}
	uint32_t code = INITIAL_N, bias = INITIAL_BIAS;
	uint64_t i = 0;
	while (pos < in.len) {
		uint64_t oldi = i, w = 1;
		for (uint32_t k = BASE;; k += BASE) {
			if (pos == in.len)
				return false;
			int d = digit_value(in.p[pos++]);
			if (d < 0)
				return false;
			i += (uint64_t)d * w;
			uint32_t t = k <= bias ? TMIN : k >= bias + TMAX ? TMAX : k - bias;
			if ((uint32_t)d < t)
				break;
			w *= BASE - t;
			if (i > 0x7fffffffu || w > 0x7fffffffu) /* RFC 3492 6.4: overflow */
				return false;
		}
		if (i > 0x7fffffffu || n == LABEL_MAX_CP)
			return false;
		bias = adapt((uint32_t)(i - oldi), (uint32_t)n + 1, oldi == 0);
		uint64_t next = code + i / (n + 1);
		if (next > 0x10ffff)
			return false;
		code = (uint32_t)next;
		i %= n + 1;
		if (code < 0x80 || (code >= 0xd800 && code <= 0xdfff))
			return false; /* a basic code point or a surrogate: not from the encoder */
		memmove(cp + i + 1, cp + i, (n - (size_t)i) * sizeof *cp);
		cp[i++] = code;
		n++;
	}
	*ncp = n;
	return true;
}

/* One label to UTF-8: an "xn--" label is decoded, and must encode back to
 * itself (ASCII case aside), so no two A-labels give one U-label. */
static enum signet_status ulabel(struct signet_span l, char *out, size_t cap, size_t *o,
				 struct signet_error *err)
{
	bool ace = l.len >= 4 && ascii_lower(l.p[0]) == 'x' && ascii_lower(l.p[1]) == 'n' &&
		   l.p[2] == '-' && l.p[3] == '-';
	if (!ace) {
		for (size_t k = 0; k < l.len; k++)
			if (put(out, cap, o, (char)l.p[k]) != SIGNET_OK)
				return error_set(err, SIGNET_ERR_LIMIT, NULL, "domain name too long");
		return SIGNET_OK;
	}
	uint32_t cp[LABEL_MAX_CP];
	size_t n = 0, e = 0;
	char again[IDNA_MAX_NAME];
	struct signet_span puny = {l.p + 4, l.len - 4};
	bool ok = punydecode(puny, cp, &n);
	bool wide = false;
	for (size_t k = 0; ok && k < n; k++)
		wide |= cp[k] >= 0x80;
	ok = ok && wide && punycode(cp, n, again, sizeof again, &e) == SIGNET_OK && e == puny.len;
	for (size_t k = 0; ok && k < e; k++)
		ok = ascii_lower((uint8_t)again[k]) == ascii_lower(puny.p[k]);
	if (!ok)
		return error_set(err, SIGNET_ERR_SYNTAX, "RFC 5890 2.3.2.1",
				 "'%.*s' is not a valid A-label", (int)(l.len < 64 ? l.len : 64),
				 (const char *)l.p);
	for (size_t k = 0; k < n; k++)
		if (put_utf8(out, cap, o, cp[k]) != SIGNET_OK)
			return error_set(err, SIGNET_ERR_LIMIT, NULL, "domain too long");
	return SIGNET_OK;
}

enum signet_status idna_to_unicode(struct signet_span name, char *out, size_t cap,
				   struct signet_error *err)
{
	return each_label(name, ulabel, out, cap, err);
}
