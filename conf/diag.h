/* diag.h: a list of diagnostics (warnings and errors) for signetd's config
 * and key loading, where one run reports every problem it finds and a
 * message names a file, a line and the exact fix, so it can be longer than
 * struct signet_error's 192 bytes. No printing here except diags_print. */
#ifndef SIGNETD_DIAG_H
#define SIGNETD_DIAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* SIGNET_TRY: conf/ shares base/error.h with libsignet. */
#include "error.h"

#define DIAG_MAX_MSG 4096   /* one message; longer ones end in "..." (a path is at most 4096) */
#define DIAG_MAX_COUNT 1000 /* messages kept; later ones are counted, not stored */

enum diag_level { DIAG_WARNING = 1, DIAG_ERROR };

struct diag {
	enum diag_level level;
	char *msg; /* owned, NUL-terminated */
};

struct diags {
	struct diag *v; /* owned */
	size_t n, cap;
	size_t nerrors, nwarnings; /* including dropped ones */
	size_t dropped;            /* past DIAG_MAX_COUNT or lost to out of memory */
};

void diags_init(struct diags *d);
void diags_free(struct diags *d);
/* Adds a message. Never fails: out of memory counts the message as dropped
 * (an error still counts in nerrors, so the load fails). */
void diags_add(struct diags *d, enum diag_level level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* "warning: ..." / "error: ..." one per line, with prefix (e.g. "signetd: ")
 * before each. */
void diags_print(const struct diags *d, FILE *f, const char *prefix);
/* The first message containing needle, or NULL (for tests and callers that
 * look for a specific problem). */
const char *diags_find(const struct diags *d, const char *needle);

#endif
