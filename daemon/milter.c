/* milter.c: the milter protocol v6 codec (see milter.h): packet framing,
 * command parsers, reply encoders, negotiation and the macro store. Pure
 * functions over bytes; it does no I/O and keeps no global state. */
#include <string.h>

#include "error.h"
#include "milter.h"

#define SPEC_WIRE "MILTER-WIRE-01"

static uint32_t get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void set_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* ---- Decoder ---- */

static bool command_known(uint8_t c)
{
	/* MILTER-WIRE-03 */
	static const char cmds[] = "ABCDEHKLMNOQRTU";
	return memchr(cmds, c, sizeof cmds - 1) != NULL; /* not the NUL */
}

void milter_decoder_init(struct milter_decoder *d, size_t max_data)
{
	memset(d, 0, sizeof *d);
	buf_init(&d->data, max_data ? max_data : MILTER_DEFAULT_MAX_DATA);
}

void milter_decoder_free(struct milter_decoder *d)
{
	if (d == NULL)
		return;
	buf_free(&d->data);
}

void milter_decoder_body_fragments(struct milter_decoder *d, bool on)
{
	d->fragments = on;
}

size_t milter_decoder_pending(const struct milter_decoder *d)
{
	if (d->delivered)
		return 0;
	return d->hdr_len + d->have;
}

/* Called when the 4 length bytes are in: MILTER-WIRE-01/02. The bound
 * holds for BODY fragments too: an MTA may not send more than max_data in
 * one packet, whether we copy it or not. */
static enum signet_status check_length(struct milter_decoder *d, struct signet_error *err)
{
	uint32_t wire = get_u32(d->hdr);
	if (wire == 0)
		return error_set(err, SIGNET_ERR_SYNTAX, SPEC_WIRE,
				 "milter packet with length 0 (no command byte)");
	if (wire - 1 > d->data.max)
		return error_set(err, SIGNET_ERR_LIMIT, "MILTER-WIRE-02",
				 "milter packet of %lu data bytes exceeds the limit of %zu",
				 (unsigned long)(wire - 1), d->data.max);
	d->need = wire - 1;
	return SIGNET_OK;
}

static enum signet_status read_header(struct milter_decoder *d, const uint8_t *p, size_t len,
				      size_t *off, struct signet_error *err)
{
	if (d->hdr_len == sizeof d->hdr)
		return SIGNET_OK; /* mid-data: checked when it was read */
	while (d->hdr_len < sizeof d->hdr && *off < len) {
		d->hdr[d->hdr_len++] = p[(*off)++];
		if (d->hdr_len == MILTER_LEN_BYTES)
			SIGNET_TRY(check_length(d, err));
	}
	if (d->hdr_len < sizeof d->hdr)
		return SIGNET_OK;
	uint8_t cmd = d->hdr[MILTER_LEN_BYTES];
	if (!command_known(cmd))
		return error_set(err, SIGNET_ERR_SYNTAX, "MILTER-WIRE-03",
				 "unknown milter command byte 0x%02x", cmd);
	/* Only BODY: its data is opaque, any split of it means the same
	 * (MILTER-CONV-08); every other command is parsed whole. */
	d->streaming = d->fragments && cmd == SMFIC_BODY;
	return SIGNET_OK;
}

/* Fragment mode, header read: hands out what p holds of the BODY's data,
 * borrowed from p. Nothing when p has none of it, unless the packet has
 * no data at all (then it is handed out once, empty, as in copy mode). */
static void feed_fragment(struct milter_decoder *d, const uint8_t *p, size_t len, size_t off,
			  size_t *used, struct milter_packet *pkt, bool *got)
{
	size_t take = d->need - d->have;
	if (take > len - off)
		take = len - off;
	*used = off + take;
	if (take == 0 && d->need > 0)
		return;
	pkt->cmd = SMFIC_BODY;
	pkt->data = take ? p + off : NULL;
	pkt->len = take;
	pkt->offset = d->have;
	d->have += take;
	pkt->partial = d->have < d->need;
	d->delivered = !pkt->partial;
	*got = true;
}

