/* spf_record.h: an SPF record (RFC 7208 4.5, 4.6, 5, 6) parsed into terms.
 * The whole record is checked before anything is evaluated (4.6: a syntax
 * error anywhere is permerror). Internal to libsignet. */
#ifndef SIGNET_SPF_RECORD_H
#define SIGNET_SPF_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

enum spf_mech { SPF_ALL = 1, SPF_INCLUDE, SPF_A, SPF_MX, SPF_PTR, SPF_IP4, SPF_IP6, SPF_EXISTS };

struct spf_term {
	enum spf_mech mech;
	uint8_t qualifier;         /* '+', '-', '~' or '?' */
	struct signet_span text;   /* the directive as written */
	struct signet_span domain; /* domain-spec; len 0: the current domain */
	uint8_t addr[16];          /* ip4 (first 4 bytes), ip6 */
	unsigned cidr4, cidr6;     /* a, mx: both; ip4: cidr4; ip6: cidr6 */
};

struct spf_record {
	struct spf_term *terms; /* owned; spans point into the parsed text */
	size_t nterms;
	bool has_all;
	bool has_redirect, has_exp;
	struct signet_span redirect, exp; /* domain-specs */
	struct signet_span redirect_text; /* "redirect=..." as written */
};

/* Is this TXT string an SPF record: "v=spf1" followed by SP or its end
 * (4.5, case-insensitive)? */
bool spf_record_is_spf(const uint8_t *p, size_t len);

/* Parses text (an SPF record, spf_record_is_spf) into r. SIGNET_ERR_SYNTAX
 * with *why and *bad (the offending term) on a syntax error;
 * SIGNET_ERR_NOMEM. r is empty on error. */
enum signet_status spf_record_parse(const uint8_t *text, size_t len, struct spf_record *r,
				    const char **why, struct signet_span *bad);

void spf_record_free(struct spf_record *r);

#endif
