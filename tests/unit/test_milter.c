/* test_milter.c: the milter protocol codec (daemon/milter.c) against the
 * MILTER-* items of spec/milter.md: framing under every byte split, packet
 * bounds, each command parser with truncated and NUL-damaged data, golden
 * reply bytes, negotiation, the fold conversion and the macro store. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "milter.h"

/* ---- helpers ---- */

/* Appends one packet (length, cmd, data) to out at *off. */
static void mk(uint8_t *out, size_t *off, uint8_t cmd, const void *data, size_t len)
{
	uint32_t wire = (uint32_t)len + 1;
	out[*off + 0] = (uint8_t)(wire >> 24);
	out[*off + 1] = (uint8_t)(wire >> 16);
	out[*off + 2] = (uint8_t)(wire >> 8);
	out[*off + 3] = (uint8_t)wire;
	out[*off + 4] = cmd;
	if (len)
		memmove(out + *off + 5, data, len);
	*off += 5 + len;
}

#define MK(out, off, cmd, lit) mk(out, off, cmd, lit, sizeof(lit) - 1)

/* A heap copy of exactly len bytes, so ASan catches any read past the end. */
static uint8_t *exact(const void *p, size_t len)
{
	uint8_t *c = malloc(len ? len : 1);
	assert_non_null(c);
	if (len)
		memcpy(c, p, len);
	return c;
}

struct got {
	size_t n;
	uint8_t cmd[32];
	size_t len[32];
	uint8_t *data[32];
	size_t fragments; /* BODY data pieces handed out without a copy (fragment mode) */
};

static void got_free(struct got *g)
{
	for (size_t k = 0; k < g->n; k++)
		free(g->data[k]);
	g->n = 0;
}

/* One packet or fragment out of the decoder into g. Whole packets are
 * copied as they are. In fragment mode the fragments of a BODY are joined
 * back into one packet, checking what milter.h promises: only BODY comes in
 * fragments, each one borrowed from the piece just fed (from, to) and not
 * empty, offsets follow each other, partial is false exactly on the one
 * holding the packet's last byte, and pending counts what was taken. */
static void collect(struct got *g, const struct milter_packet *pkt, const struct milter_decoder *d,
		    bool frag, const uint8_t *from, const uint8_t *to, bool *open)
{
	if (!frag || pkt->cmd != SMFIC_BODY) {
		assert_false(pkt->partial);
		assert_int_equal(pkt->offset, 0);
		assert_false(*open);
		assert_true(g->n < 32);
		g->cmd[g->n] = pkt->cmd;
		g->len[g->n] = pkt->len;
		g->data[g->n] = exact(pkt->data, pkt->len);
		g->n++;
		return;
	}
	if (pkt->len == 0) {
		/* Only a BODY without data: handed out once, whole. */
		assert_null(pkt->data);
		assert_false(pkt->partial);
		assert_int_equal(pkt->offset, 0);
		assert_false(*open);
	} else {
		assert_true(pkt->data >= from && pkt->len <= (size_t)(to - pkt->data));
		g->fragments++;
	}
	if (pkt->offset == 0) {
		assert_false(*open);
		assert_true(g->n < 32);
		g->cmd[g->n] = pkt->cmd;
		g->len[g->n] = 0;
		g->data[g->n] = NULL;
		g->n++;
		*open = true;
	}
	assert_true(*open);
	size_t k = g->n - 1;
	assert_int_equal(pkt->offset, g->len[k]);
	uint8_t *nb = realloc(g->data[k], g->len[k] + pkt->len + 1);
	assert_non_null(nb);
	if (pkt->len)
		memcpy(nb + g->len[k], pkt->data, pkt->len);
	g->data[k] = nb;
	g->len[k] += pkt->len;
	*open = pkt->partial;
	/* Mid-packet: the 5 header bytes and the data so far (MILTER-ERR-03). */
	assert_int_equal(milter_decoder_pending(d), pkt->partial ? 5 + g->len[k] : 0);
}

/* Feeds stream in pieces whose sizes come from next_cut (0 = all the rest);
 * collects copies of the packets, in fragment mode (frag) or not. Returns
 * the last status. */
static enum signet_status decode_mode(const uint8_t *stream, size_t len, size_t max,
				      size_t (*cut)(size_t), bool frag, struct got *g,
				      struct signet_error *err)
{
	struct milter_decoder d;
	milter_decoder_init(&d, max);
	milter_decoder_body_fragments(&d, frag);
	memset(g, 0, sizeof *g);
	enum signet_status st = SIGNET_OK;
	size_t off = 0, step = 0;
	bool open = false;
	while (off < len && st == SIGNET_OK) {
		size_t n = cut(step++);
		if (n == 0 || n > len - off)
			n = len - off;
		uint8_t *piece = exact(stream + off, n); /* the decoder must copy */
		size_t pos = 0;
		while (pos < n && st == SIGNET_OK) {
			size_t used;
			bool have;
			struct milter_packet pkt;
			st = milter_decoder_feed(&d, piece + pos, n - pos, &used, &pkt, &have, err);
			assert_true(used <= n - pos);
			if (st == SIGNET_OK && (!have || pkt.partial))
				assert_int_equal(used, n - pos);
			if (have)
				collect(g, &pkt, &d, frag, piece + pos, piece + pos + used, &open);
			pos += used;
		}
		free(piece);
		off += n;
	}
	if (st == SIGNET_OK) {
		assert_false(open);
		assert_int_equal(milter_decoder_pending(&d), 0);
	}
	assert_true(d.data.cap <= d.data.max + 1);
	milter_decoder_free(&d);
	return st;
}

static enum signet_status decode(const uint8_t *stream, size_t len, size_t max,
				 size_t (*cut)(size_t), struct got *g, struct signet_error *err)
{
	return decode_mode(stream, len, max, cut, false, g, err);
}

static size_t cut_all(size_t step)
{
	(void)step;
	return 0;
}

static size_t cut_one(size_t step)
{
	(void)step;
	return 1;
}

static size_t cut_random(size_t step)
{
	(void)step;
	return (size_t)(rand() % 23) + 1;
}

static size_t cut_at_value;
static size_t cut_at(size_t step)
{
	return step == 0 ? cut_at_value : 0;
}

static void assert_span(struct signet_span sp, const char *want, size_t wlen)
{
	assert_int_equal(sp.len, wlen);
	if (wlen)
		assert_memory_equal(sp.p, want, wlen);
}

#define ASSERT_SPAN(sp, lit) assert_span(sp, lit, sizeof(lit) - 1)

static void assert_bytes(const struct signet_buf *b, const void *want, size_t wlen)
{
	assert_int_equal(b->len, wlen);
	assert_memory_equal(b->data, want, wlen);
}

#define ASSERT_BYTES(b, lit) assert_bytes(b, lit, sizeof(lit) - 1)

/* A Postfix-like conversation with one packet of every command. */
static size_t every_command(uint8_t *s)
{
	size_t off = 0;
	MK(s, &off, SMFIC_OPTNEG, "\0\0\0\x06\0\0\x01\xff\0\x1f\xff\xff");
	MK(s, &off, SMFIC_MACRO, "Cj\0mx.example\0{daemon_name}\0mx\0");
	MK(s, &off, SMFIC_CONNECT,
	   "client.example\0004\x01\xbb"
	   "192.0.2.1\0");
	MK(s, &off, SMFIC_HELO, "client.example\0");
	MK(s, &off, SMFIC_MAIL, "<a@example.com>\0SIZE=12\0");
	MK(s, &off, SMFIC_RCPT, "<b@example.org>\0");
	MK(s, &off, SMFIC_DATA, "");
	MK(s, &off, SMFIC_HEADER, "Subject\0 hi\n\tthere\0");
	MK(s, &off, SMFIC_EOH, "");
	MK(s, &off, SMFIC_BODY, "body\r\n");
	MK(s, &off, SMFIC_BODYEOB, "");
	MK(s, &off, SMFIC_ABORT, "");
	MK(s, &off, SMFIC_UNKNOWN, "XYZZY\0");
	MK(s, &off, SMFIC_QUIT_NC, "");
	MK(s, &off, SMFIC_QUIT, "");
	return off;
}

static const char every_cmds[] = "ODCHMRTLNBEAUKQ";

static void assert_every_command(const struct got *g)
{
	assert_int_equal(g->n, 15);
	for (size_t k = 0; k < 15; k++)
		assert_int_equal(g->cmd[k], (uint8_t)every_cmds[k]);
	assert_int_equal(g->len[0], 12);
	assert_int_equal(g->len[6], 0);
	assert_int_equal(g->len[9], 6);
	assert_memory_equal(g->data[9], "body\r\n", 6);
	assert_int_equal(g->len[7], 19);
	assert_memory_equal(g->data[7], "Subject\0 hi\n\tthere\0", 19);
}

/* ---- MILTER-WIRE-01/02/03: framing ---- */

/* MILTER-WIRE-01 "Every packet: 4-byte big-endian length (counting the
 * command byte and data), 1 command byte, data." */
static void MILTER_WIRE_01_roundtrip_every_command(void **state)
{
	(void)state;
	uint8_t s[1024];
	size_t len = every_command(s);
	struct got g;
	struct signet_error err = {0};
	assert_int_equal(decode(s, len, 0, cut_all, &g, &err), SIGNET_OK);
	assert_every_command(&g);
	/* Each one parses. */
	for (size_t k = 0; k < g.n; k++) {
		struct milter_packet pkt = {.cmd = g.cmd[k], .data = g.data[k], .len = g.len[k]};
		struct milter_command c;
		assert_int_equal(milter_command_parse(&pkt, &c, &err), SIGNET_OK);
		assert_int_equal(c.cmd, g.cmd[k]);
	}
	got_free(&g);
}

/* MILTER-WIRE-01: the same packets whatever the split: byte by byte, at
 * every single cut point, and random piece sizes. */
static void MILTER_WIRE_01_every_split(void **state)
{
	(void)state;
	uint8_t s[1024];
	size_t len = every_command(s);
	struct got g;
	struct signet_error err = {0};
	assert_int_equal(decode(s, len, 0, cut_one, &g, &err), SIGNET_OK);
	assert_every_command(&g);
	got_free(&g);
	for (cut_at_value = 1; cut_at_value < len; cut_at_value++) {
		assert_int_equal(decode(s, len, 0, cut_at, &g, &err), SIGNET_OK);
		assert_every_command(&g);
		got_free(&g);
	}
	srand(6376);
	for (int round = 0; round < 200; round++) {
		assert_int_equal(decode(s, len, 0, cut_random, &g, &err), SIGNET_OK);
		assert_every_command(&g);
		got_free(&g);
	}
}

