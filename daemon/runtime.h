/* runtime.h: what a connection needs that can change on SIGHUP: the
 * config and the loaded keys, as one refcounted, read-only snapshot. A
 * reload builds a new snapshot and swaps it in; connections keep the one
 * they started with until they close. */
#ifndef SIGNETD_RUNTIME_H
#define SIGNETD_RUNTIME_H

#include <stdatomic.h>

struct signetd_config;
struct keystore;
struct report_writer;

struct runtime {
	struct signetd_config *cfg; /* owned */
	struct keystore *keys;      /* owned */
	/* Borrowed: the DMARC report writer of the process (started once, at
	 * start, when dmarc.reports.enabled), or NULL: nothing is recorded. */
	struct report_writer *reports;
	atomic_int refs;
};

/* Takes ownership of cfg and keys; refs = 1. NULL on out of memory (then
 * the caller still owns them). */
struct runtime *runtime_new(struct signetd_config *cfg, struct keystore *keys);
struct runtime *runtime_ref(struct runtime *rt);
/* Frees config and keys (wiping key material) with the last reference. */
void runtime_unref(struct runtime *rt);

#endif
