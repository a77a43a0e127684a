/* fuzz_milter.c: signetd's milter codec (daemon/milter.c) as an MTA (or
 * anyone who reaches the socket) drives it: the packet decoder fed the
 * input in one piece and in random pieces (must agree), every packet
 * through the command parser, macros into the macro store, OPTNEG through
 * the negotiation, header values through the wire-form and header-edit
 * encoders. The random-piece run hands BODY data out as fragments (no copy)
 * when the selector byte is odd: joined up they must be the same packets.
 * Input: [max_data selector, low bit: fragments][rng seed] then the byte
 * stream. */
#include "fuzz.h"
#include "milter.h"

static void inside(struct signet_span s, const uint8_t *p, size_t n)
{
	FUZZ_CHECK(s.len == 0 || (s.p >= p && s.len <= n && (size_t)(s.p - p) <= n - s.len));
}

static void use_macros(struct milter_macros *mm, const struct milter_macro_list *ml,
		       const uint8_t *p, size_t n)
{
	struct signet_span rest = ml->pairs, name, value;
	size_t count = 0;
	while (milter_macro_next(&rest, &name, &value)) {
		inside(name, p, n), inside(value, p, n);
		count++;
	}
	FUZZ_CHECK(count == ml->count);
	struct signet_error err = {0};
	enum signet_status st = milter_macros_store(mm, ml, &err);
	FUZZ_CHECK(st == SIGNET_OK || st == SIGNET_ERR_LIMIT);
	static const char *const names[] = {"i", "{i}", "j", "auth_authen", "{daemon_name}",
					    "",  "{"};
	for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
		const char *v = milter_macros_get(mm, names[k]);
		if (v != NULL)
			FUZZ_CHECK(strlen(v) < MILTER_MACROS_BYTES);
	}
}

static void use_header(const struct milter_header *h)
{
	struct signet_buf out;
	buf_init(&out, 4 * MILTER_MAX_DATA_SIZE);
	struct signet_error err = {0};
	for (int lead = 0; lead < 2; lead++) {
		buf_reset(&out);
		if (milter_header_value_wire(h->value.p, h->value.len, lead, &out, &err) !=
		    SIGNET_OK)
			continue;
		/* What came out must be acceptable to our own encoders. */
		FUZZ_CHECK(memchr(out.data ? out.data : (const uint8_t *)"", '\r', out.len) ==
			   NULL);
		struct signet_buf pk;
		buf_init(&pk, 2 * MILTER_MAX_DATA_SIZE);
		enum signet_status st = milter_put_addheader(
			&pk, "X-Fuzz", out.data ? out.data : (const uint8_t *)"", out.len, &err);
		FUZZ_CHECK(st == SIGNET_OK || st == SIGNET_ERR_LIMIT || st == SIGNET_ERR_INVAL);
		st = milter_put_chgheader(&pk, 1, "X-Fuzz",
					  out.data ? out.data : (const uint8_t *)"", out.len, &err);
		FUZZ_CHECK(st == SIGNET_OK || st == SIGNET_ERR_LIMIT || st == SIGNET_ERR_INVAL);
		buf_free(&pk);
	}
	buf_free(&out);
}

static void use_command(const struct milter_packet *pkt, struct milter_macros *mm)
{
	/* An exact-size copy: ASan catches a parser reading one byte too far. */
	uint8_t *p = malloc(pkt->len ? pkt->len : 1);
	FUZZ_CHECK(p != NULL);
	if (pkt->len > 0)
		memcpy(p, pkt->data, pkt->len);
	struct milter_packet cp = {.cmd = pkt->cmd, .data = pkt->len ? p : NULL, .len = pkt->len};
	struct milter_command c;
	struct signet_error err = {0};
	(void)milter_reply_expected(0x001FFFFF, cp.cmd);
	if (milter_command_parse(&cp, &c, &err) != SIGNET_OK) {
		FUZZ_CHECK(err.msg[0] != '\0');
		free(p);
		return;
	}
	FUZZ_CHECK(c.cmd == cp.cmd);
	struct signet_span rest, arg;
	switch (c.cmd) {
	case SMFIC_MACRO: use_macros(mm, &c.u.macro, p, cp.len); break;
	case SMFIC_MAIL:
	case SMFIC_RCPT: {
		inside(c.u.env.addr, p, cp.len);
		size_t n = 0;
		rest = c.u.env.args;
		while (milter_arg_next(&rest, &arg))
			inside(arg, p, cp.len), n++;
		FUZZ_CHECK(n == c.u.env.nargs);
		break;
	}
	case SMFIC_HEADER:
		FUZZ_CHECK(c.u.header.name.len > 0);
		inside(c.u.header.name, p, cp.len), inside(c.u.header.value, p, cp.len);
		use_header(&c.u.header);
		break;
	case SMFIC_CONNECT:
		inside(c.u.connect.hostname, p, cp.len), inside(c.u.connect.address, p, cp.len);
		break;
	case SMFIC_OPTNEG: {
		struct milter_optneg reply;
		for (int sym = 0; sym < 2; sym++) {
			if (milter_negotiate(&c.u.optneg, sym, &reply, &err) != SIGNET_OK)
				continue;
			FUZZ_CHECK(reply.version >= SMFI_PROT_VERSION_MIN &&
				   reply.version <= SMFI_PROT_VERSION);
			FUZZ_CHECK((reply.protocol & ~MILTER_WANT_PROTOCOL) == 0);
			struct signet_buf out;
			buf_init(&out, 4096);
			struct milter_symlist l = {SMFIM_EOM, "j {daemon_name}"};
			bool lists = (reply.actions & SMFIF_SETSYMLIST) != 0;
			FUZZ_CHECK(milter_put_optneg(&out, &reply, lists ? &l : NULL, lists,
						     &err) == SIGNET_OK);
			buf_free(&out);
		}
		break;
	}
	case SMFIC_ABORT: milter_macros_reset_message(mm); break;
	case SMFIC_QUIT_NC: milter_macros_reset(mm); break;
	default: break;
	}
	free(p);
}