static enum signet_status decoder_feed(struct milter_decoder *d, const uint8_t *p, size_t len,
				       size_t *used, struct milter_packet *pkt, bool *got,
				       struct signet_error *err)
{
	size_t off = 0;
	SIGNET_TRY(read_header(d, p, len, &off, err));
	*used = off;
	if (d->hdr_len < sizeof d->hdr)
		return SIGNET_OK;
	if (d->streaming) {
		feed_fragment(d, p, len, off, used, pkt, got);
		return SIGNET_OK;
	}
	size_t take = d->need - d->have;
	if (take > len - off)
		take = len - off;
	if (buf_append(&d->data, p + off, take) != SIGNET_OK)
		return error_set(err, SIGNET_ERR_NOMEM, NULL, "out of memory for a milter packet");
	d->have += take;
	*used = off + take;
	if (d->have < d->need)
		return SIGNET_OK;
	pkt->cmd = d->hdr[MILTER_LEN_BYTES];
	pkt->data = d->data.len ? d->data.data : NULL;
	pkt->len = d->data.len;
	pkt->offset = 0;
	pkt->partial = false;
	d->delivered = true;
	*got = true;
	return SIGNET_OK;
}

enum signet_status milter_decoder_feed(struct milter_decoder *d, const uint8_t *p, size_t len,
				       size_t *used, struct milter_packet *pkt, bool *got,
				       struct signet_error *err)
{
	*used = 0;
	*got = false;
	if (d->failed)
		return error_set(err, SIGNET_ERR_STATE, NULL,
				 "milter decoder stopped after a protocol error");
	if (d->delivered) {
		d->delivered = false;
		d->streaming = false;
		d->hdr_len = 0;
		d->need = 0;
		d->have = 0;
		buf_reset(&d->data);
	}
	enum signet_status st = decoder_feed(d, p, len, used, pkt, got, err);
	if (st != SIGNET_OK) {
		d->failed = true;
		*got = false;
	}
	return st;
}

/* ---- Parsers ---- */

/* A NUL-terminated string at p[*off..len): its span without the NUL; *off
 * moves past the NUL. */
static bool cstring(const uint8_t *p, size_t len, size_t *off, struct signet_span *out)
{
	if (*off >= len)
		return false;
	const uint8_t *nul = memchr(p + *off, '\0', len - *off);
	if (nul == NULL)
		return false;
	out->p = p + *off;
	out->len = (size_t)(nul - out->p);
	*off += out->len + 1;
	return true;
}

enum signet_status milter_parse_optneg(const uint8_t *p, size_t len, struct milter_optneg *out,
				       struct signet_error *err)
{
	/* libmilter st_optionneg: at least MILTER_OPTLEN bytes; more is ignored. */
	if (len < MILTER_OPTLEN)
		return error_set(err, SIGNET_ERR_SYNTAX, "MILTER-NEG-05",
				 "OPTNEG data of %zu bytes, need %d", len, MILTER_OPTLEN);
	out->version = get_u32(p);
	out->actions = get_u32(p + 4);
	out->protocol = get_u32(p + 8);
	return SIGNET_OK;
}

enum signet_status milter_parse_macro(const uint8_t *p, size_t len, struct milter_macro_list *out,
				      struct signet_error *err)
{
	/* MILTER-WIRE-07: stage byte, then name\0value\0 pairs (possibly none). */
	if (len < 1)
		return error_set(err, SIGNET_ERR_SYNTAX, "MILTER-WIRE-07",
				 "MACRO without a stage byte");
	out->stage = p[0];
	out->pairs.p = p + 1;
	out->pairs.len = len - 1;
	out->count = 0;
	size_t off = 1;
	while (off < len) {
		struct signet_span name, value;
		if (!cstring(p, len, &off, &name))
			return error_set(err, SIGNET_ERR_SYNTAX, "MILTER-WIRE-07",
					 "MACRO name at offset %zu not NUL-terminated", off);
		if (!cstring(p, len, &off, &value))
			return error_set(err, SIGNET_ERR_SYNTAX, "MILTER-WIRE-07",
					 "MACRO '%.*s' without a NUL-terminated value",
					 (int)(name.len > 40 ? 40 : name.len),
					 (const char *)name.p);
		out->count++;
	}
	return SIGNET_OK;
}

