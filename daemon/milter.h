/* milter.h: sans-I/O codec for the Sendmail milter protocol v6 (our own, not
 * libmilter): a packet decoder fed any byte split, parsers for each MTA
 * command, encoders for our replies into one caller-owned capped buffer,
 * the option negotiation as a pure function, and a per-connection macro
 * store. No sockets, no event loop, no logging: the session layer does I/O.
 *
 * Errors follow libsignet: every call that can fail returns enum
 * signet_status and fills struct signet_error; any error from the decoder
 * or a parser is a protocol violation by the MTA (MILTER-ERR-03): log
 * err.msg and drop the milter connection. */
#ifndef SIGNETD_MILTER_H
#define SIGNETD_MILTER_H

#include <signet/signet.h>

#include "buf.h"

/* ---- Protocol constants: libmilter's names and values (mfdef.h, mfapi.h) ---- */

#define SMFI_PROT_VERSION 6     /* the version we speak (MILTER-NEG-05) */
#define SMFI_PROT_VERSION_MIN 2 /* libmilter refuses older MTAs; so do we */
#define MILTER_LEN_BYTES 4      /* big-endian uint32 on the wire */
#define MILTER_OPTLEN (MILTER_LEN_BYTES * 3)
#define MILTER_CHUNK_SIZE 65535    /* body chunk size (MILTER-WIRE-02) */
#define MILTER_MAX_DATA_SIZE 65535 /* default packet data limit (MILTER-WIRE-02) */

/* Actions (SMFIF_*, mfapi.h) */
#define SMFIF_ADDHDRS 0x00000001u
#define SMFIF_CHGBODY 0x00000002u
#define SMFIF_ADDRCPT 0x00000004u
#define SMFIF_DELRCPT 0x00000008u
#define SMFIF_CHGHDRS 0x00000010u
#define SMFIF_QUARANTINE 0x00000020u
#define SMFIF_CHGFROM 0x00000040u
#define SMFIF_ADDRCPT_PAR 0x00000080u
#define SMFIF_SETSYMLIST 0x00000100u
#define SMFI_V1_ACTS 0x0000000Fu /* libmilter's meaning of an offer of 0 */
#define SMFI_CURR_ACTS 0x000001FFu

/* Protocol flags (SMFIP_*, mfdef.h) */
#define SMFIP_NOCONNECT 0x00000001u
#define SMFIP_NOHELO 0x00000002u
#define SMFIP_NOMAIL 0x00000004u
#define SMFIP_NORCPT 0x00000008u
#define SMFIP_NOBODY 0x00000010u
#define SMFIP_NOHDRS 0x00000020u
#define SMFIP_NOEOH 0x00000040u
#define SMFIP_NR_HDR 0x00000080u
#define SMFIP_NOUNKNOWN 0x00000100u
#define SMFIP_NODATA 0x00000200u
#define SMFIP_SKIP 0x00000400u
#define SMFIP_RCPT_REJ 0x00000800u
#define SMFIP_NR_CONN 0x00001000u
#define SMFIP_NR_HELO 0x00002000u
#define SMFIP_NR_MAIL 0x00004000u
#define SMFIP_NR_RCPT 0x00008000u
#define SMFIP_NR_DATA 0x00010000u
#define SMFIP_NR_UNKN 0x00020000u
#define SMFIP_NR_EOH 0x00040000u
#define SMFIP_NR_BODY 0x00080000u
#define SMFIP_HDR_LEADSPC 0x00100000u
#define SMFIP_MDS_256K 0x10000000u
#define SMFIP_MDS_1M 0x20000000u
#define SMFI_V1_PROT 0x0000003Fu /* libmilter's meaning of an offer of 0 */
#define SMFI_CURR_PROT 0x001FFFFFu

/* Address families in CONNECT (SMFIA_*) */
#define SMFIA_UNKNOWN 'U'
#define SMFIA_UNIX 'L'
#define SMFIA_INET '4'
#define SMFIA_INET6 '6'

