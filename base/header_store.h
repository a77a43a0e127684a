/* header_store.h: the header fields of one message, kept until end of
 * headers, within SIGNET_MAX_HEADER_FIELD / _FIELDS / _BYTES. Shared by the
 * signer, the verifier and signetd's session (which holds fields until EOH).
 * No I/O, no DKIM. */
#ifndef SIGNET_HEADER_STORE_H
#define SIGNET_HEADER_STORE_H

#include "buf.h"

struct header_field {
	size_t name_off, name_len;   /* name with trailing WSP removed (DKIM-CANON-12) */
	size_t raw_name_len;         /* name as written (simple canonicalization) */
	size_t value_off, value_len;
	bool has_colon;              /* false: not a field, never selected (DKIM-HDR-07) */
};

struct header_store {
	struct signet_buf data;      /* names and values, back to back */
	struct header_field *fields;
	size_t count, cap;
	/* Set instead of an error when a limit is passed, so the verifier can
	 * give every signature a clear result; the signer refuses instead. */
	bool over_limit;
	char over_limit_reason[128];
};

void header_store_init(struct header_store *hs);
void header_store_free(struct header_store *hs);

/* Copies one field. value NULL = a line without a colon. Over
 * SIGNET_MAX_HEADER_FIELD / SIGNET_MAX_HEADER_FIELDS / SIGNET_MAX_HEADER_BYTES
 * the field is dropped, over_limit is set, and SIGNET_ERR_LIMIT returned. */
SIGNET_MUST_USE enum signet_status header_store_add(struct header_store *hs, const uint8_t *name,
						    size_t nlen, const uint8_t *value, size_t vlen,
						    struct signet_error *err);

struct signet_span header_name(const struct header_store *hs, size_t idx);
struct signet_span header_raw_name(const struct header_store *hs, size_t idx);
struct signet_span header_value(const struct header_store *hs, size_t idx);
/* Fields whose name equals name (case-insensitive). */
size_t header_count(const struct header_store *hs, struct signet_span name);

#endif
