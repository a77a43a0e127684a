/* report_redis_codec.h: the ONE format DMARC observations have in Redis
 * (issue #15 "Fleets", DMARC-RPT-01): signetd's report writer
 * (daemon/report_writer.c) writes it, `signet dmarc report --redis` reads
 * it. Pure: no I/O, no hiredis.
 *
 * Keys (prefix REPORT_REDIS_PREFIX; DAY is the UTC day number of
 * report_store_day, DOMAIN the policy domain):
 *   signet:dmarc:DAY:domains        SET   the policy domains with data
 *   signet:dmarc:DAY:policy         HASH  DOMAIN -> the published policy (policy field)
 *   signet:dmarc:DAY:rows:DOMAIN    HASH  row field -> count (HINCRBY 1 per message)
 * All three expire after retention_days.
 *
 * A row field is the tuple report_store aggregates on: "r1|" then the
 * fields separated by '|', each percent-encoded ('%', '|' and bytes below
 * 0x20 or 0x7f as %XX); an absent optional field is empty. */
#ifndef SIGNET_REPORT_REDIS_CODEC_H
#define SIGNET_REPORT_REDIS_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include <signet/signet.h>

#include "report_store.h"

#define REPORT_REDIS_PREFIX "signet:dmarc:"
/* Encoded fields in a row: 12 words + 3 per DKIM result, each at most
 * REPORT_STORE_MAX_FIELD bytes, 3 bytes per byte when escaped. */
#define REPORT_REDIS_MAX_ROW                                                                       \
	(8 + (13 + 3 * REPORT_STORE_MAX_DKIM) * (3 * REPORT_STORE_MAX_FIELD + 1))
#define REPORT_REDIS_MAX_RUA 2048 /* as report_store_add */
#define REPORT_REDIS_MAX_POLICY                                                                    \
	(8 + 11 * (3 * REPORT_STORE_MAX_FIELD + 1) + 3 * REPORT_REDIS_MAX_RUA + 1)
#define REPORT_REDIS_MAX_KEY (64 + REPORT_STORE_MAX_FIELD)

/* Key names; SIGNET_ERR_LIMIT if the domain is over REPORT_STORE_MAX_FIELD. */
SIGNET_MUST_USE enum signet_status report_redis_key_domains(int64_t day, char *out, size_t cap);
SIGNET_MUST_USE enum signet_status report_redis_key_policy(int64_t day, char *out, size_t cap);
SIGNET_MUST_USE enum signet_status report_redis_key_rows(int64_t day, const char *domain, char *out,
							 size_t cap);

/* obs -> row field and policy field (NUL-terminated in out). Checks what
 * report_store_add checks: SIGNET_ERR_INVAL a required field missing,
 * SIGNET_ERR_LIMIT a field over REPORT_STORE_MAX_FIELD, ndkim over
 * REPORT_STORE_MAX_DKIM or out too small. */
SIGNET_MUST_USE enum signet_status report_redis_encode_row(const struct report_obs *obs, char *out,
							   size_t cap, struct signet_error *err);
SIGNET_MUST_USE enum signet_status report_redis_encode_policy(const struct report_policy *p,
							      char *out, size_t cap,
							      struct signet_error *err);

/* The reverse, in place: buf (a row or policy field, NUL-terminated) is
 * decoded into itself and the strings of *obs / *p point into it (empty
 * optional fields are NULL). Other fields of *obs are left as they are
 * (day, policy_domain, count, policy). SIGNET_ERR_SYNTAX: not this format. */
SIGNET_MUST_USE enum signet_status report_redis_decode_row(char *buf, struct report_obs *obs,
							   struct signet_error *err);
SIGNET_MUST_USE enum signet_status report_redis_decode_policy(char *buf, struct report_policy *p,
							      struct signet_error *err);

#endif