/* Fragment mode: one piece of a BODY, borrowed from piece[0..n); joined in
 * *body, it goes to the trace as one packet when its last byte is in. */
static void fragment(const struct milter_decoder *d, const struct milter_packet *pkt,
		     const uint8_t *piece, size_t n, struct fuzz_bytes *body, struct fuzz_bytes *t)
{
	FUZZ_CHECK(pkt->cmd == SMFIC_BODY);
	FUZZ_CHECK(pkt->offset == body->len);
	if (pkt->len == 0) /* only a BODY without data, handed out once */
		FUZZ_CHECK(pkt->data == NULL && pkt->offset == 0 && !pkt->partial);
	else
		FUZZ_CHECK(pkt->data >= piece && pkt->len <= n &&
			   (size_t)(pkt->data - piece) <= n - pkt->len);
	fuzz_put(body, pkt->data, pkt->len);
	if (pkt->partial) {
		FUZZ_CHECK(milter_decoder_pending(d) == MILTER_LEN_BYTES + 1 + body->len);
		return;
	}
	FUZZ_CHECK(milter_decoder_pending(d) == 0);
	fuzz_put(t, &pkt->cmd, 1);
	fuzz_put(t, &body->len, sizeof body->len);
	fuzz_put(t, body->p, body->len);
	body->len = 0;
}

/* rng NULL: the stream in one piece. frag: BODY data as fragments. Returns
 * the decoder's final status. */
static enum signet_status decode(const uint8_t *s, size_t n, size_t max, struct fuzz_rng *rng,
				 bool frag, struct fuzz_bytes *t, bool parse)
{
	struct milter_decoder d;
	static struct milter_macros mm;
	milter_macros_init(&mm);
	milter_decoder_init(&d, max);
	milter_decoder_body_fragments(&d, frag);
	enum signet_status st = SIGNET_OK;
	struct signet_error err = {0};
	struct fuzz_bytes body = {0};
	for (size_t off = 0; off < n && st == SIGNET_OK;) {
		size_t c = rng == NULL ? n - off : fuzz_chunk(rng, n - off);
		uint8_t *piece = malloc(c); /* freed after the call: a kept pointer shows */
		FUZZ_CHECK(piece != NULL);
		memcpy(piece, s + off, c);
		for (size_t pos = 0; pos < c && st == SIGNET_OK;) {
			size_t used = 0;
			bool got = false;
			struct milter_packet pkt;
			st = milter_decoder_feed(&d, piece + pos, c - pos, &used, &pkt, &got, &err);
			if (st != SIGNET_OK)
				break;
			FUZZ_CHECK(used <= c - pos);
			FUZZ_CHECK(got || used == c - pos);
			if (got) {
				FUZZ_CHECK(pkt.len <= (max ? max : MILTER_DEFAULT_MAX_DATA));
				FUZZ_CHECK(pkt.len == 0 || pkt.data != NULL);
				if (parse)
					use_command(&pkt, &mm);
			}
			if (got && frag && pkt.cmd == SMFIC_BODY) {
				fragment(&d, &pkt, piece + pos, used, &body, t);
			} else if (got) {
				FUZZ_CHECK(!pkt.partial && pkt.offset == 0 && body.len == 0);
				fuzz_put(t, &pkt.cmd, 1);
				fuzz_put(t, &pkt.len, sizeof pkt.len);
				fuzz_put(t, pkt.data, pkt.len);
			}
			pos += used;
		}
		free(piece);
		off += c;
	}
	if (st != SIGNET_OK) {
		/* Sticky: the decoder refuses everything after a protocol error. */
		size_t used;
		bool got;
		struct milter_packet pkt;
		FUZZ_CHECK(milter_decoder_feed(&d, s, n, &used, &pkt, &got, &err) ==
			   SIGNET_ERR_STATE);
	} else {
		/* A BODY cut off by the end of input is still pending (MILTER-ERR-03). */
		FUZZ_CHECK(body.len == 0 || milter_decoder_pending(&d) > body.len);
	}
	FUZZ_CHECK(d.data.cap <= d.data.max + 1);
	milter_decoder_free(&d);
	free(body.p);
	return st;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	/* 0: the default bound; otherwise a small one, so the limit is reached. */
	size_t max = data[0] < 128 ? 0 : (size_t)(data[0] - 127) * 8;
	struct fuzz_rng rng;
	fuzz_rng_init(&rng, data, 2);
	struct fuzz_bytes a = {0}, b = {0};
	bool frag = (data[0] & 1) != 0;
	enum signet_status sa = decode(data + 2, size - 2, max, NULL, false, &a, true);
	enum signet_status sb = decode(data + 2, size - 2, max, &rng, frag, &b, false);
	FUZZ_CHECK(sa == sb);
	FUZZ_CHECK(a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0));
	free(a.p), free(b.p);
	return 0;
}
