/* fuzz_message.c: the header/body splitter (lib/message.c). Differential:
 * the input fed in one piece and in random pieces (sizes from the input)
 * must give the same header fields, one end of headers, and the same body
 * bytes. Does not look at what the fields mean. */
#include <signet/message.h>

#include "fuzz.h"

/* What the handler saw: headers serialized, body bytes appended. */
struct seen {
	struct fuzz_bytes ev, body;
	int eoh;
};

static enum signet_status on_header(void *ctx, const uint8_t *name, size_t nlen,
				    const uint8_t *value, size_t vlen, struct signet_error *err)
{
	(void)err;
	struct seen *s = ctx;
	FUZZ_CHECK(s->eoh == 0);
	size_t vl = value == NULL ? SIZE_MAX : vlen;
	fuzz_put(&s->ev, &nlen, sizeof nlen);
	fuzz_put(&s->ev, name, nlen);
	fuzz_put(&s->ev, &vl, sizeof vl);
	if (value != NULL)
		fuzz_put(&s->ev, value, vlen);
	return SIGNET_OK;
}

static enum signet_status on_eoh(void *ctx, struct signet_error *err)
{
	(void)err;
	struct seen *s = ctx;
	s->eoh++;
	return SIGNET_OK;
}

static enum signet_status on_body(void *ctx, const uint8_t *p, size_t len, struct signet_error *err)
{
	(void)err;
	struct seen *s = ctx;
	FUZZ_CHECK(s->eoh == 1);
	fuzz_put(&s->body, p, len);
	return SIGNET_OK;
}

static const struct signet_message_handler handler = {on_header, on_eoh, on_body};

/* rng NULL: one piece. */
static enum signet_status split(const uint8_t *p, size_t n, struct fuzz_rng *rng, struct seen *s)
{
	struct signet_message *m = NULL;
	struct signet_error err = {0};
	enum signet_status st = signet_message_new(&handler, s, &m, &err);
	if (st != SIGNET_OK)
		return st;
	for (size_t off = 0; st == SIGNET_OK && off < n;) {
		size_t c = rng == NULL ? n - off : fuzz_chunk(rng, n - off);
		st = signet_message_feed(m, p + off, c, &err);
		off += c;
	}
	if (st == SIGNET_OK)
		st = signet_message_finish(m, &err);
	if (st == SIGNET_OK)
		FUZZ_CHECK(s->eoh == 1);
	FUZZ_CHECK(err.msg[sizeof err.msg - 1] == '\0');
	signet_message_free(m);
	return st;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct seen a = {0}, b = {0};
	struct fuzz_rng rng;
	fuzz_rng_init(&rng, data, size < 16 ? size : 16);
	enum signet_status sa = split(data, size, NULL, &a);
	enum signet_status sb = split(data, size, &rng, &b);
	FUZZ_CHECK(sa == sb);
	if (sa == SIGNET_OK) {
		FUZZ_CHECK(a.ev.len == b.ev.len &&
			   (a.ev.len == 0 || memcmp(a.ev.p, b.ev.p, a.ev.len) == 0));
		FUZZ_CHECK(a.body.len == b.body.len &&
			   (a.body.len == 0 || memcmp(a.body.p, b.body.p, a.body.len) == 0));
	}
	free(a.ev.p), free(a.body.p), free(b.ev.p), free(b.body.p);
	return 0;
}
