/* psl.c: the public suffix list for `signet verify` (DKIM-VER-17): reads
 * the file and hands it to libsignet. A list that cannot be read or parsed
 * is a warning: verifying goes on without the check, as in signetd. */
#include <signet/psl.h>

#include "cli.h"

_Static_assert(FILEREAD_MAX_PSL == SIGNET_PSL_MAX_BYTES, "the reader caps the list where the parser does");

static void off(const char *path, const char *why)
{
	cli_warn("public suffix list %s: %s; the public suffix check of d= (DKIM-VER-17) is off",
		 path, why);
}

struct signet_psl *psl_load(const char *path)
{
	struct signet_error err = { 0 };
	struct signet_psl *psl = NULL;
	struct fileread_file f;
	struct fileread_error e;

	if (path == NULL || path[0] == '\0')
		return NULL;
	/* FILEREAD_MAX_PSL is SIGNET_PSL_MAX_BYTES: what the parser accepts. */
	if (fileread(path, FILEREAD_CAP(SIGNET_PSL_MAX_BYTES), &f, &e) != FILEREAD_OK) {
		off(path, e.why);
		return NULL;
	}
	if (signet_psl_parse(f.data, f.len, &psl, &err) != SIGNET_OK)
		off(path, err.msg);
	fileread_free(&f);
	return psl;
}
