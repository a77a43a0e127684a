/* alloc_hook.c: the --wrap targets for malloc, calloc, realloc and strdup
 * (alloc_hook.h). While armed, it counts allocations and returns NULL for
 * the chosen one, recording its call site. Single-threaded tests only. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alloc_hook.h"

#define ALLOC_HOOK_MAX_SITES 256 /* distinct failed call sites remembered */

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
char *__wrap_strdup(const char *s);

static struct {
	bool armed, fired, openssl;
	unsigned long nth, count;
	const void *sites[ALLOC_HOOK_MAX_SITES];
	size_t nsites;
} hook;

void alloc_hook_arm(unsigned long nth)
{
	hook.armed = true;
	hook.fired = false;
	hook.nth = nth;
	hook.count = 0;
}

bool alloc_hook_disarm(void)
{
	hook.armed = false;
	return hook.fired;
}

unsigned long alloc_hook_count(void)
{
	return hook.count;
}

size_t alloc_hook_sites(void)
{
	return hook.nsites;
}

extern const char __executable_start[]; /* the linker's: where the executable is mapped */

size_t alloc_hook_site(size_t k)
{
	return (size_t)((const char *)hook.sites[k] - __executable_start);
}

static void remember(const void *site)
{
	for (size_t k = 0; k < hook.nsites; k++)
		if (hook.sites[k] == site)
			return;
	if (hook.nsites < ALLOC_HOOK_MAX_SITES)
		hook.sites[hook.nsites++] = site;
}

/* True when this allocation (called from site) must fail. */
static bool fail_now(const void *site)
{
	if (!hook.armed || ++hook.count != hook.nth)
		return false;
	hook.fired = true;
	if (site != NULL)
		remember(site);
	return true;
}

void *__wrap_malloc(size_t n)
{
	return fail_now(__builtin_return_address(0)) ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t size)
{
	return fail_now(__builtin_return_address(0)) ? NULL : __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t n)
{
	return fail_now(__builtin_return_address(0)) ? NULL : __real_realloc(p, n);
}

char *__wrap_strdup(const char *s)
{
	return fail_now(__builtin_return_address(0)) ? NULL : __real_strdup(s);
}

void alloc_hook_openssl(bool on)
{
	hook.openssl = on;
}

/* OpenSSL's calls: not in the call sites (alloc_hook_sites counts ours). */
void *alloc_hook_crypto_malloc(size_t n, const char *file, int line)
{
	(void)file;
	(void)line;
	return hook.openssl && fail_now(NULL) ? NULL : __real_malloc(n);
}

void *alloc_hook_crypto_realloc(void *p, size_t n, const char *file, int line)
{
	(void)file;
	(void)line;
	return hook.openssl && fail_now(NULL) ? NULL : __real_realloc(p, n);
}

void alloc_hook_crypto_free(void *p, const char *file, int line)
{
	(void)file;
	(void)line;
	free(p);
}
