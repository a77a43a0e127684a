/* psl.c: the public suffix list for `signet verify` (DKIM-VER-17), loaded by
 * conf/'s loader (the one signetd uses). A list that cannot be read or
 * loaded is a warning: verifying goes on without the check, as in signetd. */
#include <limits.h>

#include "cli.h"
#include "psl_load.h"

struct signet_psl *psl_load(const char *path)
{
	char why[PATH_MAX + 128];
	if (path == NULL || path[0] == '\0')
		return NULL;
	bool unreadable;
	struct signet_psl *psl = conf_psl_load(path, &unreadable, why, sizeof why);
	if (psl == NULL)
		cli_warn("public suffix list %s: %s; the public suffix check of d= (DKIM-VER-17) is "
			 "off",
			 path, why);
	return psl;
}
