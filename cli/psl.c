/* psl.c: the public suffix list for `signet verify` (DKIM-VER-17): opens
 * the file, has libpsl load it (the .dat text or the .dafsa form) and
 * wraps it for libsignet. A list that cannot be read or loaded is a
 * warning: verifying goes on without the check, as in signetd. */
#include <errno.h>
#include <libpsl.h>
#include <string.h>
#include <sys/stat.h>

#include <signet/psl.h>

#include "cli.h"

static void off(const char *path, const char *why)
{
	cli_warn("public suffix list %s: %s; the public suffix check of d= (DKIM-VER-17) is off",
		 path, why);
}

/* NULL and a warning when f is no regular file of at most SIGNET_PSL_MAX_BYTES. */
static psl_ctx_t *load(FILE *f, const char *path)
{
	struct stat st;
	if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
		off(path, "not a regular file");
		return NULL;
	}
	if ((uint64_t)st.st_size > SIGNET_PSL_MAX_BYTES) {
		off(path, "larger than SIGNET_PSL_MAX_BYTES (8 MiB)");
		return NULL;
	}
	psl_ctx_t *ctx = psl_load_fp(f);
	if (ctx == NULL)
		off(path, "libpsl could not load it (empty, or out of memory)");
	return ctx;
}

struct signet_psl *psl_load(const char *path)
{
	struct signet_error err = {0};
	struct signet_psl *psl = NULL;

	if (path == NULL || path[0] == '\0')
		return NULL;
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		off(path, strerror(errno));
		return NULL;
	}
	psl_ctx_t *ctx = load(f, path);
	fclose(f);
	if (ctx != NULL && signet_psl_new(ctx, true, &psl, &err) != SIGNET_OK)
		off(path, err.msg);
	return psl;
}