/* MTA → milter commands (SMFIC_*, MILTER-WIRE-03) */
#define SMFIC_ABORT 'A'
#define SMFIC_BODY 'B'
#define SMFIC_CONNECT 'C'
#define SMFIC_MACRO 'D'
#define SMFIC_BODYEOB 'E'
#define SMFIC_HELO 'H'
#define SMFIC_QUIT_NC 'K'
#define SMFIC_HEADER 'L'
#define SMFIC_MAIL 'M'
#define SMFIC_EOH 'N'
#define SMFIC_OPTNEG 'O'
#define SMFIC_QUIT 'Q'
#define SMFIC_RCPT 'R'
#define SMFIC_DATA 'T'
#define SMFIC_UNKNOWN 'U'

/* milter → MTA replies (SMFIR_*, MILTER-WIRE-04) */
#define SMFIR_ADDRCPT '+'
#define SMFIR_DELRCPT '-'
#define SMFIR_ADDRCPT_PAR '2'
#define SMFIR_SHUTDOWN '4'
#define SMFIR_ACCEPT 'a'
#define SMFIR_REPLBODY 'b'
#define SMFIR_CONTINUE 'c'
#define SMFIR_DISCARD 'd'
#define SMFIR_CHGFROM 'e'
#define SMFIR_CONN_FAIL 'f'
#define SMFIR_ADDHEADER 'h'
#define SMFIR_INSHEADER 'i'
#define SMFIR_SETSYMLIST 'l'
#define SMFIR_CHGHEADER 'm'
#define SMFIR_PROGRESS 'p'
#define SMFIR_QUARANTINE 'q'
#define SMFIR_REJECT 'r'
#define SMFIR_SKIP 's'
#define SMFIR_TEMPFAIL 't'
#define SMFIR_REPLYCODE 'y'
#define SMFIR_OPTNEG 'O' /* the OPTNEG reply reuses the command byte */

/* Macro stages in a setsymlist (SMFIM_*, mfapi.h), also the macro store's slots */
#define SMFIM_CONNECT 0
#define SMFIM_HELO 1
#define SMFIM_ENVFROM 2
#define SMFIM_ENVRCPT 3
#define SMFIM_DATA 4
#define SMFIM_EOM 5
#define SMFIM_EOH 6
#define MILTER_STAGES 7

/* ---- Our limits ---- */

/* Default decoder bound on one packet's data (length field minus the
 * command byte): libmilter's 65535 plus room for a header packet's name and
 * two NULs around a value near 64 KiB. Postfix may send header packets up to
 * header_size_limit (102400); a daemon that wants those raises the bound. */
#define MILTER_MAX_MARGIN 1024
#define MILTER_DEFAULT_MAX_DATA (MILTER_MAX_DATA_SIZE + MILTER_MAX_MARGIN)
/* Largest reply data we encode: what libmilter-era MTAs read (MILTER-WIRE-02). */
#define MILTER_MAX_REPLY_DATA MILTER_MAX_DATA_SIZE
/* Macro store: names+values kept per connection (Postfix sends ~20). */
#define MILTER_MACROS_MAX 64
#define MILTER_MACROS_BYTES 8192

/* ---- Decoder (MILTER-WIRE-01/02/03) ---- */

/* One packet, or one fragment of a BODY packet. Whole packets: data is
 * borrowed from the decoder, valid until the next milter_decoder_feed or
 * milter_decoder_free on it; NULL when len == 0. Fragments (only with
 * milter_decoder_body_fragments on, only for SMFIC_BODY): data points into
 * the p given to that milter_decoder_feed call, so it is valid only as long
 * as the caller keeps p; never NULL, never empty, except for a BODY whose
 * length field says 0 data bytes (handed out once: len 0, data NULL,
 * partial false). */
struct milter_packet {
	uint8_t cmd;         /* an SMFIC_* byte (the decoder refuses others) */
	const uint8_t *data; /* packet data after the command byte, or this fragment of it */
	size_t len;
	size_t offset; /* where data starts in the packet's data: 0 for a whole packet */
	bool partial;  /* a fragment and more of this packet follows; the last
			      * fragment (which holds the packet's last byte) has false */
};

/* Fields are private; embed it in the session (no allocation until the
 * first buffered packet with data, and never more than max_data + 1 bytes). */
