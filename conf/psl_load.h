/* psl_load.h: the public suffix list file for signetd's config and the CLI
 * (DKIM-VER-17): read through fileread (a regular file of at most
 * SIGNET_PSL_MAX_BYTES: no FIFO or device can hang it), loaded by libpsl (the
 * .dat text or the .dafsa form), wrapped for libsignet, which never reads
 * files itself. */
#ifndef SIGNET_CONF_PSL_LOAD_H
#define SIGNET_CONF_PSL_LOAD_H

#include <stdbool.h>
#include <stddef.h>

#include <signet/psl.h>

/* The list at path, or NULL with why filled (without the path) and
 * *unreadable telling a file that could not be read from one libpsl could
 * not load. The caller owns the list (signet_psl_free). */
struct signet_psl *conf_psl_load(const char *path, bool *unreadable, char *why, size_t whycap);

#endif