bool milter_macro_next(struct signet_span *rest, struct signet_span *name,
		       struct signet_span *value)
{
	size_t off = 0;
	if (!cstring(rest->p, rest->len, &off, name) || !cstring(rest->p, rest->len, &off, value))
		return false;
	rest->p += off;
	rest->len -= off;
	return true;
}

bool milter_arg_next(struct signet_span *rest, struct signet_span *arg)
{
	size_t off = 0;
	if (!cstring(rest->p, rest->len, &off, arg))
		return false;
	rest->p += off;
	rest->len -= off;
	return true;
}

enum signet_status milter_parse_connect(const uint8_t *p, size_t len, struct milter_connect *out,
					struct signet_error *err)
{
	/* MILTER-WIRE-05: hostname\0 family [port(2) address\0] */
	size_t off = 0;
	memset(out, 0, sizeof *out);
	if (!cstring(p, len, &off, &out->hostname))
		return error_set(err, SIGNET_ERR_SYNTAX, "MILTER-WIRE-05",
				 "CONNECT hostname not NUL-terminated");
	if (off >= len)
		return error_set(err, SIGNET_ERR_SYNTAX, "MILTER-WIRE-05",
				 "CONNECT without an address family");
	out->family = p[off++];
	out->address.p = p + off;
	if (out->family == SMFIA_UNKNOWN)
		return SIGNET_OK;
	if (out->family != SMFIA_INET && out->family != SMFIA_INET6 && out->family != SMFIA_UNIX)
		return error_set(err, SIGNET_ERR_SYNTAX, "MILTER-WIRE-05",
				 "CONNECT with unknown address family 0x%02x", out->family);
	if (len - off < 2)
		return error_set(err, SIGNET_ERR_SYNTAX, "MILTER-WIRE-05",
				 "CONNECT port truncated");
	out->port = (uint16_t)(p[off] << 8 | p[off + 1]);
	off += 2;
	if (!cstring(p, len, &off, &out->address))
		return error_set(err, SIGNET_ERR_SYNTAX, "MILTER-WIRE-05",
				 "CONNECT address not NUL-terminated");
	return SIGNET_OK;
}

enum signet_status milter_parse_string(const uint8_t *p, size_t len, struct signet_span *out,
				       struct signet_error *err)
{
	size_t off = 0;
	if (!cstring(p, len, &off, out))
		return error_set(err, SIGNET_ERR_SYNTAX, SPEC_WIRE,
				 "milter string argument not NUL-terminated");
	return SIGNET_OK;
}

enum signet_status milter_parse_envelope(const uint8_t *p, size_t len, struct milter_envelope *out,
					 struct signet_error *err)
{
	/* MILTER-WIRE-06: address\0 then zero or more ESMTP arguments, each \0-terminated. */
	size_t off = 0;
	if (!cstring(p, len, &off, &out->addr))
		return error_set(err, SIGNET_ERR_SYNTAX, "MILTER-WIRE-06",
				 "MAIL/RCPT address not NUL-terminated");
	out->args.p = p + off;
	out->args.len = len - off;
	out->nargs = 0;
	while (off < len) {
		struct signet_span arg;
		if (!cstring(p, len, &off, &arg))
			return error_set(err, SIGNET_ERR_SYNTAX, "MILTER-WIRE-06",
					 "ESMTP argument at offset %zu not NUL-terminated", off);
		out->nargs++;
	}
	return SIGNET_OK;
}

enum signet_status milter_parse_header(const uint8_t *p, size_t len, struct milter_header *out,
				       struct signet_error *err)
{
	/* MILTER-WIRE-07: name\0value\0 (libmilter dec_arg2: the last byte is NUL). */
	size_t off = 0;
	if (!cstring(p, len, &off, &out->name))
		return error_set(err, SIGNET_ERR_SYNTAX, "MILTER-WIRE-07",
				 "HEADER name not NUL-terminated");
	if (out->name.len == 0)
		return error_set(err, SIGNET_ERR_SYNTAX, "MILTER-WIRE-07",
				 "HEADER with empty name");
	if (off >= len || p[len - 1] != '\0')
		return error_set(err, SIGNET_ERR_SYNTAX, "MILTER-WIRE-07",
				 "HEADER '%.*s' value not NUL-terminated",
				 (int)(out->name.len > 40 ? 40 : out->name.len),
				 (const char *)out->name.p);
	out->value.p = p + off;
	out->value.len = len - 1 - off;
	return SIGNET_OK;
}

