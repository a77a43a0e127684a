/* explain.h: the verifier's explain mode for a body hash mismatch. One
 * stream per signature canonicalizes the body again and, at every
 * canonical line end, compares a clone of the SHA-256 state with bh=: the
 * last match is the longest signed prefix (lines added after it). Beside
 * it, a few streams undo one common relay change each and report which
 * one, if any, gives bh=. Bounded memory; only the CLI's --explain pays. */
#ifndef SIGNET_EXPLAIN_H
#define SIGNET_EXPLAIN_H

#include <signet/verifier.h>

#include "canon.h"
#include "crypto.h"

#define EXPLAIN_MAX_XFORMS 4  /* relay changes tried per signature */
#define EXPLAIN_MAX_HELD 1024 /* trailing-WSP run held back; longer runs pass through */

enum xform_kind { XF_STRIP_WSP = 1, XF_UNEXPAND, XF_BARE_CR, XF_DOTS };

/* One undo-a-relay-change stream: raw body → transform → canonicalizer → hash. */
struct xform {
	enum xform_kind kind;
	struct canon_body cb;
	struct hash *h;
	uint8_t stage[512]; /* transformed bytes waiting for cb */
	size_t nstage;
	/* transform state */
	uint8_t held[EXPLAIN_MAX_HELD]; /* WSP run (XF_STRIP_WSP) */
	size_t nheld;
	unsigned spaces; /* leading spaces not yet a tab (XF_UNEXPAND) */
	bool cr;         /* a CR held back */
	bool bol, dot;   /* at the beginning of a line; a leading dot held back */
};

struct body_explain {
	uint8_t want[SIGNET_SHA256_LEN]; /* bh= */
	struct canon_body cb;
	struct hash *h;
	uint64_t lines, bytes; /* canonical, so far */
	bool capture;          /* copying lines into r.added */
	struct signet_body_explain r;
	struct xform xf[EXPLAIN_MAX_XFORMS];
	size_t nxf;
	enum signet_status failed; /* first error; sticky */
};

/* want: the 32-byte bh= of the signature; limit as for its body hash. */
SIGNET_MUST_USE enum signet_status explain_new(enum signet_canon c, uint64_t limit,
					       const uint8_t want[SIGNET_SHA256_LEN],
					       struct body_explain **out, struct signet_error *err);
/* The raw body bytes, as for canon_body_update. */
SIGNET_MUST_USE enum signet_status explain_update(struct body_explain *e, const uint8_t *p,
						  size_t len, struct signet_error *err);
/* End of body: fills e->r (searched = true). */
SIGNET_MUST_USE enum signet_status explain_final(struct body_explain *e, struct signet_error *err);
void explain_free(struct body_explain *e);

/* z= (RFC 6376 3.5): decodes the copied fields and compares each with the
 * received fields of that name (values compared unfolded, WSP runs as one
 * SP): equal to one of them, or reported against the k-th one for the k-th
 * copy of a name (else the first). get(ctx, name,
 * nlen, idx, &value) gives the idx-th received value (top down) or false. */
typedef bool (*explain_field_fn)(void *ctx, const uint8_t *name, size_t nlen, size_t idx,
				 struct signet_span *value);
void explain_z(struct signet_span z, explain_field_fn get, void *ctx, struct signet_sig_explain *r);

#endif
