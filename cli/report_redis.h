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

struct redis_auth;
/* url: a --redis URL (redis_client_parse_url: "redis://[[USER]:PASSWORD@]
 * ADDRESS:PORT[/DB]", ...) or a redis.servers entry. auth: the config's
 * credentials (redis { password; username; db }), or NULL: the URL's
 * (and REDISCLI_AUTH). Adds every row of day to dst with its count. false:
 * why says what failed (connect, AUTH, a reply, a field not in the
 * format); it never holds the password. */
bool report_redis_load(const char *url, const struct redis_auth *auth, double timeout, int64_t day,
		       struct report_store *dst, uint64_t *rows, char *why, size_t cap);

#endif