/* MILTER-WIRE-01: a feed stops at the end of each packet (used), so the
 * caller handles it before the next; a packet with length 1 has no data. */
static void MILTER_WIRE_01_feed_stops_after_each_packet(void **state)
{
	(void)state;
	uint8_t s[64];
	size_t len = 0;
	MK(s, &len, SMFIC_EOH, "");
	MK(s, &len, SMFIC_BODY, "ab");
	struct milter_decoder d;
	milter_decoder_init(&d, 0);
	struct milter_packet pkt;
	bool have;
	size_t used;
	struct signet_error err = {0};
	assert_int_equal(milter_decoder_feed(&d, s, len, &used, &pkt, &have, &err), SIGNET_OK);
	assert_true(have);
	assert_int_equal(used, 5);
	assert_int_equal(pkt.cmd, 'N');
	assert_int_equal(pkt.len, 0);
	assert_null(pkt.data);
	assert_int_equal(milter_decoder_pending(&d), 0);
	assert_int_equal(milter_decoder_feed(&d, s + 5, len - 5, &used, &pkt, &have, &err),
			 SIGNET_OK);
	assert_true(have);
	assert_int_equal(used, 7);
	assert_int_equal(pkt.cmd, 'B');
	assert_int_equal(pkt.len, 2);
	assert_memory_equal(pkt.data, "ab", 2);
	/* len 0 is allowed and yields nothing. */
	assert_int_equal(milter_decoder_feed(&d, NULL, 0, &used, &pkt, &have, &err), SIGNET_OK);
	assert_false(have);
	assert_int_equal(used, 0);
	milter_decoder_free(&d);
	milter_decoder_free(NULL);
}

/* MILTER-ERR-03: a hang-up mid-packet is visible (pending != 0). */
static void MILTER_ERR_03_pending_mid_packet(void **state)
{
	(void)state;
	uint8_t s[64];
	size_t len = 0;
	MK(s, &len, SMFIC_HELO, "abc\0");
	struct milter_decoder d;
	milter_decoder_init(&d, 0);
	struct milter_packet pkt;
	bool have;
	size_t used;
	struct signet_error err = {0};
	for (size_t cut = 1; cut < len; cut++) {
		milter_decoder_free(&d);
		milter_decoder_init(&d, 0);
		assert_int_equal(milter_decoder_feed(&d, s, cut, &used, &pkt, &have, &err),
				 SIGNET_OK);
		assert_false(have);
		assert_int_equal(used, cut);
		assert_int_equal(milter_decoder_pending(&d), cut);
	}
	milter_decoder_free(&d);
}

/* MILTER-WIRE-01: a length field of 0 (no command byte) is a protocol
 * error, reported at once, and the decoder stays stopped. */
static void MILTER_WIRE_01_zero_length_refused(void **state)
{
	(void)state;
	static const uint8_t s[] = {0, 0, 0, 0, 'B', 'x'};
	struct milter_decoder d;
	milter_decoder_init(&d, 0);
	struct milter_packet pkt;
	bool have = true;
	size_t used;
	struct signet_error err = {0};
	assert_int_equal(milter_decoder_feed(&d, s, sizeof s, &used, &pkt, &have, &err),
			 SIGNET_ERR_SYNTAX);
	assert_false(have);
	assert_non_null(strstr(err.msg, "length 0"));
	assert_int_equal(milter_decoder_feed(&d, s, sizeof s, &used, &pkt, &have, &err),
			 SIGNET_ERR_STATE);
	assert_int_equal(used, 0);
	milter_decoder_free(&d);
}

/* MILTER-WIRE-02 "Default max data per packet 65535": a 65535-byte body
 * chunk is accepted with the default bound; the bound is limit-1 / limit /
 * limit+1 exact with a configured max. */
static void MILTER_WIRE_02_packet_bound(void **state)
{
	(void)state;
	size_t big = MILTER_CHUNK_SIZE;
	uint8_t *s = calloc(1, big + 5);
	assert_non_null(s);
	size_t len = 0;
	mk(s, &len, SMFIC_BODY, s + 5, big); /* in place: zero bytes */
	struct got g;
	struct signet_error err = {0};
	assert_int_equal(decode(s, len, 0, cut_random, &g, &err), SIGNET_OK);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.len[0], big);
	got_free(&g);

	uint8_t small[200] = {0};
	for (size_t n = 99; n <= 101; n++) {
		len = 0;
		mk(small, &len, SMFIC_BODY, small + 5, n);
		enum signet_status st = decode(small, len, 100, cut_one, &g, &err);
		if (n <= 100) {
			assert_int_equal(st, SIGNET_OK);
			assert_int_equal(g.len[0], n);
		} else {
			assert_int_equal(st, SIGNET_ERR_LIMIT);
			assert_non_null(strstr(err.msg, "101 data bytes exceeds the limit of 100"));
		}
		got_free(&g);
	}
	free(s);
}

/* MILTER-WIRE-02: default bound is MILTER_DEFAULT_MAX_DATA; one more is
 * refused as soon as the length is read, before any allocation, and a
 * 4 GiB length allocates nothing. */
static void MILTER_WIRE_02_oversize_refused_before_allocation(void **state)
{
	(void)state;
	uint32_t lens[] = {MILTER_DEFAULT_MAX_DATA + 2, 0xFFFFFFFFu};
	for (size_t k = 0; k < 2; k++) {
		uint8_t s[4] = {(uint8_t)(lens[k] >> 24), (uint8_t)(lens[k] >> 16),
				(uint8_t)(lens[k] >> 8), (uint8_t)lens[k]};
		struct milter_decoder d;
		milter_decoder_init(&d, 0);
		struct milter_packet pkt;
		bool have;
		size_t used;
		struct signet_error err = {0};
		assert_int_equal(milter_decoder_feed(&d, s, 4, &used, &pkt, &have, &err),
				 SIGNET_ERR_LIMIT);
		assert_int_equal(d.data.cap, 0);
		assert_null(d.data.data);
		milter_decoder_free(&d);
	}
	/* Exactly at the default bound: accepted. */
	size_t n = MILTER_DEFAULT_MAX_DATA;
	uint8_t *s = calloc(1, n + 5);
	assert_non_null(s);
	size_t len = 0;
	mk(s, &len, SMFIC_BODY, s + 5, n);
	struct got g;
	struct signet_error err = {0};
	assert_int_equal(decode(s, len, 0, cut_all, &g, &err), SIGNET_OK);
	assert_int_equal(g.len[0], n);
	got_free(&g);
	free(s);
}

/* MILTER-WIRE-02: memory stays bounded however the bytes arrive: many
 * packets fed in one piece never hold more than one packet. */
static void MILTER_WIRE_02_buffer_bounded_over_many_packets(void **state)
{
	(void)state;
	size_t per = 1000, count = 300;
	uint8_t *s = calloc(count, per + 5);
	assert_non_null(s);
	size_t len = 0;
	for (size_t k = 0; k < count; k++)
		mk(s, &len, SMFIC_BODY, s + len + 5, per);
	struct milter_decoder d;
	milter_decoder_init(&d, 2000);
	size_t off = 0, packets = 0;
	while (off < len) {
		struct milter_packet pkt;
		bool have;
		size_t used;
		struct signet_error err = {0};
		assert_int_equal(
			milter_decoder_feed(&d, s + off, len - off, &used, &pkt, &have, &err),
			SIGNET_OK);
		off += used;
		packets += have;
		assert_true(d.data.cap <= 2001);
	}
	assert_int_equal(packets, count);
	milter_decoder_free(&d);
	free(s);
}

/* MILTER-WIRE-03: exactly the 15 MTA commands are accepted by the decoder. */
static void MILTER_WIRE_03_decoder_table(void **state)
{
	(void)state;
	for (int c = 0; c < 256; c++) {
		uint8_t s[5] = {0, 0, 0, 1, (uint8_t)c};
		struct milter_decoder d;
		milter_decoder_init(&d, 0);
		struct milter_packet pkt;
		bool have;
		size_t used;
		struct signet_error err = {0};
		enum signet_status st = milter_decoder_feed(&d, s, 5, &used, &pkt, &have, &err);
		bool known = c != 0 && strchr("ABCDEHKLMNOQRTU", c) != NULL;
		if (known) {
			assert_int_equal(st, SIGNET_OK);
			assert_true(have);
			assert_int_equal(pkt.cmd, c);
		} else {
			assert_int_equal(st, SIGNET_ERR_SYNTAX);
			assert_non_null(strstr(err.msg, "unknown milter command"));
		}
		milter_decoder_free(&d);
	}
}

/* MILTER-ERR-03 "packets that are malformed (wrong length, missing NUL)":
 * random garbage through the decoder (copying, and handing out BODY
 * fragments) and the parsers never crashes, and every outcome is a packet
 * or an error. */
static void MILTER_ERR_03_garbage_stream(void **state)
{
	(void)state;
	srand(8601);
	uint8_t s[512];
	for (int round = 0; round < 2000; round++) {
		size_t len = (size_t)(rand() % (int)sizeof s) + 1;
		for (size_t k = 0; k < len; k++)
			s[k] = (uint8_t)rand();
		/* Keep some lengths small so packets complete. */
		if (round % 2 == 0) {
			s[0] = s[1] = 0;
			s[2] = (uint8_t)(rand() % 2);
			s[4] = (uint8_t) "ABCDEHKLMNOQRTU"[rand() % 15];
		}
		struct milter_decoder d;
		milter_decoder_init(&d, 4096);
		milter_decoder_body_fragments(&d, round % 4 >= 2);
		size_t off = 0;
		enum signet_status st = SIGNET_OK;
		while (off < len && st == SIGNET_OK) {
			struct milter_packet pkt;
			bool have;
			size_t used;
			struct signet_error err = {0};
			st = milter_decoder_feed(&d, s + off, len - off, &used, &pkt, &have, &err);
			off += used;
			if (have) {
				uint8_t *copy = exact(pkt.data, pkt.len);
				struct milter_packet p2 = {
					.cmd = pkt.cmd, .data = copy, .len = pkt.len};
				struct milter_command c;
				enum signet_status ps = milter_command_parse(&p2, &c, &err);
				assert_true(ps == SIGNET_OK || ps == SIGNET_ERR_SYNTAX);
				free(copy);
			}
		}
		milter_decoder_free(&d);
	}
}

/* ---- BODY fragments (milter_decoder_body_fragments) ---- */

/* Body-heavy traffic: BODY chunks of several sizes (one without data), the
 * packets around them, and BODYEOB with a last chunk. */
