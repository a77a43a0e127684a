/* header_store.c: the header fields of one message, copied into one capped
 * buffer until end of headers (see header_store.h). No DKIM here: h=
 * selection is lib/headers.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "header_store.h"

void header_store_init(struct header_store *hs)
{
	memset(hs, 0, sizeof *hs);
	buf_init(&hs->data, SIGNET_MAX_HEADER_BYTES);
}

void header_store_free(struct header_store *hs)
{
	buf_free(&hs->data);
	free(hs->fields);
	hs->fields = NULL;
	hs->count = hs->cap = 0;
}

static enum signet_status over_limit(struct header_store *hs, struct signet_error *err,
				     const char *fmt, size_t a, size_t b)
{
	/* The first reason is kept for every signature's result even when the
	 * caller passes no err (the milter does). */
	if (!hs->over_limit)
		snprintf(hs->over_limit_reason, sizeof hs->over_limit_reason, fmt, a, b);
	hs->over_limit = true;
	return error_set(err, SIGNET_ERR_LIMIT, NULL, fmt, a, b);
}

enum signet_status header_store_add(struct header_store *hs, const uint8_t *name, size_t nlen,
				    const uint8_t *value, size_t vlen, struct signet_error *err)
{
	if (value == NULL)
		vlen = 0;
	if (nlen > SIGNET_MAX_HEADER_FIELD || vlen > SIGNET_MAX_HEADER_FIELD - nlen)
		return over_limit(hs, err, "header field of %zu bytes (limit %zu)", nlen + vlen,
				  (size_t)SIGNET_MAX_HEADER_FIELD);
	if (hs->count >= SIGNET_MAX_HEADER_FIELDS)
		return over_limit(hs, err, "more than %zu header fields (limit %zu)",
				  (size_t)SIGNET_MAX_HEADER_FIELDS, (size_t)SIGNET_MAX_HEADER_FIELDS);
	if (hs->data.len + nlen + vlen > SIGNET_MAX_HEADER_BYTES)
		return over_limit(hs, err, "header block over %zu bytes (limit %zu)",
				  (size_t)SIGNET_MAX_HEADER_BYTES, (size_t)SIGNET_MAX_HEADER_BYTES);
	if (hs->count == hs->cap) {
		size_t ncap = hs->cap ? hs->cap * 2 : 32;
		struct header_field *f = realloc(hs->fields, ncap * sizeof *f);
		if (f == NULL)
			return error_set(err, SIGNET_ERR_NOMEM, NULL, "out of memory");
		hs->fields = f;
		hs->cap = ncap;
	}
	struct header_field *f = &hs->fields[hs->count];
	f->name_off = hs->data.len;
	f->raw_name_len = nlen;
	f->name_len = nlen;
	/* DKIM-CANON-12: the field name is what precedes the colon, trailing WSP removed. */
	while (f->name_len > 0 && is_wsp(name[f->name_len - 1]))
		f->name_len--;
	f->value_off = hs->data.len + nlen;
	f->value_len = vlen;
	f->has_colon = value != NULL;
	if (buf_append(&hs->data, name, nlen) != SIGNET_OK ||
	    (vlen > 0 && buf_append(&hs->data, value, vlen) != SIGNET_OK)) {
		hs->data.len = f->name_off;
		return error_set(err, SIGNET_ERR_NOMEM, NULL, "out of memory");
	}
	hs->count++;
	return SIGNET_OK;
}

/* data + off; the buffer is still NULL when every field so far was empty,
 * and NULL + 0 is undefined behaviour. */
static const uint8_t *at(const struct header_store *hs, size_t off)
{
	static const uint8_t empty[1];
	return hs->data.data != NULL ? hs->data.data + off : empty;
}

struct signet_span header_name(const struct header_store *hs, size_t idx)
{
	const struct header_field *f = &hs->fields[idx];
	struct signet_span s = {at(hs, f->name_off), f->name_len};
	return s;
}

struct signet_span header_raw_name(const struct header_store *hs, size_t idx)
{
	const struct header_field *f = &hs->fields[idx];
	struct signet_span s = {at(hs, f->name_off), f->raw_name_len};
	return s;
}

struct signet_span header_value(const struct header_store *hs, size_t idx)
{
	const struct header_field *f = &hs->fields[idx];
	struct signet_span s = {at(hs, f->value_off), f->value_len};
	return s;
}

size_t header_count(const struct header_store *hs, struct signet_span name)
{
	size_t n = 0;
	for (size_t k = 0; k < hs->count; k++)
		if (hs->fields[k].has_colon && span_eq_nocase_span(header_name(hs, k), name))
			n++;
	return n;
}
