/* fuzz_milter.c: signetd's milter codec (daemon/milter.c) as an MTA (or
 * anyone who reaches the socket) drives it: the packet decoder fed the
 * input in one piece and in random pieces (must agree), every packet
 * through the command parser, macros into the macro store, OPTNEG through
 * the negotiation, header values through the wire-form and header-edit
 * encoders. The random-piece run hands BODY data out as fragments (no copy)
 * when the selector byte is odd: joined up they must be the same packets.
 * Then the same stream drives a whole session (daemon/session.c, with a
 * config and a signing key): at most one signer or verifier per message,
 * the bytes it holds bounded, and when a message is let through every
 * Authentication-Results claiming our authserv-id has its delete.
 * With bit 2 of the selector the config reads its signing keys from Redis
 * (dkim_signing.use_redis, issue #17): the session's key requests are
 * answered with keys, with none, or with an error, as the seed says.
 * Input: [max_data selector, low bit: fragments, bit 1: a local client,
 * bit 2: keys from Redis] [rng seed] then the byte stream. */
#include <unistd.h>

#include <signet/ar.h>
#include <signet/key.h>

#include "config.h"
#include "diag.h"
#include "keystore.h"
#include "fuzz.h"
#include "milter.h"
#include "runtime.h"
#include "session.h"
#include "signkeys.h"

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

/* ---- the session ---- */

#define FUZZ_AUTHSERV "mx.fuzz.test"
/* What one message may hold, whatever the input: the header store
 * (SIGNET_MAX_HEADER_BYTES and its index), input held while waiting
 * (2 packets), the decoder's buffer, our replies (server.c's 1 MiB cap),
 * the forged-AR indices and one signer or verifier. A signer per EOH
 * (issue #12: ~15 KB each) passes it within a few hundred packets. */
#define FUZZ_SESSION_MAX_BYTES (4u * 1024 * 1024)

/* A runtime from config text and the keys it names (the fuzz setup: any
 * failure ends the run). */
static struct runtime *runtime_of(const char *text)
{
	struct diags d;
	diags_init(&d);
	struct signetd_config *cfg = NULL;
	struct keystore *ks = NULL;
	FUZZ_CHECK(config_parse("fuzz.conf", (const uint8_t *)text, strlen(text), &cfg, &d) ==
		   SIGNET_OK);
	FUZZ_CHECK(keystore_load(cfg, &ks, &d) == SIGNET_OK);
	diags_free(&d);
	struct runtime *rt = runtime_new(cfg, ks);
	FUZZ_CHECK(rt != NULL);
	return rt;
}

/* One runtime for every input: a config with our authserv-id, local
 * clients signing with an ed25519 key (a file written once), on_error
 * accept (so a failed message is let through and must still lose its
 * forged fields). */
static struct runtime *fuzz_runtime(void)
{
	static struct runtime *rt;
	if (rt != NULL)
		return runtime_ref(rt);
	char path[] = "/tmp/fuzz-milter-key-XXXXXX", pem[4096], text[1024];
	struct signet_key *k = NULL;
	struct signet_error err = {0};
	size_t len;
	int fd = mkstemp(path);
	FUZZ_CHECK(fd >= 0);
	FUZZ_CHECK(signet_key_generate(SIGNET_KEY_ED25519, 0, &k, &err) == SIGNET_OK);
	FUZZ_CHECK(signet_key_write_pem(k, pem, sizeof pem, &len, &err) == SIGNET_OK);
	signet_key_free(k);
	FUZZ_CHECK(write(fd, pem, len) == (ssize_t)len);
	close(fd);
	snprintf(text, sizeof text,
		 "authserv_id = \"" FUZZ_AUTHSERV "\";\nlocal_addrs = [\"127.0.0.0/8\"];\n"
		 "on_error { sign = accept; verify = accept; }\n"
		 "dkim_signing { domain { example.com { selector = s; path = \"%s\"; } } }\n",
		 path);
	rt = runtime_of(text);
	unlink(path);
	return runtime_ref(rt);
}

/* The same with dkim_signing.use_redis: no key files; keys come through
 * session_key_answer (answer_keys below). */
static struct signkeys *g_redis_keys;

static struct runtime *fuzz_redis_runtime(void)
{
	static struct runtime *rt;
	if (rt != NULL)
		return runtime_ref(rt);
	struct signet_error err = {0};
	g_redis_keys = signkeys_new("example.com");
	FUZZ_CHECK(g_redis_keys != NULL);
	FUZZ_CHECK(signet_key_generate(SIGNET_KEY_ED25519, 0, &g_redis_keys->key[0], &err) ==
		   SIGNET_OK);
	snprintf(g_redis_keys->selector[0], sizeof g_redis_keys->selector[0], "s");
	g_redis_keys->n = 1;
	static const char text[] =
		"authserv_id = \"" FUZZ_AUTHSERV "\";\nlocal_addrs = [\"127.0.0.0/8\"];\n"
		"on_error { sign = accept; verify = accept; }\n"
		"redis { servers = [\"127.0.0.1:1\"]; }\n"
		"dkim_signing { use_redis = true; domain { example.com { selector = s; } } }\n";
	rt = runtime_of(text);
	return runtime_ref(rt);
}