static size_t body_stream(uint8_t *s)
{
	size_t off = 0;
	MK(s, &off, SMFIC_EOH, "");
	MK(s, &off, SMFIC_MACRO, "Bi\0Q1\0");
	MK(s, &off, SMFIC_BODY, "The first chunk ends mid-li");
	MK(s, &off, SMFIC_BODY, "ne\r\n\r\n");
	MK(s, &off, SMFIC_BODY, "");
	MK(s, &off, SMFIC_BODY, "x");
	MK(s, &off, SMFIC_BODY, "end of the body, CR then\r");
	MK(s, &off, SMFIC_BODYEOB, "\n");
	return off;
}

static void assert_same(const struct got *a, const struct got *b)
{
	assert_int_equal(a->n, b->n);
	for (size_t k = 0; k < a->n; k++) {
		assert_int_equal(a->cmd[k], b->cmd[k]);
		assert_int_equal(a->len[k], b->len[k]);
		if (a->len[k])
			assert_memory_equal(a->data[k], b->data[k], a->len[k]);
	}
}

static size_t cut_two_a, cut_two_b;
static size_t cut_two(size_t step)
{
	return step == 0 ? cut_two_a : step == 1 ? cut_two_b - cut_two_a : 0;
}

/* MILTER-WIRE-01, MILTER-CONV-08 "chunk borders are arbitrary": with BODY
 * fragments on, every split of the stream (byte by byte, at every single
 * cut point, at every pair of cut points, random pieces) yields the same
 * packets as the whole stream without fragments, and every other command
 * still comes whole. */
static void MILTER_WIRE_01_body_fragments_every_split(void **state)
{
	(void)state;
	uint8_t s[1024];
	size_t len = body_stream(s);
	struct got want, g;
	struct signet_error err = {0};
	assert_int_equal(decode(s, len, 0, cut_all, &want, &err), SIGNET_OK);
	assert_int_equal(want.n, 8);
	assert_int_equal(want.cmd[2], SMFIC_BODY);
	assert_int_equal(want.len[2], 27);
	assert_int_equal(want.len[4], 0);
	/* In one piece: one fragment per BODY with data, nothing buffered. */
	assert_int_equal(decode_mode(s, len, 0, cut_all, true, &g, &err), SIGNET_OK);
	assert_same(&want, &g);
	assert_int_equal(g.fragments, 4);
	got_free(&g);
	/* Byte by byte: every body byte is handed out as it arrives. */
	assert_int_equal(decode_mode(s, len, 0, cut_one, true, &g, &err), SIGNET_OK);
	assert_same(&want, &g);
	assert_int_equal(g.fragments, 27 + 6 + 1 + 25);
	got_free(&g);
	for (cut_at_value = 1; cut_at_value < len; cut_at_value++) {
		assert_int_equal(decode_mode(s, len, 0, cut_at, true, &g, &err), SIGNET_OK);
		assert_same(&want, &g);
		got_free(&g);
	}
	for (cut_two_a = 1; cut_two_a < len; cut_two_a++)
		for (cut_two_b = cut_two_a + 1; cut_two_b < len; cut_two_b++) {
			assert_int_equal(decode_mode(s, len, 0, cut_two, true, &g, &err),
					 SIGNET_OK);
			assert_same(&want, &g);
			got_free(&g);
		}
	srand(6376);
	for (int round = 0; round < 200; round++) {
		assert_int_equal(decode_mode(s, len, 0, cut_random, true, &g, &err), SIGNET_OK);
		assert_same(&want, &g);
		got_free(&g);
	}
	got_free(&want);
	/* The conversation with every command: the same under every split. */
	len = every_command(s);
	assert_int_equal(decode_mode(s, len, 0, cut_one, true, &g, &err), SIGNET_OK);
	assert_every_command(&g);
	got_free(&g);
	for (cut_at_value = 1; cut_at_value < len; cut_at_value++) {
		assert_int_equal(decode_mode(s, len, 0, cut_at, true, &g, &err), SIGNET_OK);
		assert_every_command(&g);
		got_free(&g);
	}
}

/* MILTER-WIRE-02: the bound holds for a BODY handed out in fragments:
 * max_data - 1 / max_data / max_data + 1 exact, the oversize one refused as
 * soon as its length is read (no fragment of it handed out), and the
 * decoder stopped after it; at the default bound a full-size BODY goes
 * through without the decoder allocating anything (no copy). */
static void MILTER_WIRE_02_body_fragments_bound(void **state)
{
	(void)state;
	uint8_t small[200] = {0};
	struct got g;
	struct signet_error err = {0};
	for (size_t n = 99; n <= 101; n++) {
		size_t len = 0;
		mk(small, &len, SMFIC_BODY, small + 5, n);
		enum signet_status st = decode_mode(small, len, 100, cut_one, true, &g, &err);
		if (n <= 100) {
			assert_int_equal(st, SIGNET_OK);
			assert_int_equal(g.n, 1);
			assert_int_equal(g.len[0], n);
			assert_int_equal(g.fragments, n);
		} else {
			assert_int_equal(st, SIGNET_ERR_LIMIT);
			assert_non_null(strstr(err.msg, "101 data bytes exceeds the limit of 100"));
			assert_int_equal(g.n, 0);
		}
		got_free(&g);
	}
	/* After an EOH, in one piece: the EOH, then the error; then stopped. */
	size_t len = 0;
	MK(small, &len, SMFIC_EOH, "");
	mk(small, &len, SMFIC_BODY, small + len + 5, 101);
	struct milter_decoder d;
	milter_decoder_init(&d, 100);
	milter_decoder_body_fragments(&d, true);
	struct milter_packet pkt;
	bool have;
	size_t used;
	assert_int_equal(milter_decoder_feed(&d, small, len, &used, &pkt, &have, &err), SIGNET_OK);
	assert_true(have);
	assert_int_equal(pkt.cmd, SMFIC_EOH);
	size_t rest = len - used;
	assert_int_equal(milter_decoder_feed(&d, small + used, rest, &used, &pkt, &have, &err),
			 SIGNET_ERR_LIMIT);
	assert_false(have);
	assert_int_equal(milter_decoder_feed(&d, small, len, &used, &pkt, &have, &err),
			 SIGNET_ERR_STATE);
	assert_false(have);
	milter_decoder_free(&d);

	/* The default bound: one more refused, exactly the bound accepted. */
	size_t n = MILTER_DEFAULT_MAX_DATA;
	uint8_t *s = calloc(1, n + 6);
	assert_non_null(s);
	len = 0;
	mk(s, &len, SMFIC_BODY, s + 5, n + 1);
	assert_int_equal(decode_mode(s, len, 0, cut_random, true, &g, &err), SIGNET_ERR_LIMIT);
	assert_int_equal(g.n, 0);
	got_free(&g);
	len = 0;
	mk(s, &len, SMFIC_BODY, s + 5, n);
	milter_decoder_init(&d, 0);
	milter_decoder_body_fragments(&d, true);
	size_t off = 0, total = 0;
	bool done = false;
	while (off < len) {
		size_t piece = len - off < 4096 ? len - off : 4096;
		assert_int_equal(milter_decoder_feed(&d, s + off, piece, &used, &pkt, &have, &err),
				 SIGNET_OK);
		assert_int_equal(used, piece);
		if (have) {
			assert_ptr_equal(pkt.data, s + off + (off == 0 ? 5 : 0));
			assert_int_equal(pkt.offset, total);
			total += pkt.len;
			done = !pkt.partial;
		}
		off += used;
	}
	assert_true(done);
	assert_int_equal(total, n);
	assert_int_equal(d.data.cap, 0);
	assert_null(d.data.data);
	milter_decoder_free(&d);
	free(s);
}

/* MILTER-ERR-03 "mid-packet and mid-body": an MTA that hangs up inside a
 * BODY handed out in fragments is still seen (pending counts every byte
 * taken, fragments included), at every cut; the rest of the packet then
 * completes it, and pending is 0 again. */
static void MILTER_ERR_03_pending_mid_fragmented_body(void **state)
{
	(void)state;
	uint8_t s[64];
	size_t len = 0;
	MK(s, &len, SMFIC_BODY, "hello body\r\n");
	struct signet_error err = {0};
	for (size_t cut = 1; cut < len; cut++) {
		struct milter_decoder d;
		milter_decoder_init(&d, 0);
		milter_decoder_body_fragments(&d, true);
		struct milter_packet pkt;
		bool have;
		size_t used;
		assert_int_equal(milter_decoder_feed(&d, s, cut, &used, &pkt, &have, &err),
				 SIGNET_OK);
		assert_int_equal(used, cut);
		assert_int_equal(milter_decoder_pending(&d), cut);
		/* Data bytes in the first piece come out at once, as a partial fragment. */
		assert_int_equal(have, cut > 5);
		if (have) {
			assert_true(pkt.partial);
			assert_int_equal(pkt.offset, 0);
			assert_int_equal(pkt.len, cut - 5);
			assert_ptr_equal(pkt.data, s + 5);
		}
		assert_int_equal(
			milter_decoder_feed(&d, s + cut, len - cut, &used, &pkt, &have, &err),
			SIGNET_OK);
		assert_int_equal(used, len - cut);
		assert_true(have);
		assert_false(pkt.partial);
		assert_int_equal(pkt.offset + pkt.len, 12);
		assert_memory_equal(pkt.data, "hello body\r\n" + pkt.offset, pkt.len);
		assert_int_equal(milter_decoder_pending(&d), 0);
		milter_decoder_free(&d);
	}
}

/* Fragment mode is opt-in, off by default, and a switch applies from the
 * next packet: a BODY already started stays buffered (one whole packet, in
 * the decoder's buffer), the following one comes as fragments. */
static void MILTER_WIRE_01_body_fragments_opt_in(void **state)
{
	(void)state;
	uint8_t s[64];
	size_t len = 0;
	MK(s, &len, SMFIC_BODY, "abcd");
	MK(s, &len, SMFIC_BODY, "efgh");
	struct milter_decoder d;
	milter_decoder_init(&d, 0);
	struct milter_packet pkt;
	bool have;
	size_t used;
	struct signet_error err = {0};
	assert_int_equal(milter_decoder_feed(&d, s, 7, &used, &pkt, &have, &err), SIGNET_OK);
	assert_false(have); /* off by default: buffered */
	milter_decoder_body_fragments(&d, true);
	assert_int_equal(milter_decoder_feed(&d, s + 7, len - 7, &used, &pkt, &have, &err),
			 SIGNET_OK);
	assert_true(have);
	assert_int_equal(used, 2);
	assert_false(pkt.partial);
	assert_int_equal(pkt.len, 4);
	assert_memory_equal(pkt.data, "abcd", 4);
	assert_ptr_equal(pkt.data, d.data.data); /* the decoder's copy */
	assert_int_equal(milter_decoder_feed(&d, s + 9, 7, &used, &pkt, &have, &err), SIGNET_OK);
	assert_true(have);
	assert_true(pkt.partial);
	assert_int_equal(pkt.len, 2);
	assert_ptr_equal(pkt.data, s + 14); /* borrowed from the input */
	milter_decoder_free(&d);
}

