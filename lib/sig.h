/* sig.h: the DKIM-Signature field (RFC 6376 3.5): parse and check a
 * received one, and format one for the signer. Spans point into the value
 * given to sig_parse, which must outlive the struct. */
#ifndef SIGNET_SIG_H
#define SIGNET_SIG_H

#include "buf.h"
#include "tags.h"

struct dkim_sig {
	struct tag_list tags;
	enum signet_alg alg;
	struct signet_span a, d, s, i, h, q, z; /* values as written ("" span if absent) */
	struct signet_span auid_domain;         /* domain part of i= (or d= when no i=) */
	enum signet_canon hdr_canon, body_canon;
	struct signet_span hnames[SIGNET_MAX_H_NAMES]; /* h= names, trimmed */
	size_t nh;
	uint8_t bh[64];
	size_t bh_len;
	uint8_t b[SIGNET_MAX_RSA_BITS / 8];
	size_t b_len;
	struct signet_span b_raw; /* RFC 6376 3.7: the bytes to delete for the hash */
	bool has_i, has_t, has_x, has_l;
	uint64_t t, x, l;
};

/* Parses and checks a DKIM-Signature value. Any problem is
 * SIGNET_ERR_SYNTAX (→ permerror) with msg the reason: tag-list syntax,
 * "missing required tag X", "incompatible version", "unsupported algorithm
 * X" (alg stays UNKNOWN; rsa-sha1 is parsed, not refused here), bad c=,
 * "h= does not include From", bad base64, "i= is not within d=", "x= is not
 * after t=", q= without dns/txt, numbers too large. Fields parsed so far
 * stay filled (d=, s= for reporting). Time checks are the verifier's. */
SIGNET_MUST_USE enum signet_status sig_parse(const uint8_t *value, size_t len, struct dkim_sig *out,
					     struct signet_error *err);

/* What the signer writes. */
struct sig_fields {
	enum signet_alg alg;
	enum signet_canon hdr_canon, body_canon;
	const char *d, *s, *i; /* i may be NULL */
	uint64_t t, x;         /* x = 0: none */
	const char *h;         /* colon-separated names */
	const char *bh;        /* base64 */
};

/* Appends " v=1; a=..; c=..; d=..; s=..; t=..; [x=..;] [i=..;] h=..; bh=..; b="
 * folded with CRLF TAB so no line (counting "DKIM-Signature:") passes 78
 * columns; folds only between tags and inside h=. The value ends in "b=". */
SIGNET_MUST_USE enum signet_status sig_format(const struct sig_fields *f, struct signet_buf *out);
/* Appends the b= base64, folded inside the base64 only (never right after
 * "b="), continuing the column count of out's last line. */
SIGNET_MUST_USE enum signet_status sig_append_b(struct signet_buf *out, const char *b64);

#endif
