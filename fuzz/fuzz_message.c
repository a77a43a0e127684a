/* fuzz_message.c: the header/body splitter (lib/message.c). Differential:
 * the input fed in one piece and in random pieces (sizes from the input)
 * must give the same header fields, one end of headers, and the same body
 * bytes. Does not look at what the fields mean. */
#include <signet/message.h>

#include "fuzz.h"

/* What the handler saw: headers serialized, body bytes appended. */
struct seen {
	uint8_t *ev, *body;
	size_t evlen, evcap, bodylen, bodycap;
	int eoh;
};

static void put(uint8_t **b, size_t *len, size_t *cap, const void *p, size_t n)
{
	if (*len + n > *cap) {
		size_t c = (*cap ? *cap * 2 : 256) + n;
		uint8_t *nb = realloc(*b, c);
		FUZZ_CHECK(nb != NULL);
		*b = nb;
		*cap = c;
	}
	if (n > 0)
		memcpy(*b + *len, p, n);
	*len += n;
}

static enum signet_status on_header(void *ctx, const uint8_t *name, size_t nlen,
				    const uint8_t *value, size_t vlen, struct signet_error *err)
{
	(void)err;
	struct seen *s = ctx;
	FUZZ_CHECK(s->eoh == 0);
	size_t vl = value == NULL ? SIZE_MAX : vlen;
	put(&s->ev, &s->evlen, &s->evcap, &nlen, sizeof nlen);
	put(&s->ev, &s->evlen, &s->evcap, name, nlen);
	put(&s->ev, &s->evlen, &s->evcap, &vl, sizeof vl);
	if (value != NULL)
		put(&s->ev, &s->evlen, &s->evcap, value, vlen);
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
	put(&s->body, &s->bodylen, &s->bodycap, p, len);
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
		FUZZ_CHECK(a.evlen == b.evlen &&
			   (a.evlen == 0 || memcmp(a.ev, b.ev, a.evlen) == 0));
		FUZZ_CHECK(a.bodylen == b.bodylen &&
			   (a.bodylen == 0 || memcmp(a.body, b.body, a.bodylen) == 0));
	}
	free(a.ev), free(a.body), free(b.ev), free(b.body);
	return 0;
}