/* ---- parsers ---- */

typedef enum signet_status (*parse_fn)(const uint8_t *p, size_t len, void *out,
				       struct signet_error *err);

/* Every proper prefix of data, in an exact-size copy: an error or an OK
 * without over-read; returns how many prefixes were accepted. */
static size_t prefixes_ok(const char *data, size_t len,
			  enum signet_status (*fn)(const uint8_t *, size_t, void *,
						   struct signet_error *),
			  void *out)
{
	size_t ok = 0;
	for (size_t n = 0; n < len; n++) {
		uint8_t *c = exact(data, n);
		struct signet_error err = {0};
		enum signet_status st = fn(c, n, out, &err);
		assert_true(st == SIGNET_OK || st == SIGNET_ERR_SYNTAX);
		if (st == SIGNET_OK)
			ok++;
		else
			assert_true(err.msg[0] != '\0');
		free(c);
	}
	return ok;
}

static enum signet_status p_connect(const uint8_t *p, size_t n, void *o, struct signet_error *e)
{
	return milter_parse_connect(p, n, o, e);
}
static enum signet_status p_header(const uint8_t *p, size_t n, void *o, struct signet_error *e)
{
	return milter_parse_header(p, n, o, e);
}
static enum signet_status p_env(const uint8_t *p, size_t n, void *o, struct signet_error *e)
{
	return milter_parse_envelope(p, n, o, e);
}
static enum signet_status p_macro(const uint8_t *p, size_t n, void *o, struct signet_error *e)
{
	return milter_parse_macro(p, n, o, e);
}
static enum signet_status p_optneg(const uint8_t *p, size_t n, void *o, struct signet_error *e)
{
	return milter_parse_optneg(p, n, o, e);
}
static enum signet_status p_string(const uint8_t *p, size_t n, void *o, struct signet_error *e)
{
	return milter_parse_string(p, n, o, e);
}

#define PARSE(fn, lit, out, err) fn((const uint8_t *)(lit), sizeof(lit) - 1, out, err)

/* MILTER-NEG-05 / libmilter st_optionneg: OPTNEG data is 12 bytes (13 with
 * the command byte); shorter is an error, extra bytes are ignored. */
static void MILTER_NEG_05_optneg_parse(void **state)
{
	(void)state;
	static const char offer[] = "\0\0\0\x06\0\0\x01\xff\0\x1f\xff\xff"
				    "extra";
	struct milter_optneg o;
	struct signet_error err = {0};
	assert_int_equal(milter_parse_optneg((const uint8_t *)offer, 12, &o, &err), SIGNET_OK);
	assert_int_equal(o.version, 6);
	assert_int_equal(o.actions, 0x1FF);
	assert_int_equal(o.protocol, 0x1FFFFF);
	assert_int_equal(milter_parse_optneg((const uint8_t *)offer, 17, &o, &err), SIGNET_OK);
	assert_int_equal(o.protocol, 0x1FFFFF);
	assert_int_equal(milter_parse_optneg((const uint8_t *)offer, 11, &o, &err),
			 SIGNET_ERR_SYNTAX);
	assert_non_null(strstr(err.msg, "11 bytes"));
	assert_int_equal(prefixes_ok(offer, 12, p_optneg, &o), 0);
}

/* MILTER-WIRE-05 "CONNECT data: hostname\0, family byte (4 inet, 6 inet6,
 * L unix socket, U unknown), then (not for U) port as 2-byte network order
 * and address\0. Postfix sends [addr] as hostname when reverse lookup failed,
 * and port 0 for unix/unknown." */
static void MILTER_WIRE_05_connect_all_families(void **state)
{
	(void)state;
	struct milter_connect c;
	struct signet_error err = {0};
	assert_int_equal(PARSE(milter_parse_connect,
			       "mail.example\0004\x01\xbb"
			       "192.0.2.1\0",
			       &c, &err),
			 SIGNET_OK);
	ASSERT_SPAN(c.hostname, "mail.example");
	assert_int_equal(c.family, '4');
	assert_int_equal(c.port, 443);
	ASSERT_SPAN(c.address, "192.0.2.1");

	assert_int_equal(PARSE(milter_parse_connect,
			       "[2001:db8::1]\0006\xc3\x50"
			       "2001:db8::1\0",
			       &c, &err),
			 SIGNET_OK);
	ASSERT_SPAN(c.hostname, "[2001:db8::1]");
	assert_int_equal(c.family, '6');
	assert_int_equal(c.port, 50000);
	ASSERT_SPAN(c.address, "2001:db8::1");

	assert_int_equal(PARSE(milter_parse_connect, "localhost\0L\0\0/run/x.sock\0", &c, &err),
			 SIGNET_OK);
	assert_int_equal(c.family, 'L');
	assert_int_equal(c.port, 0);
	ASSERT_SPAN(c.address, "/run/x.sock");

	assert_int_equal(PARSE(milter_parse_connect, "unknown\0U", &c, &err), SIGNET_OK);
	ASSERT_SPAN(c.hostname, "unknown");
	assert_int_equal(c.family, 'U');
	assert_int_equal(c.port, 0);
	assert_int_equal(c.address.len, 0);
}

/* MILTER-WIRE-05 / MILTER-ERR-03: each truncation and each bad field is
 * an error, never a read past the data. */
static void MILTER_ERR_03_connect_malformed(void **state)
{
	(void)state;
	static const char full[] = "mail.example\0004\x01\xbb"
				   "192.0.2.1\0";
	struct milter_connect c;
	struct signet_error err = {0};
	assert_int_equal(prefixes_ok(full, sizeof full - 1, p_connect, &c), 0);
	assert_int_equal(PARSE(milter_parse_connect, "host\0X\0\0addr\0", &c, &err),
			 SIGNET_ERR_SYNTAX);
	assert_non_null(strstr(err.msg, "unknown address family 0x58"));
	assert_int_equal(PARSE(milter_parse_connect, "host\0", &c, &err), SIGNET_ERR_SYNTAX);
	assert_non_null(strstr(err.msg, "without an address family"));
	assert_int_equal(PARSE(milter_parse_connect, "host\0004\0", &c, &err), SIGNET_ERR_SYNTAX);
	assert_non_null(strstr(err.msg, "port truncated"));
	assert_int_equal(PARSE(milter_parse_connect,
			       "host\0004\0\x19"
			       "1.2.3.4",
			       &c, &err),
			 SIGNET_ERR_SYNTAX);
	assert_non_null(strstr(err.msg, "address not NUL"));
	assert_int_equal(PARSE(milter_parse_connect, "host", &c, &err), SIGNET_ERR_SYNTAX);
	assert_non_null(strstr(err.msg, "hostname not NUL"));
	/* A NUL in the middle of the address ends it (as libmilter reads it). */
	assert_int_equal(PARSE(milter_parse_connect,
			       "h\0004\0\x19"
			       "1.2\0.3.4\0",
			       &c, &err),
			 SIGNET_OK);
	ASSERT_SPAN(c.address, "1.2");
}

/* MILTER-WIRE-06 "MAIL / RCPT data: one or more NUL-terminated strings:
 * the address in <...> then ESMTP parameters. Test: <> null sender handled." */
static void MILTER_WIRE_06_mail_rcpt_args(void **state)
{
	(void)state;
	struct milter_envelope e;
	struct signet_error err = {0};
	assert_int_equal(PARSE(milter_parse_envelope, "<>\0", &e, &err), SIGNET_OK);
	ASSERT_SPAN(e.addr, "<>");
	assert_int_equal(e.nargs, 0);
	struct signet_span rest = e.args, arg;
	assert_false(milter_arg_next(&rest, &arg));

	assert_int_equal(PARSE(milter_parse_envelope, "<a@example.com>\0SIZE=123\0BODY=8BITMIME\0",
			       &e, &err),
			 SIGNET_OK);
	ASSERT_SPAN(e.addr, "<a@example.com>");
	assert_int_equal(e.nargs, 2);
	rest = e.args;
	assert_true(milter_arg_next(&rest, &arg));
	ASSERT_SPAN(arg, "SIZE=123");
	assert_true(milter_arg_next(&rest, &arg));
	ASSERT_SPAN(arg, "BODY=8BITMIME");
	assert_false(milter_arg_next(&rest, &arg));

	/* An empty argument is still an argument. */
	assert_int_equal(PARSE(milter_parse_envelope, "<a@b>\0\0", &e, &err), SIGNET_OK);
	assert_int_equal(e.nargs, 1);
}

/* MILTER-ERR-03: MAIL/RCPT with missing NULs. */
static void MILTER_ERR_03_envelope_malformed(void **state)
{
	(void)state;
	static const char full[] = "<a@b>\0SIZE=1\0";
	struct milter_envelope e;
	struct signet_error err = {0};
	/* Prefixes: only "<a@b>\0" (the address alone) is complete. */
	assert_int_equal(prefixes_ok(full, sizeof full - 1, p_env, &e), 1);
	assert_int_equal(PARSE(milter_parse_envelope, "<a@b>\0SIZE=1", &e, &err),
			 SIGNET_ERR_SYNTAX);
	assert_non_null(strstr(err.msg, "ESMTP argument at offset 6"));
	assert_int_equal(PARSE(milter_parse_envelope, "", &e, &err), SIGNET_ERR_SYNTAX);
	assert_non_null(strstr(err.msg, "address not NUL"));
}

/* MILTER-WIRE-07 "HEADER data: name\0value\0." Folds arrive as "\n"
 * (MILTER-CONV-06); the value keeps its bytes, including a NUL inside. */
static void MILTER_WIRE_07_header(void **state)
{
	(void)state;
	struct milter_header h;
	struct signet_error err = {0};
	assert_int_equal(PARSE(milter_parse_header, "Subject\0 a\n\tb\0", &h, &err), SIGNET_OK);
	ASSERT_SPAN(h.name, "Subject");
	ASSERT_SPAN(h.value, " a\n\tb");
	assert_int_equal(PARSE(milter_parse_header, "X\0\0", &h, &err), SIGNET_OK);
	ASSERT_SPAN(h.name, "X");
	assert_int_equal(h.value.len, 0);
	assert_int_equal(PARSE(milter_parse_header, "X\0a\0b\0", &h, &err), SIGNET_OK);
	ASSERT_SPAN(h.value, "a\0b");
}

