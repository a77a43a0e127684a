/* psl.c: the public suffix list for `signet verify` (DKIM-VER-17): reads
 * the file and hands it to libsignet. A list that cannot be read or parsed
 * is a warning: verifying goes on without the check, as in signetd. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <signet/psl.h>

#include "cli.h"

static void off(const char *path, const char *why)
{
	cli_warn("public suffix list %s: %s; the public suffix check of d= (DKIM-VER-17) is off",
		 path, why);
}

struct signet_psl *psl_load(const char *path)
{
	struct signet_error err = { 0 };
	struct signet_psl *psl = NULL;
	struct stat st;
	uint8_t *text;
	size_t len;
	FILE *f;

	if (path == NULL || path[0] == '\0')
		return NULL;
	f = fopen(path, "rb");
	if (f == NULL) {
		off(path, strerror(errno));
		return NULL;
	}
	if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
		off(path, "not a regular file");
		fclose(f);
		return NULL;
	}
	if ((uint64_t)st.st_size > SIGNET_PSL_MAX_BYTES) {
		off(path, "larger than SIGNET_PSL_MAX_BYTES");
		fclose(f);
		return NULL;
	}
	text = malloc((size_t)st.st_size + 1);
	if (text == NULL) {
		off(path, "out of memory");
		fclose(f);
		return NULL;
	}
	/* One byte more than the size: a file that grew is refused by the parser. */
	len = fread(text, 1, (size_t)st.st_size + 1, f);
	if (ferror(f))
		off(path, "read error");
	else if (signet_psl_parse(text, len, &psl, &err) != SIGNET_OK)
		off(path, err.msg);
	fclose(f);
	free(text);
	return psl;
}