enum signet_status milter_command_parse(const struct milter_packet *pkt, struct milter_command *out,
					struct signet_error *err)
{
	const uint8_t *p = pkt->data;
	size_t n = pkt->len;
	memset(out, 0, sizeof *out);
	out->cmd = pkt->cmd;
	switch (pkt->cmd) {
	case SMFIC_OPTNEG: return milter_parse_optneg(p, n, &out->u.optneg, err);
	case SMFIC_MACRO: return milter_parse_macro(p, n, &out->u.macro, err);
	case SMFIC_CONNECT: return milter_parse_connect(p, n, &out->u.connect, err);
	case SMFIC_HELO: return milter_parse_string(p, n, &out->u.helo, err);
	case SMFIC_UNKNOWN: return milter_parse_string(p, n, &out->u.unknown, err);
	case SMFIC_MAIL:
	case SMFIC_RCPT: return milter_parse_envelope(p, n, &out->u.env, err);
	case SMFIC_HEADER: return milter_parse_header(p, n, &out->u.header, err);
	case SMFIC_BODY:
	case SMFIC_BODYEOB:
		out->u.body.p = p;
		out->u.body.len = n;
		return SIGNET_OK;
	case SMFIC_EOH:
	case SMFIC_DATA:
	case SMFIC_ABORT:
	case SMFIC_QUIT:
	case SMFIC_QUIT_NC: return SIGNET_OK; /* libmilter ignores data on these (CM_NULLOK) */
	default:
		return error_set(err, SIGNET_ERR_SYNTAX, "MILTER-WIRE-03",
				 "unknown milter command byte 0x%02x", pkt->cmd);
	}
}

/* ---- Negotiation ---- */

enum signet_status milter_negotiate(const struct milter_optneg *offer, bool want_symlist,
				    struct milter_optneg *reply, struct signet_error *err)
{
	/* MILTER-NEG-05: reply with our version, or the MTA's if lower. */
	if (offer->version < SMFI_PROT_VERSION_MIN)
		return error_set(err, SIGNET_ERR_SYNTAX, "MILTER-NEG-05",
				 "MTA offers milter protocol version %lu, need at least %d",
				 (unsigned long)offer->version, SMFI_PROT_VERSION_MIN);
	uint32_t actions = offer->actions ? offer->actions : SMFI_V1_ACTS;
	uint32_t protocol = offer->protocol ? offer->protocol : SMFI_V1_PROT;
	/* MILTER-NEG-01: ask only for what we use, and only if offered. */
	if ((actions & MILTER_WANT_ACTIONS) != MILTER_WANT_ACTIONS)
		return error_set(err, SIGNET_ERR_INVAL, "MILTER-NEG-01",
				 "MTA offers actions 0x%lx without add/change header (0x%x)",
				 (unsigned long)actions, MILTER_WANT_ACTIONS);
	reply->version = offer->version < SMFI_PROT_VERSION ? offer->version : SMFI_PROT_VERSION;
	reply->actions = MILTER_WANT_ACTIONS;
	if (want_symlist && (actions & SMFIF_SETSYMLIST))
		reply->actions |= SMFIF_SETSYMLIST;
	/* MILTER-NEG-02/03: only flags the MTA offered (libmilter masks them too). */
	reply->protocol = MILTER_WANT_PROTOCOL & protocol;
	return SIGNET_OK;
}

