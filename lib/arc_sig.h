/* arc_sig.h: the three ARC header fields (RFC 8617 4.1) parsed and checked
 * as far as possible without the message, the key or the clock: the AAR
 * instance prefix, and the ARC-Message-Signature and ARC-Seal tag lists.
 * Spans point into the value given, which must outlive the struct. */
#ifndef SIGNET_ARC_SIG_H
#define SIGNET_ARC_SIG_H

#include <signet/arc.h>
#include "buf.h"
#include "tags.h"

enum arc_kind { ARC_AAR, ARC_AMS, ARC_AS };
enum arc_cv { ARC_CV_NONE, ARC_CV_PASS, ARC_CV_FAIL };

struct arc_sig {
	enum arc_kind kind;
	struct tag_list tags;
	unsigned instance;
	enum signet_alg alg;
	struct signet_span d, s;
	enum signet_canon hdr_canon, body_canon; /* AMS; an AS is always relaxed (ARC-AS-01) */
	struct signet_span hnames[SIGNET_MAX_H_NAMES]; /* AMS h= */
	size_t nh;
	uint8_t bh[64];
	size_t bh_len;
	uint8_t b[SIGNET_MAX_RSA_BITS / 8];
	size_t b_len;
	struct signet_span b_raw; /* what RFC 6376 3.7 deletes for the hash */
	enum arc_cv cv;           /* AS */
	bool has_l, has_x;
	uint64_t l, x;
};

/* ARC-SET-02: the instance of any ARC field: "i=" 1*DIGIT ";" at the start
 * of an AAR (ARC-AAR-01), the i= tag of an AMS or AS. SIGNET_ERR_SYNTAX
 * with the reason when absent, malformed or outside
 * 1..SIGNET_ARC_MAX_INSTANCES. */
SIGNET_MUST_USE enum signet_status arc_instance(enum arc_kind kind, const uint8_t *value,
						size_t len, unsigned *out,
						struct signet_error *err);

/* Parses an AMS (ARC-AMS-01) or AS (ARC-AS-01) value: tag-list syntax,
 * required tags, a= (rsa-sha256 or ed25519-sha256; rsa-sha1 refused,
 * RFC 8301), base64 b=/bh=, c=, d=/s= as DNS names, h= names (no
 * ARC-Seal in an AMS, RFC 8617 4.1.2), no h= in an AS, cv= (AS), decimal
 * t=/x=/l=. Any problem is SIGNET_ERR_SYNTAX with msg the reason
 * (SIGNET_ERR_NOMEM never: nothing is allocated). */
SIGNET_MUST_USE enum signet_status arc_sig_parse(enum arc_kind kind, const uint8_t *value,
						 size_t len, struct arc_sig *out,
						 struct signet_error *err);

#endif