struct milter_decoder {
	uint8_t hdr[MILTER_LEN_BYTES + 1]; /* length + command being read */
	size_t hdr_len;
	size_t need;            /* data bytes of the current packet */
	size_t have;            /* data bytes of it taken so far (buffered or handed out) */
	struct signet_buf data; /* capped at max_data */
	bool fragments;         /* milter_decoder_body_fragments: BODY data is not copied */
	bool streaming;         /* the current packet is a BODY handed out in fragments */
	bool delivered;         /* last feed ended a packet: reset on next feed */
	bool failed;            /* sticky: a protocol error was reported */
};

/* max_data: the bound on one packet's data; 0 means MILTER_DEFAULT_MAX_DATA.
 * Fragment mode starts off. */
void milter_decoder_init(struct milter_decoder *d, size_t max_data);
/* Frees the buffer; d may be re-initialised. NULL is a no-op. */
void milter_decoder_free(struct milter_decoder *d);

/* Opt-in: with on, the data of each BODY packet is not copied but handed
 * out as it arrives, as fragments borrowed from the caller's input (see
 * struct milter_packet), so the body goes from the caller's read buffer to
 * the canonicalizer without a copy. Every other command is still buffered
 * and handed out whole. The length bound (max_data), the errors and
 * milter_decoder_pending are the same in both modes; fragments of one
 * packet arrive in order, their offsets adding up, and the fragment with
 * partial false ends the packet (MILTER-CONV-04: a reply to a BODY, if one
 * is due, goes after that one). Takes effect from the next packet whose
 * header is read, so it may be switched at any time. */
void milter_decoder_body_fragments(struct milter_decoder *d, bool on);

/* Consumes bytes from p[0..len) up to the end of at most one packet:
 * *used is how many were taken (always all of them unless a packet
 * completed), *got tells whether *pkt now holds a packet (or, in fragment
 * mode, a BODY fragment: then if pkt->partial, *used is all of len). Call
 * again with the rest (p + *used) until it is all used; len 0 is allowed.
 * Whole packets are copied, so p may be reused once the call returns; a
 * fragment is valid only while p is.
 * Errors (the MTA broke the protocol; the decoder then refuses every further
 * call with SIGNET_ERR_STATE): a length field of 0 (SIGNET_ERR_SYNTAX), data
 * longer than max_data (SIGNET_ERR_LIMIT, in both modes, as soon as the
 * length is read), an unknown command byte (SIGNET_ERR_SYNTAX);
 * SIGNET_ERR_NOMEM if the buffer cannot grow. After an error *used and *pkt
 * mean nothing: log err.msg and close.
 *
 *	while (len > 0) {
 *		if (milter_decoder_feed(&d, p, len, &used, &pkt, &got, &err) != SIGNET_OK)
 *			return drop_connection(err.msg);
 *		p += used, len -= used;
 *		if (got && milter_command_parse(&pkt, &cmd, &err) == SIGNET_OK)
 *			handle(&cmd, pkt.partial); // appends replies; one write per step
 *	}
 */
SIGNET_MUST_USE enum signet_status milter_decoder_feed(struct milter_decoder *d, const uint8_t *p,
						       size_t len, size_t *used,
						       struct milter_packet *pkt, bool *got,
						       struct signet_error *err);
/* Bytes of an unfinished packet taken so far (header and data, buffered or
 * handed out as fragments): 0 at a packet boundary, so an EOF with a
 * non-zero value means the MTA hung up mid-packet (MILTER-ERR-03). */
size_t milter_decoder_pending(const struct milter_decoder *d);

/* ---- Command parsers ----
 * Each takes the packet data (p, len) and fills spans pointing into it
 * (lifetime of the packet). Strings are spans without their NUL; all
 * reads are bounds-checked. We are as strict as libmilter where it refuses
 * (a missing NUL, short data, unknown family) and as lenient where it is
 * lenient (trailing bytes after the last field are ignored, data on
 * EOH/ABORT/QUIT/DATA is ignored): an MTA tested against libmilter must not
 * fail with us. Errors: SIGNET_ERR_SYNTAX with a reason. */

/* OPTNEG data: version, actions, protocol, each uint32 big-endian (MILTER-NEG-*). */
struct milter_optneg {
	uint32_t version;
	uint32_t actions;  /* SMFIF_* */
	uint32_t protocol; /* SMFIP_* */
};

/* MACRO data: stage command byte, then name\0value\0 pairs (MILTER-WIRE-07).
 * pairs holds exactly count validated pairs; walk them with milter_macro_next. */
