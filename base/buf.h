/* buf.h: the one growable byte buffer of libsignet, with a hard cap checked
 * on every append (curl's dynbuf, s2n's stuffer), and spans for reading.
 * Internal to libsignet. */
#ifndef SIGNET_BUF_H
#define SIGNET_BUF_H

#include <signet/signet.h>

/* A borrowed byte range; never NUL-terminated by contract. */
struct signet_span {
	const uint8_t *p;
	size_t len;
};

struct signet_buf {
	uint8_t *data; /* owned; NULL until the first append */
	size_t len;
	size_t cap;
	size_t max; /* hard ceiling on len */
};

void buf_init(struct signet_buf *b, size_t max);
/* SIGNET_ERR_LIMIT past max, SIGNET_ERR_NOMEM; b unchanged on error. */
SIGNET_MUST_USE enum signet_status buf_append(struct signet_buf *b, const void *p, size_t n);
SIGNET_MUST_USE enum signet_status buf_append_str(struct signet_buf *b, const char *s);
SIGNET_MUST_USE enum signet_status buf_append_byte(struct signet_buf *b, uint8_t c);
/* Makes data NUL-terminated (not counted in len); for handing out strings. */
SIGNET_MUST_USE enum signet_status buf_terminate(struct signet_buf *b);
void buf_reset(struct signet_buf *b);
/* Frees; wipes first (buffers may hold key material). */
void buf_free(struct signet_buf *b);

struct signet_span span_from_str(const char *s);
bool span_eq_nocase(struct signet_span a, const char *s);
bool span_eq_nocase_span(struct signet_span a, struct signet_span b);
/* Trims WSP and CR/LF (FWS) on both ends. */
struct signet_span span_trim_fws(struct signet_span s);

static inline bool is_wsp(uint8_t c)
{
	return c == ' ' || c == '\t';
}
static inline uint8_t ascii_lower(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c;
}

#endif