/* The message as the session sees it: indices of the Authentication-Results
 * claiming our id (1-based among the fields of that name, AR-DEL-05). */
struct fuzz_msg {
	uint32_t ar_count;
	struct fuzz_bytes ours; /* uint32_t each */
};

static void msg_reset(struct fuzz_msg *m)
{
	m->ar_count = 0;
	m->ours.len = 0;
}

static void msg_header(struct fuzz_msg *m, const struct milter_packet *pkt)
{
	struct milter_header h;
	struct signet_error err = {0};
	if (milter_parse_header(pkt->data, pkt->len, &h, &err) != SIGNET_OK)
		return;
	static const char ar[] = "authentication-results";
	if (h.name.len != sizeof ar - 1)
		return;
	for (size_t k = 0; k < h.name.len; k++) {
		uint8_t c = h.name.p[k];
		if ((c >= 'A' && c <= 'Z' ? c + 32 : c) != ar[k])
			return; /* ASCII case only: "Authentication\rResults" is another name */
	}
	m->ar_count++;
	if (signet_ar_is_ours(h.value.p, h.value.len, FUZZ_AUTHSERV))
		fuzz_put(&m->ours, &m->ar_count, sizeof m->ar_count);
}

/* AR-DEL-01: the replies to an EOM that let the message through (CONTINUE
 * last) hold one delete per field of ours, highest index first. */
static void check_eom_replies(const struct fuzz_msg *m, const struct signet_buf *out)
{
	size_t off = 0, want = m->ours.len / sizeof(uint32_t);
	uint8_t last = 0;
	while (off < out->len) {
		FUZZ_CHECK(out->len - off >= 5);
		const uint8_t *p = out->data + off;
		size_t len = ((size_t)p[0] << 24 | (size_t)p[1] << 16 | (size_t)p[2] << 8 | p[3]);
		FUZZ_CHECK(len >= 1 && out->len - off - 4 >= len);
		last = p[4];
		if (p[4] == SMFIR_CHGHEADER && len >= 5 + 23 &&
		    memcmp(p + 9, "Authentication-Results", 23) == 0) {
			uint32_t idx = (uint32_t)p[5] << 24 | (uint32_t)p[6] << 16 |
				       (uint32_t)p[7] << 8 | p[8];
			uint32_t expect;
			FUZZ_CHECK(want > 0);
			memcpy(&expect, m->ours.p + (want - 1) * sizeof expect, sizeof expect);
			FUZZ_CHECK(idx == expect);
			want--;
		}
		off += 4 + len;
	}
	if (last == SMFIR_CONTINUE || last == SMFIR_ACCEPT)
		FUZZ_CHECK(want == 0);
}

/* Answers the session's requests for signing keys from Redis: keys, none
 * (not signed) or an error (on_error.sign), as the seed says. */
static enum session_status answer_keys(struct session *s, struct fuzz_rng *rng,
				       struct signet_buf *out)
{
	unsigned id;
	const struct signetd_config *cfg;
	const char *domain;
	const char *const *sels;
	size_t n;
	enum session_status st = SESSION_OK;
	while (st == SESSION_OK && session_next_key_request(s, &id, &cfg, &domain, &sels, &n)) {
		FUZZ_CHECK(domain != NULL && cfg != NULL && n <= SIGNET_MAX_SIGNERS);
		switch (fuzz_rng_next(rng) % 3) {
		case 0: st = session_key_answer(s, id, g_redis_keys, NULL, out); break;
		case 1: {
			struct signkeys *none = signkeys_new(domain);
			FUZZ_CHECK(none != NULL);
			snprintf(none->why, sizeof none->why, "fuzz: no key");
			st = session_key_answer(s, id, none, NULL, out);
			signkeys_unref(none);
			break;
		}
		default: st = session_key_answer(s, id, NULL, "fuzz: Redis down", out); break;
		}
	}
	return st;
}

/* Answers every key lookup the session wants (no DNS: NXDOMAIN), which may
 * finish a waiting EOM into out. */
static enum session_status answer_lookups(struct session *s, struct signet_buf *out)
{
	unsigned id;
	const char *name;
	enum signet_rrtype type;
	enum session_status st = SESSION_OK;
	while (st == SESSION_OK && session_next_lookup(s, &id, &name, &type)) {
		FUZZ_CHECK(name != NULL);
		struct dns_answer a = {.status = SIGNET_DNS_NXDOMAIN, .why = "fuzz"};
		st = session_answer(s, id, &a, out);
	}
	return st;
}