struct milter_macro_list {
	uint8_t stage; /* the SMFIC_* byte of the command these macros precede */
	struct signet_span pairs;
	size_t count;
};

/* CONNECT data (MILTER-WIRE-05). For SMFIA_UNKNOWN, port is 0 and address
 * is empty (nothing follows the family byte). */
struct milter_connect {
	struct signet_span hostname; /* client name, or "[addr]" if unresolved (Postfix) */
	uint8_t family;              /* SMFIA_INET, SMFIA_INET6, SMFIA_UNIX, SMFIA_UNKNOWN */
	uint16_t port;               /* host order; 0 for unix/unknown */
	struct signet_span address;  /* "192.0.2.1", "2001:db8::1", or a socket path */
};

/* MAIL / RCPT data (MILTER-WIRE-06): the address ("<>" for the null
 * sender, brackets kept) then ESMTP arguments; walk args with milter_arg_next. */
struct milter_envelope {
	struct signet_span addr;
	struct signet_span args; /* nargs validated NUL-terminated strings */
	size_t nargs;
};

/* HEADER data: name\0value\0 (MILTER-WIRE-07). value is everything between
 * the first NUL and the final one (folds as "\n", MILTER-CONV-06; leading
 * SP present only with SMFIP_HDR_LEADSPC, MILTER-NEG-03). */
struct milter_header {
	struct signet_span name; /* non-empty */
	struct signet_span value;
};

/* Any command, parsed by milter_command_parse; u is chosen by cmd. */
struct milter_command {
	uint8_t cmd;
	union {
		struct milter_optneg optneg;    /* SMFIC_OPTNEG */
		struct milter_macro_list macro; /* SMFIC_MACRO */
		struct milter_connect connect;  /* SMFIC_CONNECT */
		struct signet_span helo;        /* SMFIC_HELO */
		struct milter_envelope env;     /* SMFIC_MAIL, SMFIC_RCPT */
		struct milter_header header;    /* SMFIC_HEADER */
		struct signet_span body;        /* SMFIC_BODY; SMFIC_BODYEOB: a last body
						 * chunk (libmilter passes it to xxfi_body),
						 * empty with Postfix */
		struct signet_span unknown;     /* SMFIC_UNKNOWN: the SMTP command line */
	} u;                                    /* nothing for EOH, DATA, ABORT, QUIT, QUIT_NC */
};

SIGNET_MUST_USE enum signet_status milter_parse_optneg(const uint8_t *p, size_t len,
						       struct milter_optneg *out,
						       struct signet_error *err);
SIGNET_MUST_USE enum signet_status milter_parse_macro(const uint8_t *p, size_t len,
						      struct milter_macro_list *out,
						      struct signet_error *err);
SIGNET_MUST_USE enum signet_status milter_parse_connect(const uint8_t *p, size_t len,
							struct milter_connect *out,
							struct signet_error *err);
/* HELO and UNKNOWN: one NUL-terminated string. */
SIGNET_MUST_USE enum signet_status milter_parse_string(const uint8_t *p, size_t len,
						       struct signet_span *out,
						       struct signet_error *err);
SIGNET_MUST_USE enum signet_status milter_parse_envelope(const uint8_t *p, size_t len,
							 struct milter_envelope *out,
							 struct signet_error *err);
SIGNET_MUST_USE enum signet_status milter_parse_header(const uint8_t *p, size_t len,
						       struct milter_header *out,
						       struct signet_error *err);
/* Dispatches on pkt->cmd to the parsers above; a BODY fragment gives the
 * fragment's bytes as u.body (pkt->partial tells whether more follows). */
SIGNET_MUST_USE enum signet_status milter_command_parse(const struct milter_packet *pkt,
							struct milter_command *out,
							struct signet_error *err);

/* Iterators over validated lists: take the next pair / argument from *rest
 * (advancing it); false at the end. Only for spans filled by the parsers. */
bool milter_macro_next(struct signet_span *rest, struct signet_span *name,
		       struct signet_span *value);
bool milter_arg_next(struct signet_span *rest, struct signet_span *arg);

/* ---- Negotiation (MILTER-NEG-01/02/03/05) ---- */

