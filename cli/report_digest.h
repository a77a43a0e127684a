/* report_digest.h: what `signet dmarc digest` makes of the reports read:
 * counts per reporting organisation and source IP, a per-day pass/fail
 * series, and a "what to fix" list; rendered as text, JSON or one HTML page.
 * The judgments (is this a source to fix? spoofing?) are made here once,
 * and the three renderings show the same findings. No file reading. */
#ifndef SIGNET_REPORT_DIGEST_H
#define SIGNET_REPORT_DIGEST_H

#include <stdbool.h>
#include <stdio.h>

#include "report_parse.h"

/* A source that fails both SPF and DKIM with nothing passing, at least
 * this many messages over the reports, "looks like spoofing"; below it,
 * it may be a source of yours that was forgotten. */
#define DIGEST_SPOOF_MIN_MESSAGES 10
/* Names listed per source (DKIM d=/s=, SPF domains, From domains); more
 * are counted and shown as "+N more". */
#define DIGEST_MAX_NAMES 8
/* Days in the HTML chart (the most recent days that have data). */
#define DIGEST_CHART_MAX_DAYS 366

struct digest;

struct digest *digest_new(void);
void digest_free(struct digest *d); /* NULL is a no-op */

enum digest_added { DIGEST_ADDED, DIGEST_DUPLICATE, DIGEST_NOMEM };
/* Adds a report read from origin; the digest owns r from then on (it frees
 * a duplicate at once). DIGEST_DUPLICATE: the same org_name and report_id
 * were added before, from *first (borrowed, valid as long as d). */
enum digest_added digest_add(struct digest *d, struct report *r, const char *origin,
			     const char **first) __attribute__((warn_unused_result));
/* Records an input that was skipped, for the JSON and HTML output. */
bool digest_skipped(struct digest *d, const char *origin, const char *why)
	__attribute__((warn_unused_result));

/* Render. False when out of memory; the caller checks the stream. */
bool digest_text(const struct digest *d, FILE *f) __attribute__((warn_unused_result));
bool digest_json(const struct digest *d, FILE *f) __attribute__((warn_unused_result));
bool digest_html(const struct digest *d, FILE *f) __attribute__((warn_unused_result));

#endif