/* One packet into the session, its bytes cut at random; the replies into
 * out (reset first). */
static enum session_status feed_packet(struct session *s, const struct milter_packet *pkt,
				       struct fuzz_rng *rng, struct signet_buf *out)
{
	uint8_t hdr[5];
	uint32_t n = (uint32_t)pkt->len + 1;
	hdr[0] = (uint8_t)(n >> 24), hdr[1] = (uint8_t)(n >> 16), hdr[2] = (uint8_t)(n >> 8);
	hdr[3] = (uint8_t)n, hdr[4] = pkt->cmd;
	struct fuzz_bytes b = {0};
	fuzz_put(&b, hdr, 5);
	fuzz_put(&b, pkt->data, pkt->len);
	buf_reset(out);
	enum session_status st = SESSION_OK;
	for (size_t off = 0; off < b.len && st == SESSION_OK;) {
		size_t c = fuzz_chunk(rng, b.len - off);
		uint8_t *piece = malloc(c); /* freed after the call: a kept pointer shows */
		FUZZ_CHECK(piece != NULL);
		memcpy(piece, b.p + off, c);
		st = session_feed(s, piece, c, out);
		free(piece);
		off += c;
	}
	free(b.p);
	if (st == SESSION_OK)
		st = answer_keys(s, rng, out);
	if (st == SESSION_OK)
		st = answer_lookups(s, out);
	return st;
}

/* The session's view of message boundaries, mirrored: a new message at
 * MAIL, HELO, ABORT, QUIT_NC and after EOM. */
static void session_step(struct fuzz_msg *m, const struct milter_packet *pkt,
			 const struct signet_buf *out)
{
	switch (pkt->cmd) {
	case SMFIC_HEADER: msg_header(m, pkt); break;
	case SMFIC_BODYEOB:
		check_eom_replies(m, out);
		msg_reset(m);
		break;
	case SMFIC_MAIL:
	case SMFIC_HELO:
	case SMFIC_ABORT:
	case SMFIC_QUIT_NC: msg_reset(m); break;
	default: break;
	}
}

static void run_session(const uint8_t *stream, size_t n, bool local, bool redis,
			struct fuzz_rng *rng)
{
	struct runtime *rt = redis ? fuzz_redis_runtime() : fuzz_runtime();
	struct session *s = session_new(rt, "fuzz");
	FUZZ_CHECK(s != NULL);
	runtime_unref(rt);
	struct signet_buf out;
	buf_init(&out, 1024 * 1024);
	/* An MTA's opening (macro j, Postfix's offer, CONNECT), then the input. */
	struct fuzz_bytes in = {0};
	static const uint8_t open_[] = {0,   0,   0,   17,   'D', 'C',  'j',  0,   'm', 'x',
					'.', 'f', 'u', 'z',  'z', '.',  't',  'e', 's', 't',
					0,   0,   0,   0,    13,  'O',  0,    0,   0,   6,
					0,   0,   1,   0xff, 0,   0x1f, 0xff, 0xff};
	static const uint8_t connect_[] = {0,   0,   0,   16,  'C', 'h', 0,   '4', 0x61, 0xa8,
					   '1', '9', '2', '.', '0', '.', '2', '.', '7',  0};
	fuzz_put(&in, open_, sizeof open_);
	fuzz_put(&in, connect_, sizeof connect_);
	if (local)
		memcpy(in.p + in.len - 10, "127.0.0.1", 9);
	fuzz_put(&in, stream, n);
	struct milter_decoder d;
	milter_decoder_init(&d, 0);
	struct signet_error err = {0};
	struct fuzz_msg m = {0};
	size_t base = fuzz_live_bytes();
	for (size_t pos = 0; pos < in.len;) {
		size_t used = 0;
		bool got = false;
		struct milter_packet pkt;
		if (milter_decoder_feed(&d, in.p + pos, in.len - pos, &used, &pkt, &got, &err) !=
		    SIGNET_OK)
			break;
		pos += used;
		if (!got)
			continue;
		enum session_status st = feed_packet(s, &pkt, rng, &out);
		struct session_stats ss;
		session_get_stats(s, &ss);
		FUZZ_CHECK(ss.objects <= 1); /* issue #12: one signer or verifier per message */
		FUZZ_CHECK(ss.state < SESSION_STATES);
		FUZZ_CHECK(fuzz_live_bytes() <= base + FUZZ_SESSION_MAX_BYTES);
		if (st != SESSION_OK)
			break;
		session_step(&m, &pkt, &out);
	}
	milter_decoder_free(&d);
	session_free(s);
	buf_free(&out);
	free(in.p);
	free(m.ours.p);
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
	run_session(data + 2, size - 2, (data[0] & 2) != 0, (data[0] & 4) != 0, &rng);
	return 0;
}
