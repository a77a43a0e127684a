/* idna.c: A-labels and U-labels for DKIM (idna.h). The IDNA work (UTS #46
 * mapping, IDNA2008 validation, Punycode) is libidn2's; this file adapts
 * spans and capped buffers to it, checks UTF-8 and DNS lengths, and turns
 * libidn2's return codes into signet errors. */
#include <idn2.h>
#include <string.h>

#include "error.h"
#include "idna.h"

/* IDN2_NONTRANSITIONAL: UTS #46 mapping with IDNA2008's own results for
 * the four "deviation" characters: "faß.de" is xn--fa-hia.de, the name its
 * registry holds. IDN2_TRANSITIONAL (IDNA2003's answer) would look up
 * "fass.de", somebody else's domain. libidn2 2.3 does this without the
 * flag too; naming it keeps which name we query out of libidn2's defaults.
 * No IDN2_NFC_INPUT: UTS #46 processing (section 4, step 2) normalizes to
 * NFC already, so a name written decomposed ("u" + U+0308, as some mail
 * clients send it) is the precomposed one without a second pass (the test
 * IDNA_uts46_mapping checks it).
 * Not IDN2_USE_STD3_ASCII_RULES: libidn2 then drops '_' from ASCII labels,
 * and underscores are legal DNS labels; the callers check LDH syntax. */
#define IDNA_FLAGS IDN2_NONTRANSITIONAL
#define IDNA_SPEC "RFC 5891 5"

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
	size_t n = c < 0x80             ? 1
		   : (c & 0xe0) == 0xc0 ? 2
		   : (c & 0xf0) == 0xe0 ? 3
		   : (c & 0xf8) == 0xf0 ? 4
					: 0;
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

static bool utf8_valid(struct signet_span s, bool *wide)
{
	*wide = false;
	for (size_t k = 0; k < s.len;) {
		uint32_t cp;
		size_t used = utf8_next(s.p + k, s.len - k, &cp);
		if (used == 0)
			return false;
		*wide |= used > 1;
		k += used;
	}
	return true;
}

bool idna_has_utf8(struct signet_span s)
{
	bool wide;
	return utf8_valid(s, &wide) && wide;
}

/* Appends n bytes to out (room kept for the NUL). */
static enum signet_status put(char *out, size_t cap, size_t *o, const void *p, size_t n,
			      struct signet_error *err)
{
	if (n >= cap - *o)
		return error_set(err, SIGNET_ERR_LIMIT, NULL, "no room for the domain name");
	memcpy(out + *o, p, n);
	*o += n;
	out[*o] = '\0';
	return SIGNET_OK;
}

/* libidn2's refusal of a name as a signet error. Its length checks are
 * RFC 1035 2.3.4's (IDNA_MAX_LABEL, IDNA_MAX_DNS_NAME); they are named here
 * in our terms, as "longer than 255 characters" misleads for 254. */
static enum signet_status idn2_error(int rc, const char *name, size_t len, struct signet_error *err)
{
	const int shown = (int)(len < 64 ? len : 64);
	if (rc == IDN2_TOO_BIG_DOMAIN)
		return error_set(err, SIGNET_ERR_LIMIT, "RFC 1035 2.3.4",
				 "'%.*s': the A-label form is longer than IDNA_MAX_DNS_NAME (%d) "
				 "octets",
				 shown, name, IDNA_MAX_DNS_NAME);
	if (rc == IDN2_TOO_BIG_LABEL || rc == IDN2_PUNYCODE_BIG_OUTPUT)
		return error_set(err, SIGNET_ERR_LIMIT, "RFC 1035 2.3.4",
				 "'%.*s': a label of the A-label form is longer than "
				 "IDNA_MAX_LABEL (%d) octets",
				 shown, name, IDNA_MAX_LABEL);
	return error_set(err, rc == IDN2_MALLOC ? SIGNET_ERR_NOMEM : SIGNET_ERR_SYNTAX, IDNA_SPEC,
			 "'%.*s' is not a valid internationalized domain name: %s", shown, name,
			 idn2_strerror(rc));
}

/* name as a C string in tmp (IDNA_MAX_NAME bytes): no NUL inside, room. */
static enum signet_status c_string(struct signet_span name, char *tmp, struct signet_error *err)
{
	if (name.len >= IDNA_MAX_NAME)
		return error_set(err, SIGNET_ERR_LIMIT, NULL,
				 "domain name longer than IDNA_MAX_NAME (%d) bytes", IDNA_MAX_NAME);
	if (memchr(name.p, '\0', name.len) != NULL)
		return error_set(err, SIGNET_ERR_SYNTAX, IDNA_SPEC, "NUL in a domain name");
	memcpy(tmp, name.p, name.len);
	tmp[name.len] = '\0';
	return SIGNET_OK;
}

static bool is_ace(struct signet_span l)
{
	return l.len >= 4 && ascii_lower(l.p[0]) == 'x' && ascii_lower(l.p[1]) == 'n' &&
	       l.p[2] == '-' && l.p[3] == '-';
}

/* RFC 5891 5.4 for one "xn--" label: decode, encode again (IDNA2008
 * rules), compare. True with *u set (the caller idn2_free()s it) when the
 * label is the A-label of a non-ASCII U-label; else *why says why not. */
