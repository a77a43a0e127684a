/* json.c: writes a JSON string literal (RFC 8259 7) for bytes that came
 * from a message: valid UTF-8 passes through, quotes, backslashes and
 * control bytes are escaped, and bytes that are not UTF-8 become U+FFFD
 * so the output is always valid JSON. */
#include <string.h>

#include "cli.h"

/* Length of the valid UTF-8 sequence at s (RFC 3629 4), 0 if invalid or
 * if it would run past avail bytes. */
static size_t utf8_len(const unsigned char *s, size_t avail)
{
	unsigned char c = s[0];
	size_t need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;

	if (avail < need)
		return 0;
	if (c >= 0xc2 && c <= 0xdf)
		return (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		unsigned char lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;

		return s[1] >= lo && s[1] <= hi && (s[2] & 0xc0) == 0x80 ? 3 : 0;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		unsigned char lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;

		return s[1] >= lo && s[1] <= hi && (s[2] & 0xc0) == 0x80 && (s[3] & 0xc0) == 0x80
			       ? 4
			       : 0;
	}
	return 0;
}

void json_bytes(FILE *f, const uint8_t *p, size_t len)
{
	const unsigned char *s = p, *end = p + len;

	fputc('"', f);
	while (s < end) {
		size_t n;

		if (*s == '"' || *s == '\\') {
			fprintf(f, "\\%c", *s++);
		} else if (*s < 0x20 || *s == 0x7f) {
			fprintf(f, "\\u%04x", *s++);
		} else if (*s < 0x80) {
			fputc(*s++, f);
		} else if ((n = utf8_len(s, (size_t)(end - s))) > 0) {
			fwrite(s, 1, n, f);
			s += n;
		} else {
			fputs("\\ufffd", f);
			s++;
		}
	}
	fputc('"', f);
}

void json_string(FILE *f, const char *str)
{
	json_bytes(f, (const uint8_t *)str, strlen(str));
}
