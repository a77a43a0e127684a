/* dnsname.c: the one check that a text is a usable DNS name (dnsname.h).
 * It says why not; the callers (config, CLI, signature parser) only render
 * that. No IDNA here: idna.c converts, this file only looks. */
#include "dnsname.h"

static bool is_ldh(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_';
}

/* One label p[start..end): empty, too long (ASCII only) or a bad octet. */
static enum dnsname_problem label(const uint8_t *p, size_t start, size_t end, unsigned flags,
				  size_t *at)
{
	bool ascii = true;
	*at = start;
	if (start == end)
		return DNSNAME_EMPTY_LABEL;
	for (size_t k = start; k < end; k++) {
		*at = k;
		if (p[k] >= 0x80 && !(flags & DNSNAME_UTF8))
			return DNSNAME_NOT_ASCII;
		if (p[k] < 0x80 && !is_ldh(p[k]))
			return DNSNAME_BAD_CHAR;
		ascii = ascii && p[k] < 0x80;
	}
	*at = start;
	return ascii && end - start > DNSNAME_MAX_LABEL ? DNSNAME_LABEL_TOO_LONG : DNSNAME_OK;
}

enum dnsname_problem dnsname_check(const uint8_t *p, size_t len, unsigned flags, size_t *at)
{
	size_t where = 0, start = 0;
	enum dnsname_problem pr = DNSNAME_OK;
	if (len == 0)
		pr = DNSNAME_EMPTY;
	for (size_t k = 0; pr == DNSNAME_OK && k <= len; k++)
		if (k == len || p[k] == '.') {
			pr = label(p, start, k, flags, &where);
			start = k + 1;
		}
	if (pr == DNSNAME_OK && len > DNSNAME_MAX) {
		pr = DNSNAME_TOO_LONG;
		where = DNSNAME_MAX;
	}
	if (at != NULL)
		*at = where;
	return pr;
}

const char *dnsname_reason(enum dnsname_problem pr)
{
	switch (pr) {
	case DNSNAME_OK: return "";
	case DNSNAME_EMPTY: return "is empty";
	case DNSNAME_TOO_LONG: return "is longer than 253 octets (RFC 1035 2.3.4)";
	case DNSNAME_EMPTY_LABEL: return "has an empty label (a leading, trailing or double dot)";
	case DNSNAME_LABEL_TOO_LONG: return "has a label longer than 63 octets (RFC 1035 2.3.4)";
	case DNSNAME_BAD_CHAR:
		return "contains a character other than letters, digits, '-', '_' and '.'";
	case DNSNAME_NOT_ASCII: return "is not ASCII; give the A-label form (xn--...)";
	}
	return "is not a DNS name";
}