bool milter_reply_expected(uint32_t protocol, uint8_t cmd)
{
	/* MILTER-CONV-04: never reply to an NR_ event, always otherwise. */
	static const struct {
		uint8_t cmd;
		uint32_t nr; /* 0: a reply is always due */
	} events[] = {
		{SMFIC_OPTNEG, 0},
		{SMFIC_BODYEOB, 0},
		{SMFIC_CONNECT, SMFIP_NR_CONN},
		{SMFIC_HELO, SMFIP_NR_HELO},
		{SMFIC_MAIL, SMFIP_NR_MAIL},
		{SMFIC_RCPT, SMFIP_NR_RCPT},
		{SMFIC_DATA, SMFIP_NR_DATA},
		{SMFIC_UNKNOWN, SMFIP_NR_UNKN},
		{SMFIC_HEADER, SMFIP_NR_HDR},
		{SMFIC_EOH, SMFIP_NR_EOH},
		{SMFIC_BODY, SMFIP_NR_BODY},
	};
	for (size_t k = 0; k < sizeof events / sizeof events[0]; k++)
		if (events[k].cmd == cmd)
			return (protocol & events[k].nr) == 0;
	return false; /* MACRO, ABORT, QUIT, QUIT_NC: libmilter never replies */
}

/* ---- Encoders ---- */

/* One packet being appended: a sticky status, and a rollback point so a
 * failed packet leaves out as it was. */
struct packet {
	struct signet_buf *out;
	size_t start;
	enum signet_status st;
};

static void pk_begin(struct packet *pk, struct signet_buf *out, uint8_t cmd)
{
	static const uint8_t zero[MILTER_LEN_BYTES];
	pk->out = out;
	pk->start = out->len;
	pk->st = buf_append(out, zero, sizeof zero);
	if (pk->st == SIGNET_OK)
		pk->st = buf_append_byte(out, cmd);
}

static void pk_add(struct packet *pk, const void *p, size_t n)
{
	if (pk->st == SIGNET_OK)
		pk->st = buf_append(pk->out, p, n);
}

static void pk_u32(struct packet *pk, uint32_t v)
{
	uint8_t b[MILTER_LEN_BYTES];
	set_u32(b, v);
	pk_add(pk, b, sizeof b);
}

static void pk_str(struct packet *pk, const void *p, size_t n)
{
	pk_add(pk, p, n);
	pk_add(pk, "", 1);
}

static enum signet_status pk_end(struct packet *pk, struct signet_error *err)
{
	size_t data = pk->st == SIGNET_OK ? pk->out->len - pk->start - MILTER_LEN_BYTES - 1 : 0;
	if (pk->st == SIGNET_OK && data > MILTER_MAX_REPLY_DATA)
		pk->st = SIGNET_ERR_LIMIT;
	if (pk->st != SIGNET_OK) {
		pk->out->len = pk->start;
		if (pk->st == SIGNET_ERR_NOMEM)
			return error_set(err, pk->st, NULL, "out of memory for a milter reply");
		return error_set(err, pk->st, "MILTER-WIRE-02",
				 "milter reply does not fit (reply buffer cap %zu, data limit %d)",
				 pk->out->max, MILTER_MAX_REPLY_DATA);
	}
	set_u32(pk->out->data + pk->start, (uint32_t)(data + 1));
	return SIGNET_OK;
}

