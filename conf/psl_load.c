/* psl_load.c: reading the public suffix list for signetd and the CLI (see
 * psl_load.h). One loader, so both say the same about the same file. */
#include <libpsl.h>
#include <stdio.h>

#include "fileread.h"
#include "psl_load.h"

_Static_assert(FILEREAD_MAX_PSL == SIGNET_PSL_MAX_BYTES, "one cap for the list file");

struct signet_psl *conf_psl_load(const char *path, bool *unreadable, char *why, size_t whycap)
{
	*unreadable = false;
	struct fileread_file f;
	struct fileread_error e;
	if (fileread(path, FILEREAD_CAP(SIGNET_PSL_MAX_BYTES), &f, &e) != FILEREAD_OK) {
		snprintf(why, whycap, "%s", e.why);
		*unreadable = true;
		return NULL;
	}
	/* psl_load_fp reads a stream: the bytes already checked and read. */
	FILE *mem = fmemopen(f.data, f.len ? f.len : 1, "rb");
	psl_ctx_t *ctx = mem != NULL && f.len > 0 ? psl_load_fp(mem) : NULL;
	if (mem != NULL)
		fclose(mem);
	fileread_free(&f);
	if (ctx == NULL) {
		snprintf(why, whycap, "libpsl could not load it (empty, or out of memory)");
		return NULL;
	}
	struct signet_psl *psl = NULL;
	struct signet_error err = {0};
	if (signet_psl_new(ctx, true, &psl, &err) != SIGNET_OK) {
		snprintf(why, whycap, "%s", err.msg);
		return NULL; /* signet_psl_new freed ctx (it owned it) */
	}
	return psl;
}
