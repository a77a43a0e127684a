/* message.c: splits a raw message into header fields and body (message.h).
 * Lines end at LF (CRLF or bare LF); a line starting with WSP continues the
 * field above (RFC 5322 2.2.3); the first empty line ends the header block.
 * Holds one field at a time; body bytes pass straight through. */
#include <stdlib.h>
#include <string.h>

#include <signet/message.h>

#include "buf.h"
#include "error.h"

/* A field is handed over whole, so the splitter must hold it: allow twice
 * the verifier's whole-header limit, so an oversized field still reaches the
 * verifier and gets a result there rather than an error here. */
#define MESSAGE_MAX_FIELD (2 * SIGNET_MAX_HEADER_BYTES)

struct signet_message {
	const struct signet_message_handler *h;
	void *ctx;
	struct signet_buf field; /* current field, line ends included */
	struct signet_buf line;  /* current header line, until its LF */
	bool in_body;
	bool done;
};

enum signet_status signet_message_new(const struct signet_message_handler *h, void *ctx,
				      struct signet_message **out, struct signet_error *err)
{
	struct signet_message *m = calloc(1, sizeof *m);
	if (m == NULL)
		return error_set(err, SIGNET_ERR_NOMEM, NULL, "out of memory");
	m->h = h;
	m->ctx = ctx;
	buf_init(&m->field, MESSAGE_MAX_FIELD);
	buf_init(&m->line, MESSAGE_MAX_FIELD);
	*out = m;
	return SIGNET_OK;
}

void signet_message_free(struct signet_message *m)
{
	if (m == NULL)
		return;
	buf_free(&m->field);
	buf_free(&m->line);
	free(m);
}

/* Hands the held field to the handler: name before the first colon, value
 * after it, the final line end removed. */
static enum signet_status flush_field(struct signet_message *m, struct signet_error *err)
{
	size_t len = m->field.len;
	if (len == 0)
		return SIGNET_OK;
	const uint8_t *p = m->field.data;
	if (len > 0 && p[len - 1] == '\n')
		len--;
	if (len > 0 && p[len - 1] == '\r')
		len--;
	const uint8_t *colon = memchr(p, ':', len);
	enum signet_status st;
	if (colon == NULL) {
		st = m->h->header(m->ctx, p, len, NULL, 0, err);
	} else {
		size_t nlen = (size_t)(colon - p);
		st = m->h->header(m->ctx, p, nlen, colon + 1, len - nlen - 1, err);
	}
	buf_reset(&m->field);
	return st;
}

static bool is_empty_line(const struct signet_buf *line)
{
	return (line->len == 1 && line->data[0] == '\n') ||
	       (line->len == 2 && line->data[0] == '\r' && line->data[1] == '\n');
}

/* A failed buf_append: the field cap (SIGNET_ERR_LIMIT), or no memory. */
static enum signet_status too_long(enum signet_status st, struct signet_error *err)
{
	if (st == SIGNET_ERR_NOMEM)
		return error_set(err, st, NULL, "out of memory");
	return error_set(err, SIGNET_ERR_LIMIT, NULL, "header field longer than %zu bytes",
			 (size_t)MESSAGE_MAX_FIELD);
}

/* One complete header line (with its LF, or the unterminated last line). */
static enum signet_status header_line(struct signet_message *m, struct signet_error *err)
{
	if (is_empty_line(&m->line)) {
		SIGNET_TRY(flush_field(m, err));
		m->in_body = true;
		buf_reset(&m->line);
		return m->h->end_of_headers(m->ctx, err);
	}
	/* RFC 5322 2.2.3: a line starting with WSP continues the field above. */
	bool continuation = m->line.len > 0 && is_wsp(m->line.data[0]) && m->field.len > 0;
	if (!continuation)
		SIGNET_TRY(flush_field(m, err));
	enum signet_status st = buf_append(&m->field, m->line.data, m->line.len);
	if (st != SIGNET_OK)
		return too_long(st, err);
	buf_reset(&m->line);
	return SIGNET_OK;
}

enum signet_status signet_message_feed(struct signet_message *m, const uint8_t *p, size_t len,
				       struct signet_error *err)
{
	if (m->done)
		return error_set(err, SIGNET_ERR_STATE, NULL, "message already finished");
	while (len > 0 && !m->in_body) {
		const uint8_t *lf = memchr(p, '\n', len);
		size_t n = lf ? (size_t)(lf - p) + 1 : len;
		enum signet_status st = buf_append(&m->line, p, n);
		if (st != SIGNET_OK)
			return too_long(st, err);
		p += n;
		len -= n;
		if (lf != NULL)
			SIGNET_TRY(header_line(m, err));
	}
	if (len > 0)
		return m->h->body(m->ctx, p, len, err);
	return SIGNET_OK;
}

enum signet_status signet_message_finish(struct signet_message *m, struct signet_error *err)
{
	if (m->done)
		return error_set(err, SIGNET_ERR_STATE, NULL, "message already finished");
	m->done = true;
	if (m->in_body)
		return SIGNET_OK;
	/* No empty line: every line is a header line and there is no body. */
	if (m->line.len > 0) {
		bool continuation = is_wsp(m->line.data[0]) && m->field.len > 0;
		if (!continuation)
			SIGNET_TRY(flush_field(m, err));
		enum signet_status st = buf_append(&m->field, m->line.data, m->line.len);
		if (st != SIGNET_OK)
			return too_long(st, err);
		buf_reset(&m->line);
	}
	SIGNET_TRY(flush_field(m, err));
	m->in_body = true;
	return m->h->end_of_headers(m->ctx, err);
}