/* The protocol flags we would like; the reply carries those the MTA offered. */
#define MILTER_WANT_PROTOCOL                                                                       \
	(SMFIP_NOHELO | SMFIP_NORCPT | SMFIP_NOUNKNOWN | SMFIP_NODATA | SMFIP_NR_CONN |            \
	 SMFIP_NR_MAIL | SMFIP_NR_HDR | SMFIP_NR_EOH | SMFIP_NR_BODY | SMFIP_HDR_LEADSPC)
/* The actions we use (MILTER-NEG-01). */
#define MILTER_WANT_ACTIONS (SMFIF_ADDHDRS | SMFIF_CHGHDRS)

/* Computes our OPTNEG reply to the MTA's offer: version min(6, offer)
 * (an offer below 2 is SIGNET_ERR_SYNTAX), actions ADDHDRS|CHGHDRS plus
 * SETSYMLIST when want_symlist and the MTA offered it (an MTA not offering
 * ADDHDRS and CHGHDRS is SIGNET_ERR_INVAL: we cannot do our job),
 * protocol MILTER_WANT_PROTOCOL & offer. An offer of 0 actions or 0
 * protocol means libmilter's v1 defaults (SMFI_V1_ACTS, SMFI_V1_PROT). */
SIGNET_MUST_USE enum signet_status milter_negotiate(const struct milter_optneg *offer,
						    bool want_symlist, struct milter_optneg *reply,
						    struct signet_error *err);

/* MILTER-CONV-04: whether the MTA waits for a reply to cmd under the
 * negotiated protocol flags. OPTNEG and BODYEOB: always; CONNECT, HELO,
 * MAIL, RCPT, DATA, UNKNOWN, HEADER, EOH, BODY: unless their SMFIP_NR_*
 * flag was negotiated; MACRO, ABORT, QUIT, QUIT_NC: never. */
bool milter_reply_expected(uint32_t protocol, uint8_t cmd);

/* ---- Encoders (MILTER-WIRE-04) ----
 * Each appends one complete packet to out, a caller-owned signet_buf whose
 * max is the caller's cap: append all replies of one step, then write
 * out->data once (DESIGN.md: one write per step, no Nagle stalls). On any
 * error out is unchanged. Errors: SIGNET_ERR_LIMIT (out's cap, or data over
 * MILTER_MAX_REPLY_DATA), SIGNET_ERR_NOMEM, SIGNET_ERR_INVAL (bad argument:
 * the message says which). */

/* A reply without data: SMFIR_CONTINUE, ACCEPT, REJECT, TEMPFAIL, DISCARD,
 * SKIP, PROGRESS, SHUTDOWN, CONN_FAIL. Other bytes are SIGNET_ERR_INVAL. */
SIGNET_MUST_USE enum signet_status milter_put_reply(struct signet_buf *out, uint8_t reply,
						    struct signet_error *err);
/* 'y': "rcode xcode text\0". rcode "4dd" or "5dd"; xcode "c.d.d" with c the
 * rcode's class, or NULL for "c.0.0"; text NULL or without CR/LF/NUL. */
SIGNET_MUST_USE enum signet_status milter_put_replycode(struct signet_buf *out, const char *rcode,
							const char *xcode, const char *text,
							struct signet_error *err);

/* A macro list for the OPTNEG reply (MILTER-NEG-04): stage SMFIM_*, names
 * space-separated ("j {daemon_name}"), NUL-terminated, non-empty. */
struct milter_symlist {
	uint32_t stage;
	const char *names;
};
/* 'O': version, actions, protocol, then for each list uint32 stage +
 * names\0 (libmilter's milter_addsymlist layout). Lists need
 * SMFIF_SETSYMLIST in reply->actions, else SIGNET_ERR_INVAL. */
SIGNET_MUST_USE enum signet_status milter_put_optneg(struct signet_buf *out,
						     const struct milter_optneg *reply,
						     const struct milter_symlist *lists,
						     size_t nlists, struct signet_error *err);

/* Header edits, EOM only (MILTER-EOM-05). name: non-empty, no NUL, ':' or
 * WSP; value: wire form (milter_header_value_wire), no NUL or CR. */
