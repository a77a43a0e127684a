/* report_redis.h: `signet dmarc report --redis URL` (issue #15 "Fleets"):
 * copies one day of the observations a fleet of signetd wrote to Redis
 * (format: conf/report_redis_codec.h) into a report store, so that the
 * report code runs on it unchanged. */
#ifndef SIGNET_CLI_REPORT_REDIS_H
#define SIGNET_CLI_REPORT_REDIS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "report_store.h"

/* Fields of one domain's row hash read at most; more: an error, not a cut report. */
#define REPORT_REDIS_MAX_ROWS 1000000
#define REPORT_REDIS_MAX_DOMAINS 100000 /* policy domains of one day */

/* url: "redis://ADDRESS:PORT", "redis://[IPV6]:PORT" or "ADDRESS:PORT"
 * (numeric). Adds every row of day to dst with its count. false: why
 * says what failed (connect, a reply, a field not in the format). */
bool report_redis_load(const char *url, double timeout, int64_t day, struct report_store *dst,
		       uint64_t *rows, char *why, size_t cap);

#endif
