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
/* OpenSSL's allocator (CRYPTO_set_mem_functions, before OpenSSL's first
 * allocation): its allocations go to the real malloc, and are counted
 * like libsignet's only while alloc_hook_openssl(true). */
void *alloc_hook_crypto_malloc(size_t n, const char *file, int line);
void *alloc_hook_crypto_realloc(void *p, size_t n, const char *file, int line);
void alloc_hook_crypto_free(void *p, const char *file, int line);
void alloc_hook_openssl(bool on);

/* Distinct call sites (return addresses) in the executable (libsignet or
 * the test) that have been failed so far; OpenSSL's are not counted. */
size_t alloc_hook_sites(void);
/* Call site k (< alloc_hook_sites()) as an offset into the executable,
 * for addr2line -e <test> <offset>. */
size_t alloc_hook_site(size_t k);

#endif