/* 'i' index + name\0 + value\0; index 0 is the very top (MILTER-EOM-01). */
SIGNET_MUST_USE enum signet_status milter_put_insheader(struct signet_buf *out, uint32_t index,
							const char *name, const uint8_t *value,
							size_t vlen, struct signet_error *err);
/* 'h' name\0 + value\0: appends at the bottom. */
SIGNET_MUST_USE enum signet_status milter_put_addheader(struct signet_buf *out, const char *name,
							const uint8_t *value, size_t vlen,
							struct signet_error *err);
/* 'm' index + name\0 + value\0; index is 1-based among fields of that name;
 * vlen 0 deletes the field (MILTER-EOM-02). */
SIGNET_MUST_USE enum signet_status milter_put_chgheader(struct signet_buf *out, uint32_t index,
							const char *name, const uint8_t *value,
							size_t vlen, struct signet_error *err);
/* 'q' reason\0; reason non-empty, no NUL/CR/LF. */
SIGNET_MUST_USE enum signet_status milter_put_quarantine(struct signet_buf *out, const char *reason,
							 struct signet_error *err);

/* MILTER-PFX-07 / MILTER-NEG-03: appends to out the wire form of a header
 * value as libsignet formats it (text after the colon, starting with SP,
 * folded with "\r\n\t"): every CRLF becomes LF (a CR we sent would stay in
 * the message). With SMFIP_HDR_LEADSPC negotiated (leadspc true) the value
 * is sent verbatim, leading SP included; without it the MTA inserts one SP
 * after the colon, so we drop ours, and a value not starting with SP is
 * SIGNET_ERR_INVAL (it could not arrive byte-exact). A CR not followed by LF,
 * or a NUL, is SIGNET_ERR_INVAL. On error out is unchanged. */
SIGNET_MUST_USE enum signet_status milter_header_value_wire(const uint8_t *value, size_t len,
							    bool leadspc, struct signet_buf *out,
							    struct signet_error *err);

/* ---- Macro store (MILTER-CONV-09) ----
 * libmilter's model: the latest list per stage is kept (a new 'D' for a
 * stage replaces that stage's list), and a lookup searches every stage, the
 * latest stage first (EOH, EOM, DATA, RCPT, MAIL, HELO, CONNECT, as
 * smfi_getsymval), so {auth_authen} sent at MAIL is readable at EOM.
 * Names and values are copied. Fields are private; no allocation. */
struct milter_macro_ent {
	uint8_t stage; /* SMFIM_* */
	uint16_t off;  /* name\0value\0 in bytes[] (name without braces) */
	uint16_t nlen;
	uint16_t vlen;
};
struct milter_macros {
	struct milter_macro_ent ent[MILTER_MACROS_MAX];
	size_t count;
	size_t used;
	char bytes[MILTER_MACROS_BYTES];
};

void milter_macros_init(struct milter_macros *m);
/* The SMFIM_* slot for a 'D' packet's stage byte (C H M R T E N), or -1 for
 * a stage libmilter does not keep (Postfix also sends 'D' before L, B, U:
 * libmilter drops those lists, and so does milter_macros_store). */
int milter_macro_stage(uint8_t cmd);
/* Replaces the list of list->stage with list's pairs (names "{x}" stored as
 * "x"). A stage without a slot is ignored (SIGNET_OK). SIGNET_ERR_LIMIT
 * past MILTER_MACROS_MAX entries or MILTER_MACROS_BYTES bytes: that stage's
 * list is then empty (nothing half-stored); other stages are untouched. */
SIGNET_MUST_USE enum signet_status milter_macros_store(struct milter_macros *m,
						       const struct milter_macro_list *list,
						       struct signet_error *err);
/* The value of macro name ("auth_authen", "{auth_authen}", "i" or "{i}"),
 * NUL-terminated, borrowed until the next store/reset on m; NULL if never
 * sent (treat as absent, e.g. unauthenticated). */
const char *milter_macros_get(const struct milter_macros *m, const char *name);
/* End of a message (after the EOM replies) and ABORT: drops the lists of
 * MAIL, RCPT, DATA, EOH and EOM; CONNECT and HELO lists stay for the
 * connection (MILTER-CONV-01). */
void milter_macros_reset_message(struct milter_macros *m);
/* New connection (QUIT_NC, or reuse): drops every list. */
void milter_macros_reset(struct milter_macros *m);

#endif
