/* alloc_hook.h: test-only allocation fault injection (STYLE.md 8, "Make
 * failures happen on purpose"; SQLite's sqlite3FaultSim is the model). A
 * test executable linked with -Wl,--wrap=malloc,--wrap=calloc,
 * --wrap=realloc,--wrap=strdup sends every such call of libsignet (a static
 * library, so its calls are wrapped too) through alloc_hook.c, which can
 * fail the Nth one. Never linked into signet, signetd or libsignet. */
#ifndef SIGNET_ALLOC_HOOK_H
#define SIGNET_ALLOC_HOOK_H

#include <stdbool.h>
#include <stddef.h>

/* The nth allocation from now (1 = the next) returns NULL; only that one.
 * Allocations are not counted while disarmed. */
void alloc_hook_arm(unsigned long nth);
/* Stops counting; returns true if the armed allocation was failed. */
bool alloc_hook_disarm(void);
/* Allocations counted since the last alloc_hook_arm. */
unsigned long alloc_hook_count(void);
/* Distinct call sites (return addresses) that have been failed so far. */
size_t alloc_hook_sites(void);
/* Call site k (< alloc_hook_sites()) as an offset into the executable,
 * for addr2line -e <test> <offset>. */
size_t alloc_hook_site(size_t k);

#endif