/* MILTER-ERR-03: HEADER truncated, without NULs, with an empty name. */
static void MILTER_ERR_03_header_malformed(void **state)
{
	(void)state;
	static const char full[] = "Subject\0 x\0";
	struct milter_header h;
	struct signet_error err = {0};
	assert_int_equal(prefixes_ok(full, sizeof full - 1, p_header, &h), 0);
	assert_int_equal(PARSE(milter_parse_header, "Subject\0 x", &h, &err), SIGNET_ERR_SYNTAX);
	assert_non_null(strstr(err.msg, "'Subject' value not NUL"));
	assert_int_equal(PARSE(milter_parse_header, "Subject\0", &h, &err), SIGNET_ERR_SYNTAX);
	assert_int_equal(PARSE(milter_parse_header, "\0x\0", &h, &err), SIGNET_ERR_SYNTAX);
	assert_non_null(strstr(err.msg, "empty name"));
}

/* MILTER-WIRE-07 "MACRO: one byte naming the command it precedes, then
 * name\0value\0 pairs (names with braces as {auth_authen}, single letters
 * bare)." A 'D' with zero pairs is valid (MILTER-GEN-03). */
static void MILTER_WIRE_07_macro(void **state)
{
	(void)state;
	struct milter_macro_list m;
	struct signet_error err = {0};
	assert_int_equal(PARSE(milter_parse_macro, "M{auth_authen}\0bob\0i\0ABC123\0", &m, &err),
			 SIGNET_OK);
	assert_int_equal(m.stage, 'M');
	assert_int_equal(m.count, 2);
	struct signet_span rest = m.pairs, name, value;
	assert_true(milter_macro_next(&rest, &name, &value));
	ASSERT_SPAN(name, "{auth_authen}");
	ASSERT_SPAN(value, "bob");
	assert_true(milter_macro_next(&rest, &name, &value));
	ASSERT_SPAN(name, "i");
	ASSERT_SPAN(value, "ABC123");
	assert_false(milter_macro_next(&rest, &name, &value));

	assert_int_equal(PARSE(milter_parse_macro, "H", &m, &err), SIGNET_OK);
	assert_int_equal(m.stage, 'H');
	assert_int_equal(m.count, 0);
	/* An empty value is a value. */
	assert_int_equal(PARSE(milter_parse_macro, "C{x}\0\0", &m, &err), SIGNET_OK);
	assert_int_equal(m.count, 1);
}

/* MILTER-ERR-03: MACRO without stage, with a name and no value, unterminated. */
static void MILTER_ERR_03_macro_malformed(void **state)
{
	(void)state;
	static const char full[] = "Ci\0v\0j\0w\0";
	struct milter_macro_list m;
	struct signet_error err = {0};
	/* Accepted prefixes: "C", "Ci\0v\0" — every other cut is inside a pair. */
	assert_int_equal(prefixes_ok(full, sizeof full - 1, p_macro, &m), 2);
	assert_int_equal(PARSE(milter_parse_macro, "", &m, &err), SIGNET_ERR_SYNTAX);
	assert_non_null(strstr(err.msg, "without a stage"));
	assert_int_equal(PARSE(milter_parse_macro, "Ci\0", &m, &err), SIGNET_ERR_SYNTAX);
	assert_non_null(strstr(err.msg, "'i' without a NUL-terminated value"));
	assert_int_equal(PARSE(milter_parse_macro, "Ci", &m, &err), SIGNET_ERR_SYNTAX);
	assert_non_null(strstr(err.msg, "name at offset 1"));
}

/* MILTER-WIRE-03: HELO and UNKNOWN carry one NUL-terminated string. */
static void MILTER_WIRE_03_helo_unknown_string(void **state)
{
	(void)state;
	struct signet_span s;
	struct signet_error err = {0};
	assert_int_equal(PARSE(milter_parse_string, "client.example\0", &s, &err), SIGNET_OK);
	ASSERT_SPAN(s, "client.example");
	assert_int_equal(PARSE(milter_parse_string, "\0", &s, &err), SIGNET_OK);
	assert_int_equal(s.len, 0);
	assert_int_equal(prefixes_ok("helo\0", 5, p_string, &s), 0);
	assert_int_equal(PARSE(milter_parse_string, "client", &s, &err), SIGNET_ERR_SYNTAX);
	assert_non_null(strstr(err.msg, "not NUL-terminated"));
}

/* MILTER-WIRE-03: milter_command_parse dispatches every command; BODYEOB
 * data is a last body chunk (libmilter st_bodyend); data on EOH/ABORT/QUIT/
 * DATA is ignored as libmilter does. */
static void MILTER_WIRE_03_command_parse_dispatch(void **state)
{
	(void)state;
	struct milter_command c;
	struct signet_error err = {0};
	struct milter_packet p = {.cmd = SMFIC_BODYEOB, .data = (const uint8_t *)"tail", .len = 4};
	assert_int_equal(milter_command_parse(&p, &c, &err), SIGNET_OK);
	ASSERT_SPAN(c.u.body, "tail");
	p = (struct milter_packet){.cmd = SMFIC_RCPT, .data = (const uint8_t *)"<x@y>\0", .len = 6};
	assert_int_equal(milter_command_parse(&p, &c, &err), SIGNET_OK);
	ASSERT_SPAN(c.u.env.addr, "<x@y>");
	p = (struct milter_packet){
		.cmd = SMFIC_UNKNOWN, .data = (const uint8_t *)"VRFY x\0", .len = 7};
	assert_int_equal(milter_command_parse(&p, &c, &err), SIGNET_OK);
	ASSERT_SPAN(c.u.unknown, "VRFY x");
	p = (struct milter_packet){.cmd = SMFIC_ABORT, .data = (const uint8_t *)"junk", .len = 4};
	assert_int_equal(milter_command_parse(&p, &c, &err), SIGNET_OK);
	p = (struct milter_packet){.cmd = SMFIC_EOH, .data = NULL, .len = 0};
	assert_int_equal(milter_command_parse(&p, &c, &err), SIGNET_OK);
	assert_int_equal(c.cmd, 'N');
	p = (struct milter_packet){.cmd = SMFIC_HEADER, .data = NULL, .len = 0};
	assert_int_equal(milter_command_parse(&p, &c, &err), SIGNET_ERR_SYNTAX);
	p = (struct milter_packet){.cmd = SMFIC_OPTNEG, .data = NULL, .len = 0};
	assert_int_equal(milter_command_parse(&p, &c, &err), SIGNET_ERR_SYNTAX);
	p = (struct milter_packet){.cmd = 'Z', .data = NULL, .len = 0};
	assert_int_equal(milter_command_parse(&p, &c, &err), SIGNET_ERR_SYNTAX);
}

/* ---- negotiation ---- */

static const struct milter_optneg postfix_offer = {6, 0x1FF, 0x1FFFFF};

/* MILTER-NEG-01 "Ask only for the actions used: SMFIF_ADDHDRS and
 * SMFIF_CHGHDRS. Test: OPTNEG reply actions == 0x11 (plus 0x100 SETSYMLIST
 * if we use it)." */
static void MILTER_NEG_01_actions(void **state)
{
	(void)state;
	struct milter_optneg r;
	struct signet_error err = {0};
	assert_int_equal(milter_negotiate(&postfix_offer, false, &r, &err), SIGNET_OK);
	assert_int_equal(r.actions, 0x11);
	assert_int_equal(milter_negotiate(&postfix_offer, true, &r, &err), SIGNET_OK);
	assert_int_equal(r.actions, 0x111);
	struct milter_optneg no_symlist = {6, 0xFF, 0x1FFFFF};
	assert_int_equal(milter_negotiate(&no_symlist, true, &r, &err), SIGNET_OK);
	assert_int_equal(r.actions, 0x11);
	struct milter_optneg no_chg = {6, 0x1EF, 0x1FFFFF};
	assert_int_equal(milter_negotiate(&no_chg, false, &r, &err), SIGNET_ERR_INVAL);
	assert_non_null(strstr(err.msg, "0x1ef"));
	/* Actions 0 mean v1's 0x0F, which lacks CHGHDRS. */
	struct milter_optneg zero = {6, 0, 0x1FFFFF};
	assert_int_equal(milter_negotiate(&zero, false, &r, &err), SIGNET_ERR_INVAL);
}

/* MILTER-NEG-02 "Turn off events not needed and the replies to the ones we
 * keep ... only request flags the MTA offered. Test: OPTNEG reply protocol
 * mask equals the documented value; with an MTA offering protocol 2 flags
 * only we still work." */
static void MILTER_NEG_02_protocol_mask(void **state)
{
	(void)state;
	struct milter_optneg r;
	struct signet_error err = {0};
	assert_int_equal(milter_negotiate(&postfix_offer, false, &r, &err), SIGNET_OK);
	/* NOHELO 0x2 NORCPT 0x8 NR_HDR 0x80 NOUNKNOWN 0x100 NODATA 0x200 NR_CONN
	 * 0x1000 NR_MAIL 0x4000 NR_EOH 0x40000 NR_BODY 0x80000 HDR_LEADSPC 0x100000 */
	assert_int_equal(r.protocol, 0x1C538A);
	struct milter_optneg v2 = {2, 0x3F, 0x7F};
	assert_int_equal(milter_negotiate(&v2, false, &r, &err), SIGNET_OK);
	assert_int_equal(r.protocol, SMFIP_NOHELO | SMFIP_NORCPT); /* NR_HDR is 0x80 */
	assert_int_equal(r.version, 2);
	struct milter_optneg zero = {6, 0x1FF, 0};
	assert_int_equal(milter_negotiate(&zero, false, &r, &err), SIGNET_OK);
	assert_int_equal(r.protocol, SMFIP_NOHELO | SMFIP_NORCPT); /* v1 0x3F */
	/* Unknown and MDS bits offered are never requested. */
	struct milter_optneg mds = {6, 0x1FF, 0xFFFFFFFFu};
	assert_int_equal(milter_negotiate(&mds, false, &r, &err), SIGNET_OK);
	assert_int_equal(r.protocol, 0x1C538A);
}

/* MILTER-NEG-03 "Request SMFIP_HDR_LEADSPC (0x100000)" where offered. */
static void MILTER_NEG_03_leadspc_only_if_offered(void **state)
{
	(void)state;
	struct milter_optneg r;
	struct signet_error err = {0};
	struct milter_optneg old = {6, 0x1FF, 0x0FFFFF};
	assert_int_equal(milter_negotiate(&old, false, &r, &err), SIGNET_OK);
	assert_int_equal(r.protocol & SMFIP_HDR_LEADSPC, 0);
	assert_int_equal(r.protocol, 0x0C538A);
	assert_int_equal(milter_negotiate(&postfix_offer, false, &r, &err), SIGNET_OK);
	assert_int_equal(r.protocol & SMFIP_HDR_LEADSPC, SMFIP_HDR_LEADSPC);
}

