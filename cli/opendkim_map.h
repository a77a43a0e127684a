/* opendkim_map.h: turns OpenDKIM's settings (opendkim_conf.h) into a
 * signetd.conf (UCL, signetd.conf(5)), with a "# not carried over:
 * SETTING VALUE: why" comment for each setting signetd has no equivalent
 * for and a "# note:" where signetd does the same without a setting. Key
 * files are checked for the daemon user with conf/keystore.c's check
 * (keys_load_file); private key material is never written out. Whether a
 * value is valid for signetd (socket, authserv_id, facility ...) is asked
 * of conf/ (config_parse), not judged again here. */
#ifndef SIGNET_CLI_OPENDKIM_MAP_H
#define SIGNET_CLI_OPENDKIM_MAP_H

#include <stdbool.h>
#include <stddef.h>

#include "opendkim_conf.h"

struct odk_map_result {
	char *text; /* malloc'd signetd.conf, NUL-terminated; the caller frees it */
	size_t len;
	unsigned not_carried;  /* "# not carried over" comments written */
	unsigned key_problems; /* key files signetd would refuse (also "not carried over") */
};

/* Maps c (read from conf_path) into r. false with e->msg naming the file
 * and line when a data set it needs cannot be read or has a malformed
 * line (a KeyTable value that is not DOMAIN:SELECTOR:KEY). Warnings (key
 * file checks, SigningTable entries that cannot be used) also go to stderr. */
bool odk_map(const struct odk_conf *c, const char *conf_path, struct odk_map_result *r,
	     struct odk_error *e);

#endif