static bool alabel_decode(const char *a, char **u, const char **why)
{
	char *back = NULL;
	*u = NULL;
	int rc = idn2_to_unicode_8z8z(a, u, 0);
	if (rc == IDN2_OK)
		rc = idn2_to_ascii_8z(*u, &back, IDNA_FLAGS);
	bool ok = rc == IDN2_OK && idna_is_unicode(span_from_str(*u)) && strcmp(back, a) == 0;
	*why = rc != IDN2_OK ? idn2_strerror(rc) : "it is not the A-label of what it decodes to";
	idn2_free(back);
	if (!ok) {
		idn2_free(*u);
		*u = NULL;
	}
	return ok;
}

/* UTS #46 4.1 step 4: a label that is "xn--" after mapping must be a valid
 * A-label. libidn2 maps first ("xn-\u00ad-mba": the soft hyphen is mapped
 * away) and does not check what the mapping made (found by fuzz_idna). */
static enum signet_status alabels_valid(const char *a, struct signet_error *err)
{
	for (const char *l = a; *l != '\0';) {
		size_t len = strcspn(l, ".");
		struct signet_span label = {(const uint8_t *)l, len};
		char one[IDNA_MAX_LABEL + 1], *u;
		const char *why = "a label is at most IDNA_MAX_LABEL (63) octets";
		if (is_ace(label)) {
			if (len > IDNA_MAX_LABEL)
				return error_set(err, SIGNET_ERR_SYNTAX, "RFC 5890 2.3.2.1",
						 "'%.64s' is not a valid A-label: %s", l, why);
			memcpy(one, l, len);
			one[len] = '\0';
			if (!alabel_decode(one, &u, &why))
				return error_set(err, SIGNET_ERR_SYNTAX, "RFC 5890 2.3.2.1",
						 "'%s' is not a valid A-label: %s", one, why);
			idn2_free(u);
		}
		l += len + (l[len] == '.');
	}
	return SIGNET_OK;
}

enum signet_status idna_to_ascii(struct signet_span name, char *out, size_t cap,
				 struct signet_error *err)
{
	size_t o = 0;
	if (cap == 0)
		return error_set(err, SIGNET_ERR_LIMIT, NULL, "no room for the domain name");
	out[0] = '\0';
	/* fuzz_idna: a NUL copied as written would cut the C string the
	 * caller builds a query name from. */
	if (memchr(name.p, '\0', name.len) != NULL)
		return error_set(err, SIGNET_ERR_SYNTAX, IDNA_SPEC, "NUL in a domain name");
	if (!idna_is_unicode(name))
		return put(out, cap, &o, name.p, name.len, err);
	bool wide;
	char tmp[IDNA_MAX_NAME];
	if (!utf8_valid(name, &wide))
		return error_set(err, SIGNET_ERR_SYNTAX, "RFC 8616 5", "domain is not valid UTF-8");
	SIGNET_TRY(c_string(name, tmp, err));
	char *a = NULL;
	int rc = idn2_to_ascii_8z(tmp, &a, IDNA_FLAGS);
	if (rc != IDN2_OK)
		return idn2_error(rc, tmp, name.len, err);
	enum signet_status st = alabels_valid(a, err);
	if (st == SIGNET_OK)
		st = put(out, cap, &o, a, strlen(a), err);
	idn2_free(a);
	return st;
}

/* One label to UTF-8: an "xn--" label (matched and decoded in lower case)
 * is checked by alabel_decode, others are copied as written. */
static enum signet_status ulabel(struct signet_span l, char *out, size_t cap, size_t *o,
				 struct signet_error *err)
{
	if (!is_ace(l))
		return put(out, cap, o, l.p, l.len, err);
	char a[IDNA_MAX_NAME], *u;
	const char *why = "a label is at most IDNA_MAX_LABEL (63) octets";
	SIGNET_TRY(c_string(l, a, err));
	for (size_t k = 0; k < l.len; k++)
		a[k] = (char)ascii_lower((uint8_t)a[k]);
	if (l.len > IDNA_MAX_LABEL || !alabel_decode(a, &u, &why))
		return error_set(err, SIGNET_ERR_SYNTAX, "RFC 5890 2.3.2.1",
				 "'%.*s' is not a valid A-label: %s",
				 (int)(l.len < 64 ? l.len : 64), a, why);
	enum signet_status st = put(out, cap, o, u, strlen(u), err);
	idn2_free(u);
	return st;
}

enum signet_status idna_to_unicode(struct signet_span name, char *out, size_t cap,
				   struct signet_error *err)
{
	size_t o = 0, start = 0;
	if (cap == 0)
		return error_set(err, SIGNET_ERR_LIMIT, NULL, "no room for the domain name");
	out[0] = '\0';
	if (name.len >= IDNA_MAX_NAME)
		return error_set(err, SIGNET_ERR_LIMIT, NULL,
				 "domain name longer than IDNA_MAX_NAME (%d) bytes", IDNA_MAX_NAME);
	if (memchr(name.p, '\0', name.len) != NULL)
		return error_set(err, SIGNET_ERR_SYNTAX, IDNA_SPEC, "NUL in a domain name");
	for (size_t k = 0; k <= name.len; k++) {
		if (k < name.len && name.p[k] != '.')
			continue;
		SIGNET_TRY(
			ulabel((struct signet_span){name.p + start, k - start}, out, cap, &o, err));
		if (k < name.len)
			SIGNET_TRY(put(out, cap, &o, ".", 1, err));
		start = k + 1;
	}
	return SIGNET_OK;
}