/* MILTER-NEG-05 "we reply 6 ... for a lower version ..." — the MTA's when
 * lower, refused below 2 (libmilter SMFI_PROT_VERSION_MIN). */
static void MILTER_NEG_05_version(void **state)
{
	(void)state;
	struct milter_optneg r;
	struct signet_error err = {0};
	uint32_t offers[] = {2, 3, 5, 6, 7, 100};
	uint32_t want[] = {2, 3, 5, 6, 6, 6};
	for (size_t k = 0; k < 6; k++) {
		struct milter_optneg o = {offers[k], 0x1FF, 0x1FFFFF};
		assert_int_equal(milter_negotiate(&o, false, &r, &err), SIGNET_OK);
		assert_int_equal(r.version, want[k]);
	}
	for (uint32_t v = 0; v < 2; v++) {
		struct milter_optneg o = {v, 0x1FF, 0x1FFFFF};
		assert_int_equal(milter_negotiate(&o, false, &r, &err), SIGNET_ERR_SYNTAX);
		assert_non_null(strstr(err.msg, "need at least 2"));
	}
}

/* MILTER-NEG-01/02/05 golden bytes: our OPTNEG reply to Postfix's offer
 * 6/0x1FF/0x1FFFFF (MILTER-GEN-01) is version 6, actions 0x11, protocol
 * 0x1C538A, as libmilter lays it out (three big-endian uint32). */
static void MILTER_NEG_02_optneg_reply_golden_postfix(void **state)
{
	(void)state;
	struct milter_optneg r;
	struct signet_error err = {0};
	struct signet_buf out;
	buf_init(&out, 1024);
	assert_int_equal(milter_negotiate(&postfix_offer, false, &r, &err), SIGNET_OK);
	assert_int_equal(milter_put_optneg(&out, &r, NULL, 0, &err), SIGNET_OK);
	ASSERT_BYTES(&out, "\0\0\0\x0d"
			   "O"
			   "\0\0\0\x06"
			   "\0\0\0\x11"
			   "\0\x1c\x53\x8a");
	buf_free(&out);
}

/* MILTER-NEG-04 "Request macros per stage ... via smfi_setsymlist ...
 * Stage numbers in the list: 0 CONNECT, 2 ENVFROM, 5 EOM" — layout of
 * libmilter's milter_addsymlist: uint32 stage + names\0 after the flags. */
static void MILTER_NEG_04_optneg_reply_with_symlists(void **state)
{
	(void)state;
	struct milter_optneg r;
	struct signet_error err = {0};
	struct signet_buf out;
	buf_init(&out, 1024);
	static const struct milter_symlist lists[] = {
		{SMFIM_CONNECT, "j {daemon_name}"},
		{SMFIM_ENVFROM, "i {auth_authen}"},
		{SMFIM_EOM, "i"},
	};
	assert_int_equal(milter_negotiate(&postfix_offer, true, &r, &err), SIGNET_OK);
	assert_int_equal(milter_put_optneg(&out, &r, lists, 3, &err), SIGNET_OK);
	ASSERT_BYTES(&out, "\0\0\0\x3b"
			   "O\0\0\0\x06\0\0\x01\x11\0\x1c\x53\x8a"
			   "\0\0\0\0j {daemon_name}\0"
			   "\0\0\0\x02i {auth_authen}\0"
			   "\0\0\0\x05i\0");
	/* Lists without SETSYMLIST negotiated, a bad stage, empty names: refused. */
	size_t before = out.len;
	struct milter_optneg plain = r;
	plain.actions = 0x11;
	assert_int_equal(milter_put_optneg(&out, &plain, lists, 3, &err), SIGNET_ERR_INVAL);
	struct milter_symlist bad[] = {{7, "i"}};
	assert_int_equal(milter_put_optneg(&out, &r, bad, 1, &err), SIGNET_ERR_INVAL);
	struct milter_symlist empty[] = {{0, ""}};
	assert_int_equal(milter_put_optneg(&out, &r, empty, 1, &err), SIGNET_ERR_INVAL);
	assert_int_equal(out.len, before);
	buf_free(&out);
}

/* MILTER-CONV-04 "NOREPLY (only for NR_-negotiated events)": never a reply
 * to an NR event, always one otherwise. */
static void MILTER_CONV_04_reply_expected(void **state)
{
	(void)state;
	uint32_t neg = 0x1C538A;
	struct {
		uint8_t cmd;
		bool with_neg;
		bool none;
	} table[] = {
		{SMFIC_OPTNEG, true, true},    {SMFIC_CONNECT, false, true},
		{SMFIC_HELO, true, true},      {SMFIC_MAIL, false, true},
		{SMFIC_RCPT, true, true},      {SMFIC_DATA, true, true},
		{SMFIC_UNKNOWN, true, true},   {SMFIC_HEADER, false, true},
		{SMFIC_EOH, false, true},      {SMFIC_BODY, false, true},
		{SMFIC_BODYEOB, true, true},   {SMFIC_MACRO, false, false},
		{SMFIC_ABORT, false, false},   {SMFIC_QUIT, false, false},
		{SMFIC_QUIT_NC, false, false},
	};
	for (size_t k = 0; k < sizeof table / sizeof table[0]; k++) {
		assert_int_equal(milter_reply_expected(neg, table[k].cmd), table[k].with_neg);
		assert_int_equal(milter_reply_expected(0, table[k].cmd), table[k].none);
	}
	/* Every NR_ flag silences exactly its event. */
	assert_false(milter_reply_expected(SMFIP_NR_HELO, SMFIC_HELO));
	assert_false(milter_reply_expected(SMFIP_NR_RCPT, SMFIC_RCPT));
	assert_false(milter_reply_expected(SMFIP_NR_DATA, SMFIC_DATA));
	assert_false(milter_reply_expected(SMFIP_NR_UNKN, SMFIC_UNKNOWN));
	assert_true(milter_reply_expected(SMFIP_NR_HELO, SMFIC_RCPT));
}

/* ---- encoders ---- */

/* MILTER-WIRE-04: replies without data, golden bytes; other bytes refused. */
static void MILTER_WIRE_04_plain_replies(void **state)
{
	(void)state;
	struct signet_buf out;
	buf_init(&out, 1024);
	struct signet_error err = {0};
	const char *all = "cartdsp4f";
	for (const char *c = all; *c; c++)
		assert_int_equal(milter_put_reply(&out, (uint8_t)*c, &err), SIGNET_OK);
	ASSERT_BYTES(&out, "\0\0\0\1c\0\0\0\1a\0\0\0\1r\0\0\0\1t\0\0\0\1d"
			   "\0\0\0\1s\0\0\0\1p\0\0\0\x01"
			   "4\0\0\0\1f");
	size_t before = out.len;
	const char *bad = "ihmyqO+x";
	for (const char *c = bad; *c; c++)
		assert_int_equal(milter_put_reply(&out, (uint8_t)*c, &err), SIGNET_ERR_INVAL);
	assert_int_equal(milter_put_reply(&out, 0, &err), SIGNET_ERR_INVAL);
	assert_int_equal(out.len, before);
	buf_free(&out);
}

/* MILTER-WIRE-04 'y' replycode "4xx 4.x.x text" (libmilter smfi_setreply). */
static void MILTER_WIRE_04_replycode(void **state)
{
	(void)state;
	struct signet_buf out;
	buf_init(&out, 1024);
	struct signet_error err = {0};
	assert_int_equal(
		milter_put_replycode(&out, "451", "4.7.1", "signing failed, try later", &err),
		SIGNET_OK);
	ASSERT_BYTES(&out, "\0\0\0\x25y451 4.7.1 signing failed, try later\0");
	buf_reset(&out);
	assert_int_equal(milter_put_replycode(&out, "550", NULL, NULL, &err), SIGNET_OK);
	ASSERT_BYTES(&out, "\0\0\0\x0by550 5.0.0\0");
	buf_reset(&out);
	const char *bad_rcode[] = {"251", "45", "4511", "4x1", NULL};
	for (size_t k = 0; k < 5; k++)
		assert_int_equal(milter_put_replycode(&out, bad_rcode[k], NULL, "x", &err),
				 SIGNET_ERR_INVAL);
	const char *bad_x[] = {"5.7.1", "4.7", "4..1", "4.7.1.", "4.7.1234", "4.1000.1", "x"};
	for (size_t k = 0; k < 7; k++)
		assert_int_equal(milter_put_replycode(&out, "451", bad_x[k], "x", &err),
				 SIGNET_ERR_INVAL);
	assert_int_equal(milter_put_replycode(&out, "451", "4.123.456", NULL, &err), SIGNET_OK);
	buf_reset(&out);
	assert_int_equal(milter_put_replycode(&out, "451", "4.7.1", "two\r\nlines", &err),
			 SIGNET_ERR_INVAL);
	assert_non_null(strstr(err.msg, "CR or LF"));
	assert_int_equal(out.len, 0);
	buf_free(&out);
}

/* MILTER-EOM-01 "smfi_insheader(ctx, 0, "DKIM-Signature", value)": 'i',
 * uint32 index 0, name\0, value\0. */
static void MILTER_EOM_01_insheader_index_0(void **state)
{
	(void)state;
	struct signet_buf out;
	buf_init(&out, 1024);
	struct signet_error err = {0};
	static const char v[] = "v=1; a=ed25519-sha256;\n\tb=x";
	assert_int_equal(milter_put_insheader(&out, 0, "DKIM-Signature", (const uint8_t *)v,
					      sizeof v - 1, &err),
			 SIGNET_OK);
	ASSERT_BYTES(&out, "\0\0\0\x30"
			   "i\0\0\0\0DKIM-Signature\0v=1; a=ed25519-sha256;\n\tb=x\0");
	buf_reset(&out);
	assert_int_equal(milter_put_addheader(&out, "X-A", (const uint8_t *)"b", 1, &err),
			 SIGNET_OK);
	ASSERT_BYTES(&out, "\0\0\0\x07hX-A\0b\0");
	buf_free(&out);
}

/* MILTER-EOM-02 "Test: AR at positions 1 and 3 are ours → m replies idx 3
 * then 1, value empty." */
static void MILTER_EOM_02_chgheader_delete_descending(void **state)
{
	(void)state;
	struct signet_buf out;
	buf_init(&out, 1024);
	struct signet_error err = {0};
	assert_int_equal(milter_put_chgheader(&out, 3, "Authentication-Results", NULL, 0, &err),
			 SIGNET_OK);
	assert_int_equal(milter_put_chgheader(&out, 1, "Authentication-Results", NULL, 0, &err),
			 SIGNET_OK);
	ASSERT_BYTES(&out, "\0\0\0\x1d"
			   "m\0\0\0\x03"
			   "Authentication-Results\0\0"
			   "\0\0\0\x1d"
			   "m\0\0\0\x01"
			   "Authentication-Results\0\0");
	buf_free(&out);
}

