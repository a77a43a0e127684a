/* buf.c: capped growable buffer and span helpers (see buf.h). Every append
 * checks the cap and overflow before it grows; nothing is ever truncated. */
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>

#include "buf.h"

void buf_init(struct signet_buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
}

static enum signet_status buf_reserve(struct signet_buf *b, size_t need)
{
	if (need <= b->cap)
		return SIGNET_OK;
	size_t ncap = b->cap ? b->cap : 64;
	while (ncap < need) {
		if (ncap > SIZE_MAX / 2) {
			ncap = need;
			break;
		}
		ncap *= 2;
	}
	/* One byte more than max, so buf_terminate never fails at the cap
	 * (max + 1 would wrap to 0 for max == SIZE_MAX). */
	if (b->max < SIZE_MAX && ncap > b->max + 1)
		ncap = b->max + 1;
	uint8_t *p = realloc(b->data, ncap);
	if (p == NULL)
		return SIGNET_ERR_NOMEM;
	b->data = p;
	b->cap = ncap;
	return SIGNET_OK;
}

enum signet_status buf_append(struct signet_buf *b, const void *p, size_t n)
{
	if (n == 0)
		return SIGNET_OK;
	if (n > b->max || b->len > b->max - n)
		return SIGNET_ERR_LIMIT;
	enum signet_status st = buf_reserve(b, b->len + n);
	if (st != SIGNET_OK)
		return st;
	memcpy(b->data + b->len, p, n);
	b->len += n;
	return SIGNET_OK;
}

enum signet_status buf_append_str(struct signet_buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

enum signet_status buf_append_byte(struct signet_buf *b, uint8_t c)
{
	return buf_append(b, &c, 1);
}

enum signet_status buf_terminate(struct signet_buf *b)
{
	enum signet_status st = buf_reserve(b, b->len + 1);
	if (st != SIGNET_OK)
		return st;
	b->data[b->len] = '\0';
	return SIGNET_OK;
}

void buf_reset(struct signet_buf *b)
{
	b->len = 0;
}

void buf_free(struct signet_buf *b)
{
	if (b->data != NULL) {
		OPENSSL_cleanse(b->data, b->cap);
		free(b->data);
	}
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

struct signet_span span_from_str(const char *s)
{
	struct signet_span sp = {(const uint8_t *)s, strlen(s)};
	return sp;
}

bool span_eq_nocase(struct signet_span a, const char *s)
{
	/* No strlen first: most calls compare a field name against a list of
	 * names and differ in the first byte. */
	size_t k = 0;
	for (; k < a.len; k++)
		if (s[k] == '\0' || ascii_lower(a.p[k]) != ascii_lower((uint8_t)s[k]))
			return false;
	return s[k] == '\0';
}

bool span_eq_nocase_span(struct signet_span a, struct signet_span b)
{
	if (a.len != b.len)
		return false;
	for (size_t k = 0; k < a.len; k++)
		if (ascii_lower(a.p[k]) != ascii_lower(b.p[k]))
			return false;
	return true;
}

static bool is_fws_byte(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

struct signet_span span_trim_fws(struct signet_span s)
{
	while (s.len > 0 && is_fws_byte(s.p[0])) {
		s.p++;
		s.len--;
	}
	while (s.len > 0 && is_fws_byte(s.p[s.len - 1]))
		s.len--;
	return s;
}