enum signet_status milter_put_reply(struct signet_buf *out, uint8_t reply, struct signet_error *err)
{
	static const char plain[] = {SMFIR_CONTINUE, SMFIR_ACCEPT,   SMFIR_REJECT,
				     SMFIR_TEMPFAIL, SMFIR_DISCARD,  SMFIR_SKIP,
				     SMFIR_PROGRESS, SMFIR_SHUTDOWN, SMFIR_CONN_FAIL};
	if (memchr(plain, reply, sizeof plain) == NULL)
		return error_set(err, SIGNET_ERR_INVAL, "MILTER-WIRE-04",
				 "milter reply 0x%02x is not a reply without data", reply);
	struct packet pk;
	pk_begin(&pk, out, reply);
	return pk_end(&pk, err);
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Enhanced status code "c.ddd.ddd" (RFC 3463) whose class matches the reply. */
static bool xcode_valid(const char *x, char cls)
{
	if (x[0] != cls || x[1] != '.')
		return false;
	size_t k = 2;
	for (int part = 0; part < 2; part++) {
		size_t n = 0;
		while (is_digit(x[k]) && n < 3) {
			k++;
			n++;
		}
		if (n == 0 || x[k] != (part == 0 ? '.' : '\0'))
			return false;
		k++;
	}
	return true;
}

static bool text_clean(const char *s)
{
	return strpbrk(s, "\r\n") == NULL;
}

enum signet_status milter_put_replycode(struct signet_buf *out, const char *rcode,
					const char *xcode, const char *text,
					struct signet_error *err)
{
	/* libmilter smfi_setreply: 4xx for tempfail, 5xx for reject; one line. */
	if (rcode == NULL || strlen(rcode) != 3 || (rcode[0] != '4' && rcode[0] != '5') ||
	    !is_digit(rcode[1]) || !is_digit(rcode[2]))
		return error_set(err, SIGNET_ERR_INVAL, "MILTER-WIRE-04",
				 "reply code must be 4xx or 5xx");
	char dflt[] = {rcode[0], '.', '0', '.', '0', '\0'};
	if (xcode == NULL)
		xcode = dflt;
	if (!xcode_valid(xcode, rcode[0]))
		return error_set(err, SIGNET_ERR_INVAL, "MILTER-WIRE-04",
				 "enhanced status code '%.20s' does not match reply code %s", xcode,
				 rcode);
	if (text != NULL && !text_clean(text))
		return error_set(err, SIGNET_ERR_INVAL, "MILTER-WIRE-04",
				 "reply text contains CR or LF");
	struct packet pk;
	pk_begin(&pk, out, SMFIR_REPLYCODE);
	pk_add(&pk, rcode, 3);
	pk_add(&pk, " ", 1);
	pk_add(&pk, xcode, strlen(xcode));
	if (text != NULL && text[0] != '\0') {
		pk_add(&pk, " ", 1);
		pk_add(&pk, text, strlen(text));
	}
	pk_add(&pk, "", 1);
	return pk_end(&pk, err);
}

enum signet_status milter_put_optneg(struct signet_buf *out, const struct milter_optneg *reply,
				     const struct milter_symlist *lists, size_t nlists,
				     struct signet_error *err)
{
	if (nlists > 0 && !(reply->actions & SMFIF_SETSYMLIST))
		return error_set(err, SIGNET_ERR_INVAL, "MILTER-NEG-04",
				 "macro lists need SMFIF_SETSYMLIST in the negotiated actions");
	for (size_t k = 0; k < nlists; k++)
		if (lists[k].stage >= MILTER_STAGES || lists[k].names == NULL ||
		    lists[k].names[0] == '\0')
			return error_set(err, SIGNET_ERR_INVAL, "MILTER-NEG-04",
					 "macro list %zu: bad stage or empty names", k);
	struct packet pk;
	pk_begin(&pk, out, SMFIR_OPTNEG);
	pk_u32(&pk, reply->version);
	pk_u32(&pk, reply->actions);
	pk_u32(&pk, reply->protocol);
	for (size_t k = 0; k < nlists; k++) {
		pk_u32(&pk, lists[k].stage);
		pk_str(&pk, lists[k].names, strlen(lists[k].names));
	}
	return pk_end(&pk, err);
}

/* RFC 5322 2.2 ftext: printable US-ASCII except ':'. */
static bool field_name_valid(const char *name)
{
	if (name == NULL || name[0] == '\0')
		return false;
	for (const char *c = name; *c != '\0'; c++)
		if ((unsigned char)*c < 33 || (unsigned char)*c > 126 || *c == ':')
			return false;
	return true;
}

static enum signet_status put_header(struct signet_buf *out, uint8_t cmd, bool with_index,
				     uint32_t index, const char *name, const uint8_t *value,
				     size_t vlen, struct signet_error *err)
{
	if (!field_name_valid(name))
		return error_set(err, SIGNET_ERR_INVAL, "RFC 5322 2.2",
				 "header name '%.40s' empty or not printable ASCII without ':'",
				 name ? name : "");
	/* MILTER-PFX-07: a CR would stay in the message; NUL would cut the value. */
	if (vlen > 0 && (value == NULL || memchr(value, '\r', vlen) || memchr(value, '\0', vlen)))
		return error_set(err, SIGNET_ERR_INVAL, "MILTER-PFX-07",
				 "header value for %.40s contains CR or NUL: use the wire form",
				 name);
	struct packet pk;
	pk_begin(&pk, out, cmd);
	if (with_index)
		pk_u32(&pk, index);
	pk_str(&pk, name, strlen(name));
	pk_str(&pk, value, vlen);
	return pk_end(&pk, err);
}

enum signet_status milter_put_insheader(struct signet_buf *out, uint32_t index, const char *name,
					const uint8_t *value, size_t vlen, struct signet_error *err)
{
	return put_header(out, SMFIR_INSHEADER, true, index, name, value, vlen, err);
}

enum signet_status milter_put_addheader(struct signet_buf *out, const char *name,
					const uint8_t *value, size_t vlen, struct signet_error *err)
{
	return put_header(out, SMFIR_ADDHEADER, false, 0, name, value, vlen, err);
}

enum signet_status milter_put_chgheader(struct signet_buf *out, uint32_t index, const char *name,
					const uint8_t *value, size_t vlen, struct signet_error *err)
{
	return put_header(out, SMFIR_CHGHEADER, true, index, name, value, vlen, err);
}

enum signet_status milter_put_quarantine(struct signet_buf *out, const char *reason,
					 struct signet_error *err)
{
	if (reason == NULL || reason[0] == '\0' || !text_clean(reason))
		return error_set(err, SIGNET_ERR_INVAL, "MILTER-WIRE-04",
				 "quarantine reason empty or with CR/LF");
	struct packet pk;
	pk_begin(&pk, out, SMFIR_QUARANTINE);
	pk_str(&pk, reason, strlen(reason));
	return pk_end(&pk, err);
}

enum signet_status milter_header_value_wire(const uint8_t *value, size_t len, bool leadspc,
					    struct signet_buf *out, struct signet_error *err)
{
	size_t k = 0;
	if (!leadspc) {
		/* MILTER-NEG-03: the MTA writes "name:" SP value. */
		if (len == 0 || value[0] != ' ')
			return error_set(err, SIGNET_ERR_INVAL, "MILTER-NEG-03",
					 "header value must start with SP: without HDR_LEADSPC "
					 "the MTA inserts one");
		k = 1;
	}
	size_t start = out->len;
	enum signet_status st = SIGNET_OK;
	/* Runs of ordinary bytes are copied at once (a DKIM-Signature is
	 * 500 bytes or more). MILTER-PFX-07: CRLF → LF, the MTA splits at LF
	 * into lines; a NUL or a CR without LF cannot be written. */
	while (k < len && st == SIGNET_OK) {
		size_t from = k;
		while (k < len && value[k] != '\r' && value[k] != '\0')
			k++;
		st = buf_append(out, value + from, k - from);
		if (k == len || st != SIGNET_OK)
			break;
		if (value[k] == '\0' || k + 1 >= len || value[k + 1] != '\n') {
			out->len = start;
			return error_set(err, SIGNET_ERR_INVAL, "MILTER-PFX-07",
					 "header value has a NUL or a CR without LF at offset %zu",
					 k);
		}
		k++; /* the CR; its LF starts the next run */
	}
	if (st != SIGNET_OK) {
		out->len = start;
		return error_set(err, st, "MILTER-PFX-07", "header value does not fit (cap %zu)",
				 out->max);
	}
	return SIGNET_OK;
}

/* ---- Macro store ---- */

void milter_macros_init(struct milter_macros *m)
{
	m->count = 0;
	m->used = 0;
}

int milter_macro_stage(uint8_t cmd)
{
	switch (cmd) {
	case SMFIC_CONNECT: return SMFIM_CONNECT;
	case SMFIC_HELO: return SMFIM_HELO;
	case SMFIC_MAIL: return SMFIM_ENVFROM;
	case SMFIC_RCPT: return SMFIM_ENVRCPT;
	case SMFIC_DATA: return SMFIM_DATA;
	case SMFIC_BODYEOB: return SMFIM_EOM;
	case SMFIC_EOH: return SMFIM_EOH;
	default: return -1;
	}
}

/* Drops the entries of stages for which drop[stage] is set, compacting bytes. */
static void macros_drop(struct milter_macros *m, const bool drop[MILTER_STAGES])
{
	size_t keep = 0, used = 0;
	for (size_t k = 0; k < m->count; k++) {
		struct milter_macro_ent e = m->ent[k];
		if (drop[e.stage])
			continue;
		size_t n = (size_t)e.nlen + e.vlen + 2;
		memmove(m->bytes + used, m->bytes + e.off, n);
		e.off = (uint16_t)used;
		m->ent[keep++] = e;
		used += n;
	}
	m->count = keep;
	m->used = used;
}

/* "{name}" → "name" (libmilter matches braced and bare one-letter names). */
static struct signet_span unbrace(struct signet_span s)
{
	if (s.len >= 2 && s.p[0] == '{' && s.p[s.len - 1] == '}') {
		s.p++;
		s.len -= 2;
	}
	return s;
}

static bool macros_add(struct milter_macros *m, uint8_t stage, struct signet_span name,
		       struct signet_span value)
{
	name = unbrace(name);
	size_t n = name.len + value.len + 2; /* both < MILTER_MACROS_BYTES once checked */
	if (m->count >= MILTER_MACROS_MAX || name.len >= MILTER_MACROS_BYTES ||
	    value.len >= MILTER_MACROS_BYTES || n > MILTER_MACROS_BYTES - m->used)
		return false;
	struct milter_macro_ent *e = &m->ent[m->count++];
	e->stage = stage;
	e->off = (uint16_t)m->used;
	e->nlen = (uint16_t)name.len;
	e->vlen = (uint16_t)value.len;
	memcpy(m->bytes + m->used, name.p, name.len);
	m->bytes[m->used + name.len] = '\0';
	memcpy(m->bytes + m->used + name.len + 1, value.p, value.len);
	m->bytes[m->used + n - 1] = '\0';
	m->used += n;
	return true;
}

enum signet_status milter_macros_store(struct milter_macros *m,
				       const struct milter_macro_list *list,
				       struct signet_error *err)
{
	int stage = milter_macro_stage(list->stage);
	if (stage < 0)
		return SIGNET_OK;
	bool drop[MILTER_STAGES] = {false};
	drop[stage] = true;
	macros_drop(m, drop);
	struct signet_span rest = list->pairs, name, value;
	while (milter_macro_next(&rest, &name, &value)) {
		if (!macros_add(m, (uint8_t)stage, name, value)) {
			macros_drop(m, drop);
			return error_set(err, SIGNET_ERR_LIMIT, "MILTER-CONV-09",
					 "macros exceed MILTER_MACROS_MAX (%d) or "
					 "MILTER_MACROS_BYTES (%d); stage '%c' dropped",
					 MILTER_MACROS_MAX, MILTER_MACROS_BYTES, list->stage);
		}
	}
	return SIGNET_OK;
}

const char *milter_macros_get(const struct milter_macros *m, const char *name)
{
	if (name == NULL)
		return NULL;
	struct signet_span want = unbrace(span_from_str(name));
	if (want.len == 0)
		return NULL;
	/* smfi_getsymval: the latest stage first (SMFIM_EOH .. SMFIM_CONNECT). */
	for (int stage = MILTER_STAGES - 1; stage >= 0; stage--)
		for (size_t k = 0; k < m->count; k++) {
			const struct milter_macro_ent *e = &m->ent[k];
			if (e->stage == stage && e->nlen == want.len &&
			    memcmp(m->bytes + e->off, want.p, want.len) == 0)
				return m->bytes + e->off + e->nlen + 1;
		}
	return NULL;
}

void milter_macros_reset_message(struct milter_macros *m)
{
	static const bool drop[MILTER_STAGES] = {[SMFIM_ENVFROM] = true,
						 [SMFIM_ENVRCPT] = true,
						 [SMFIM_DATA] = true,
						 [SMFIM_EOM] = true,
						 [SMFIM_EOH] = true};
	macros_drop(m, drop);
}

void milter_macros_reset(struct milter_macros *m)
{
	m->count = 0;
	m->used = 0;
}