/* MILTER-EOM-03 "deletions first, then insert AR, then insert DKIM-Signature"
 * — all replies of a step in one buffer, one write (DESIGN.md), decoded back
 * packet by packet. */
static void MILTER_EOM_03_one_buffer_for_the_step(void **state)
{
	(void)state;
	struct signet_buf out;
	buf_init(&out, 4096);
	struct signet_error err = {0};
	assert_int_equal(milter_put_chgheader(&out, 2, "Authentication-Results", NULL, 0, &err),
			 SIGNET_OK);
	assert_int_equal(milter_put_insheader(&out, 0, "Authentication-Results",
					      (const uint8_t *)" mx; dkim=pass", 14, &err),
			 SIGNET_OK);
	assert_int_equal(
		milter_put_insheader(&out, 0, "DKIM-Signature", (const uint8_t *)" v=1", 4, &err),
		SIGNET_OK);
	assert_int_equal(milter_put_reply(&out, SMFIR_CONTINUE, &err), SIGNET_OK);
	const char *want = "miic";
	size_t off = 0;
	for (size_t k = 0; k < 4; k++) {
		assert_true(off + 5 <= out.len);
		uint32_t n = (uint32_t)out.data[off] << 24 | (uint32_t)out.data[off + 1] << 16 |
			     (uint32_t)out.data[off + 2] << 8 | out.data[off + 3];
		assert_int_equal(out.data[off + 4], want[k]);
		off += 4 + n;
	}
	assert_int_equal(off, out.len);
	buf_free(&out);
}

/* MILTER-WIRE-04 'q' quarantine reason\0. */
static void MILTER_WIRE_04_quarantine(void **state)
{
	(void)state;
	struct signet_buf out;
	buf_init(&out, 1024);
	struct signet_error err = {0};
	assert_int_equal(milter_put_quarantine(&out, "held", &err), SIGNET_OK);
	ASSERT_BYTES(&out, "\0\0\0\x06qheld\0");
	assert_int_equal(milter_put_quarantine(&out, "", &err), SIGNET_ERR_INVAL);
	assert_int_equal(milter_put_quarantine(&out, NULL, &err), SIGNET_ERR_INVAL);
	assert_int_equal(milter_put_quarantine(&out, "a\nb", &err), SIGNET_ERR_INVAL);
	assert_int_equal(out.len, 10);
	buf_free(&out);
}

/* MILTER-PFX-07: header edits refuse a CR or NUL in the value and a bad
 * field name; the buffer is unchanged. */
static void MILTER_PFX_07_header_encoders_refuse_cr(void **state)
{
	(void)state;
	struct signet_buf out;
	buf_init(&out, 1024);
	struct signet_error err = {0};
	assert_int_equal(milter_put_insheader(&out, 0, "X", (const uint8_t *)" a\r\n\tb", 6, &err),
			 SIGNET_ERR_INVAL);
	assert_non_null(strstr(err.msg, "CR or NUL"));
	assert_int_equal(milter_put_insheader(&out, 0, "X", (const uint8_t *)" a\0b", 4, &err),
			 SIGNET_ERR_INVAL);
	const char *names[] = {"", "A:B", "A B", "A\tB", "\x7f", NULL};
	for (size_t k = 0; k < 6; k++)
		assert_int_equal(
			milter_put_addheader(&out, names[k], (const uint8_t *)"x", 1, &err),
			SIGNET_ERR_INVAL);
	assert_int_equal(out.len, 0);
	buf_free(&out);
}

/* Encoder limits: the caller's cap at limit-1 / limit, and the reply data
 * bound MILTER_MAX_REPLY_DATA at limit / limit+1; on error the buffer is
 * exactly as before. */
static void MILTER_WIRE_02_encoder_limits(void **state)
{
	(void)state;
	struct signet_error err = {0};
	struct signet_buf out;
	/* 'h' "X\0" + value + "\0": packet = 5 + 2 + vlen + 1. */
	buf_init(&out, 5 + 2 + 10 + 1);
	assert_int_equal(milter_put_reply(&out, SMFIR_CONTINUE, &err), SIGNET_OK);
	assert_int_equal(milter_put_addheader(&out, "X", (const uint8_t *)"0123456789", 10, &err),
			 SIGNET_ERR_LIMIT);
	assert_int_equal(out.len, 5);
	buf_reset(&out);
	assert_int_equal(milter_put_addheader(&out, "X", (const uint8_t *)"0123456789", 10, &err),
			 SIGNET_OK);
	assert_int_equal(out.len, 18);
	buf_free(&out);

	size_t vmax = MILTER_MAX_REPLY_DATA - 3; /* name "X\0" + value + "\0" */
	uint8_t *v = malloc(vmax + 1);
	assert_non_null(v);
	memset(v, 'a', vmax + 1);
	buf_init(&out, 1 << 20);
	assert_int_equal(milter_put_addheader(&out, "X", v, vmax, &err), SIGNET_OK);
	assert_int_equal(out.len, 5 + MILTER_MAX_REPLY_DATA);
	assert_memory_equal(out.data, "\0\x01\0\0", 4); /* 65535 data + 1 command byte */
	assert_int_equal(milter_put_addheader(&out, "X", v, vmax + 1, &err), SIGNET_ERR_LIMIT);
	assert_int_equal(out.len, 5 + MILTER_MAX_REPLY_DATA);
	free(v);
	buf_free(&out);
}

/* MILTER-PFX-07 "fold our headers with \n\t on the wire, while the bytes we
 * hash use \r\n\t" and MILTER-NEG-03 (leading SP verbatim with LEADSPC,
 * else the MTA adds one SP so we drop ours). */
static void MILTER_PFX_07_fold_conversion(void **state)
{
	(void)state;
	static const char v[] = " v=1; a=rsa-sha256; d=example.com;\r\n\tb=abc\r\n\t def";
	struct signet_buf out;
	buf_init(&out, 1024);
	struct signet_error err = {0};
	assert_int_equal(
		milter_header_value_wire((const uint8_t *)v, sizeof v - 1, true, &out, &err),
		SIGNET_OK);
	ASSERT_BYTES(&out, " v=1; a=rsa-sha256; d=example.com;\n\tb=abc\n\t def");
	buf_reset(&out);
	assert_int_equal(
		milter_header_value_wire((const uint8_t *)v, sizeof v - 1, false, &out, &err),
		SIGNET_OK);
	ASSERT_BYTES(&out, "v=1; a=rsa-sha256; d=example.com;\n\tb=abc\n\t def");
	/* Appends after what is there. */
	assert_int_equal(milter_header_value_wire((const uint8_t *)"  x", 3, false, &out, &err),
			 SIGNET_OK);
	ASSERT_BYTES(&out, "v=1; a=rsa-sha256; d=example.com;\n\tb=abc\n\t def x");
	buf_free(&out);
}

/* MILTER-NEG-03: without LEADSPC a value not starting with SP cannot arrive
 * byte-exact (the MTA inserts one SP); a bare CR or a NUL cannot be sent. */
static void MILTER_NEG_03_leading_space_rule(void **state)
{
	(void)state;
	struct signet_buf out;
	buf_init(&out, 1024);
	struct signet_error err = {0};
	assert_int_equal(milter_header_value_wire((const uint8_t *)"\tx", 2, false, &out, &err),
			 SIGNET_ERR_INVAL);
	assert_non_null(strstr(err.msg, "must start with SP"));
	assert_int_equal(milter_header_value_wire((const uint8_t *)"", 0, false, &out, &err),
			 SIGNET_ERR_INVAL);
	assert_int_equal(milter_header_value_wire((const uint8_t *)"\tx", 2, true, &out, &err),
			 SIGNET_OK);
	ASSERT_BYTES(&out, "\tx");
	assert_int_equal(milter_header_value_wire((const uint8_t *)" \n\tb", 4, false, &out, &err),
			 SIGNET_OK);
	ASSERT_BYTES(&out, "\tx\n\tb"); /* bare LF kept */
	const char *bad[] = {" a\rb", " a\r", " a\0b", " \r\r\n"};
	size_t blen[] = {4, 3, 4, 4};
	for (size_t k = 0; k < 4; k++) {
		assert_int_equal(milter_header_value_wire((const uint8_t *)bad[k], blen[k], true,
							  &out, &err),
				 SIGNET_ERR_INVAL);
		assert_int_equal(out.len, 5);
	}
	buf_free(&out);
	/* At the cap: the value fits exactly, one byte more is refused. */
	buf_init(&out, 3);
	assert_int_equal(milter_header_value_wire((const uint8_t *)" abc", 4, false, &out, &err),
			 SIGNET_OK);
	buf_reset(&out);
	assert_int_equal(milter_header_value_wire((const uint8_t *)" abcd", 5, false, &out, &err),
			 SIGNET_ERR_LIMIT);
	assert_int_equal(out.len, 0);
	buf_free(&out);
}

/* ---- macro store ---- */

static void store(struct milter_macros *m, const char *lit, size_t len)
{
	struct milter_macro_list l;
	struct signet_error err = {0};
	assert_int_equal(milter_parse_macro((const uint8_t *)lit, len, &l, &err), SIGNET_OK);
	assert_int_equal(milter_macros_store(m, &l, &err), SIGNET_OK);
}

#define STORE(m, lit) store(m, lit, sizeof(lit) - 1)

/* MILTER-CONV-09 "smfi_getsymval looks through the macros stored for every
 * stage, so a value sent at MAIL ({auth_authen}) is still readable at EOM
 * of the same message; it returns NULL for a macro never sent." */
static void MILTER_CONV_09_macros_across_stages(void **state)
{
	(void)state;
	struct milter_macros m;
	milter_macros_init(&m);
	STORE(&m, "Cj\0mx.example\0{daemon_name}\0signet\0");
	STORE(&m, "M{auth_authen}\0alice\0{auth_type}\0PLAIN\0");
	STORE(&m, "R{rcpt_addr}\0b@example.org\0");
	STORE(&m, "Ni\0Q1\0");
	STORE(&m, "L"); /* Postfix's 'D' before a header: not kept, like libmilter */
	STORE(&m, "Ei\0Q1\0");
	assert_string_equal(milter_macros_get(&m, "auth_authen"), "alice");
	assert_string_equal(milter_macros_get(&m, "{auth_authen}"), "alice");
	assert_string_equal(milter_macros_get(&m, "i"), "Q1");
	assert_string_equal(milter_macros_get(&m, "{i}"), "Q1");
	assert_string_equal(milter_macros_get(&m, "j"), "mx.example");
	assert_string_equal(milter_macros_get(&m, "{j}"), "mx.example");
	assert_string_equal(milter_macros_get(&m, "daemon_name"), "signet");
	assert_null(milter_macros_get(&m, "client_addr"));
	assert_null(milter_macros_get(&m, "auth"));
	assert_null(milter_macros_get(&m, ""));
	assert_null(milter_macros_get(&m, "{}"));
	assert_null(milter_macros_get(&m, NULL));
}

