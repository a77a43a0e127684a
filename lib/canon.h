/* canon.h: DKIM canonicalization (RFC 6376 3.4), one implementation for
 * signing and verifying. Headers: one field at a time into a buffer. Body:
 * a streaming state machine that takes any chunking and pushes canonical
 * bytes to a sink; O(1) memory (runs of empty lines are counted, not kept). */
#ifndef SIGNET_CANON_H
#define SIGNET_CANON_H

#include "buf.h"

/* Appends the canonical form of one header field, with its final CRLF
 * (3.4.1, 3.4.2). name as written (may end in WSP); value = bytes after the
 * colon, folding with CRLF or bare LF (bare LF is taken as CRLF, DKIM-CANON-05). */
SIGNET_MUST_USE enum signet_status canon_header(enum signet_canon c, struct signet_span name,
						struct signet_span value, struct signet_buf *out);

/* Receives canonical body bytes; returns non-OK to stop. */
typedef enum signet_status (*canon_sink)(void *ctx, const uint8_t *p, size_t len);

/* The vector scanner of the body fast path (canon.c). All give the same
 * output; canon_body_init picks the fastest one this build and CPU have. */
enum canon_scan {
	CANON_SCAN_GENERIC, /* portable: GCC vector extensions, 16-byte blocks */
	CANON_SCAN_SSE2,    /* x86-64 only */
	CANON_SCAN_AVX2,    /* x86-64 CPUs with AVX2 (checked at run time) */
};

struct canon_body {
	enum signet_canon c;
	uint64_t limit;   /* l=: stop emitting after this many octets; UINT64_MAX = none */
	uint64_t emitted; /* octets given to the sink (<= limit) */
	uint64_t total;   /* canonical length of the whole body (ignores limit) */
	canon_sink sink;
	void *ctx;
	/* streaming state (private to canon.c) */
	uint64_t empty_lines;      /* held back: emitted only if content follows */
	bool pending_wsp;          /* relaxed: WSP run on this line; one SP if content follows */
	bool cr_pending;           /* a CR was the last byte of the previous chunk */
	bool line_has_data;        /* the current line has emitted content */
	bool finished;             /* canon_body_final was called */
	enum signet_status failed; /* first sink error; sticky, returned by later calls */
	enum canon_scan scan;      /* set by canon_body_init (or canon_body_set_scan) */
	uint8_t out[4096];         /* batches short runs for the sink */
	size_t outlen;
};

void canon_body_init(struct canon_body *cb, enum signet_canon c, uint64_t limit, canon_sink sink,
		     void *ctx);
/* Bytes as the MTA gives them: CRLF or bare LF line ends (bare LF → CRLF;
 * a CR not followed by LF is data, DKIM-CANON-05). */
SIGNET_MUST_USE enum signet_status canon_body_update(struct canon_body *cb, const uint8_t *p,
						     size_t len);
/* End of body: applies the final-CRLF rules (3.4.3, 3.4.4) and flushes.
 * A sink error is returned and then returned again by every later call;
 * update or final after final is SIGNET_ERR_STATE. Runs of 256+ bytes are
 * passed to the sink straight from the caller's chunk (valid only during
 * the sink call; long runs in slices of about 4 KiB, each handed over as
 * soon as it is scanned); shorter output is batched in out[]. emitted
 * counts bytes batched but not yet flushed; after final it is what the
 * sink received. */
SIGNET_MUST_USE enum signet_status canon_body_final(struct canon_body *cb);
/* For tests and fuzzers: makes cb use scanner s (after init, before the
 * first update); false, and cb unchanged, if this build or CPU lacks it. */
SIGNET_MUST_USE bool canon_body_set_scan(struct canon_body *cb, enum canon_scan s);

#endif