/* MILTER-CONV-09: a new list for a stage replaces that stage's list; the
 * latest stage wins on lookup (smfi_getsymval searches backwards). */
static void MILTER_CONV_09_stage_replaced_latest_first(void **state)
{
	(void)state;
	struct milter_macros m;
	milter_macros_init(&m);
	STORE(&m, "R{rcpt_addr}\0one@x\0{rcpt_host}\0x\0");
	STORE(&m, "R{rcpt_addr}\0two@x\0");
	assert_string_equal(milter_macros_get(&m, "rcpt_addr"), "two@x");
	assert_null(milter_macros_get(&m, "rcpt_host"));
	STORE(&m, "Mi\0FROM-MAIL\0");
	STORE(&m, "Ei\0FROM-EOM\0");
	assert_string_equal(milter_macros_get(&m, "i"), "FROM-EOM");
	STORE(&m, "Ni\0FROM-EOH\0");
	assert_string_equal(milter_macros_get(&m, "i"), "FROM-EOH");
	STORE(&m, "N"); /* an empty list clears the stage */
	assert_string_equal(milter_macros_get(&m, "i"), "FROM-EOM");
}

/* MILTER-CONV-01/09 reset points: the message stages go at EOM/ABORT, the
 * connection stages stay; milter_macros_reset drops all. Values are copies. */
static void MILTER_CONV_09_reset_points_and_copies(void **state)
{
	(void)state;
	struct milter_macros m;
	milter_macros_init(&m);
	char conn[] = "Cj\0mx\0";
	store(&m, conn, sizeof conn - 1);
	conn[3] = 'X'; /* the store copied */
	STORE(&m, "H{tls_version}\0TLSv1.3\0");
	STORE(&m, "M{auth_authen}\0alice\0");
	STORE(&m, "Ri\0r\0");
	STORE(&m, "Ti\0t\0");
	STORE(&m, "Ni\0n\0");
	STORE(&m, "Ei\0e\0");
	milter_macros_reset_message(&m);
	assert_string_equal(milter_macros_get(&m, "j"), "mx");
	assert_string_equal(milter_macros_get(&m, "tls_version"), "TLSv1.3");
	assert_null(milter_macros_get(&m, "auth_authen"));
	assert_null(milter_macros_get(&m, "i"));
	/* Next message after the reset. */
	STORE(&m, "M{auth_authen}\0bob\0");
	assert_string_equal(milter_macros_get(&m, "auth_authen"), "bob");
	milter_macros_reset(&m);
	assert_null(milter_macros_get(&m, "j"));
	assert_null(milter_macros_get(&m, "auth_authen"));
	assert_int_equal(milter_macro_stage('C'), SMFIM_CONNECT);
	assert_int_equal(milter_macro_stage('E'), SMFIM_EOM);
	assert_int_equal(milter_macro_stage('N'), SMFIM_EOH);
	assert_int_equal(milter_macro_stage('B'), -1);
}

/* MILTER-CONV-09 bounds: MILTER_MACROS_MAX entries and MILTER_MACROS_BYTES
 * at the limit and one past it; past it the stage's list is empty and the
 * other stages are untouched. */
static void MILTER_CONV_09_store_limits(void **state)
{
	(void)state;
	static struct milter_macros m;
	milter_macros_init(&m);
	STORE(&m, "Cj\0mx\0");
	/* MAX-1 more entries at MAIL fill the count exactly. */
	char lit[2048];
	size_t len = 0;
	lit[len++] = 'M';
	for (int k = 0; k < MILTER_MACROS_MAX - 1; k++)
		len += (size_t)snprintf(lit + len, sizeof lit - len, "m%d%cv%c", k, 0, 0);
	store(&m, lit, len);
	assert_string_equal(milter_macros_get(&m, "m62"), "v");
	/* One more entry (at RCPT): refused, RCPT empty, the rest intact. */
	struct milter_macro_list l;
	struct signet_error err = {0};
	assert_int_equal(milter_parse_macro((const uint8_t *)"Rx\0y\0", 5, &l, &err), SIGNET_OK);
	assert_int_equal(milter_macros_store(&m, &l, &err), SIGNET_ERR_LIMIT);
	assert_non_null(strstr(err.msg, "MILTER_MACROS_MAX"));
	assert_null(milter_macros_get(&m, "x"));
	assert_string_equal(milter_macros_get(&m, "m0"), "v");
	assert_string_equal(milter_macros_get(&m, "j"), "mx");

	/* Nothing half-stored: with room for one more entry, a two-entry list
	 * fails on its second and leaves its stage empty. */
	milter_macros_reset(&m);
	STORE(&m, "Cj\0mx\0");
	store(&m, lit, len - 6); /* drop "m62\0v\0": MAX-1 entries in all */
	assert_null(milter_macros_get(&m, "m62"));
	assert_int_equal(milter_parse_macro((const uint8_t *)"Rx\0y\0z\0w\0", 9, &l, &err),
			 SIGNET_OK);
	assert_int_equal(milter_macros_store(&m, &l, &err), SIGNET_ERR_LIMIT);
	assert_null(milter_macros_get(&m, "x"));
	assert_null(milter_macros_get(&m, "z"));
	assert_int_equal(milter_parse_macro((const uint8_t *)"Rx\0y\0", 5, &l, &err), SIGNET_OK);
	assert_int_equal(milter_macros_store(&m, &l, &err), SIGNET_OK);
	assert_string_equal(milter_macros_get(&m, "x"), "y");

	/* Bytes: name "b" + value of n bytes + 2 NULs; "j\0mx\0" holds 5. */
	milter_macros_reset(&m);
	STORE(&m, "Cj\0mx\0");
	size_t room = MILTER_MACROS_BYTES - 5;
	size_t vlen = room - 3; /* exactly fills the store */
	char *big = malloc(vlen + 8);
	assert_non_null(big);
	for (int extra = 0; extra <= 1; extra++) {
		big[0] = 'M';
		big[1] = 'b';
		big[2] = '\0';
		memset(big + 3, 'v', vlen + (size_t)extra);
		big[3 + vlen + (size_t)extra] = '\0';
		assert_int_equal(milter_parse_macro((const uint8_t *)big, 4 + vlen + (size_t)extra,
						    &l, &err),
				 SIGNET_OK);
		enum signet_status st = milter_macros_store(&m, &l, &err);
		if (extra == 0) {
			assert_int_equal(st, SIGNET_OK);
			assert_int_equal(strlen(milter_macros_get(&m, "b")), vlen);
		} else {
			assert_int_equal(st, SIGNET_ERR_LIMIT);
			assert_null(milter_macros_get(&m, "b"));
		}
		assert_string_equal(milter_macros_get(&m, "j"), "mx");
	}
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(MILTER_WIRE_01_roundtrip_every_command),
		cmocka_unit_test(MILTER_WIRE_01_every_split),
		cmocka_unit_test(MILTER_WIRE_01_feed_stops_after_each_packet),
		cmocka_unit_test(MILTER_WIRE_01_zero_length_refused),
		cmocka_unit_test(MILTER_ERR_03_pending_mid_packet),
		cmocka_unit_test(MILTER_WIRE_02_packet_bound),
		cmocka_unit_test(MILTER_WIRE_02_oversize_refused_before_allocation),
		cmocka_unit_test(MILTER_WIRE_02_buffer_bounded_over_many_packets),
		cmocka_unit_test(MILTER_WIRE_03_decoder_table),
		cmocka_unit_test(MILTER_ERR_03_garbage_stream),
		cmocka_unit_test(MILTER_WIRE_01_body_fragments_every_split),
		cmocka_unit_test(MILTER_WIRE_02_body_fragments_bound),
		cmocka_unit_test(MILTER_ERR_03_pending_mid_fragmented_body),
		cmocka_unit_test(MILTER_WIRE_01_body_fragments_opt_in),
		cmocka_unit_test(MILTER_NEG_05_optneg_parse),
		cmocka_unit_test(MILTER_WIRE_05_connect_all_families),
		cmocka_unit_test(MILTER_ERR_03_connect_malformed),
		cmocka_unit_test(MILTER_WIRE_06_mail_rcpt_args),
		cmocka_unit_test(MILTER_ERR_03_envelope_malformed),
		cmocka_unit_test(MILTER_WIRE_07_header),
		cmocka_unit_test(MILTER_ERR_03_header_malformed),
		cmocka_unit_test(MILTER_WIRE_07_macro),
		cmocka_unit_test(MILTER_ERR_03_macro_malformed),
		cmocka_unit_test(MILTER_WIRE_03_helo_unknown_string),
		cmocka_unit_test(MILTER_WIRE_03_command_parse_dispatch),
		cmocka_unit_test(MILTER_NEG_01_actions),
		cmocka_unit_test(MILTER_NEG_02_protocol_mask),
		cmocka_unit_test(MILTER_NEG_03_leadspc_only_if_offered),
		cmocka_unit_test(MILTER_NEG_05_version),
		cmocka_unit_test(MILTER_NEG_02_optneg_reply_golden_postfix),
		cmocka_unit_test(MILTER_NEG_04_optneg_reply_with_symlists),
		cmocka_unit_test(MILTER_CONV_04_reply_expected),
		cmocka_unit_test(MILTER_WIRE_04_plain_replies),
		cmocka_unit_test(MILTER_WIRE_04_replycode),
		cmocka_unit_test(MILTER_EOM_01_insheader_index_0),
		cmocka_unit_test(MILTER_EOM_02_chgheader_delete_descending),
		cmocka_unit_test(MILTER_EOM_03_one_buffer_for_the_step),
		cmocka_unit_test(MILTER_WIRE_04_quarantine),
		cmocka_unit_test(MILTER_PFX_07_header_encoders_refuse_cr),
		cmocka_unit_test(MILTER_WIRE_02_encoder_limits),
		cmocka_unit_test(MILTER_PFX_07_fold_conversion),
		cmocka_unit_test(MILTER_NEG_03_leading_space_rule),
		cmocka_unit_test(MILTER_CONV_09_macros_across_stages),
		cmocka_unit_test(MILTER_CONV_09_stage_replaced_latest_first),
		cmocka_unit_test(MILTER_CONV_09_reset_points_and_copies),
		cmocka_unit_test(MILTER_CONV_09_store_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
