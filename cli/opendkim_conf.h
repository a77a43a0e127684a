/* opendkim_conf.h: reads OpenDKIM's configuration for `signet
 * import-opendkim`: opendkim.conf(5) (keyword value lines, # comments,
 * Include) and the data sets it names (opendkim(8) "DATA SETS": file:,
 * refile:, csl:, a plain /path or a comma-separated list). It only reads
 * and splits; what a setting means for signetd is opendkim_map.c's job.
 * Every error names the file and line. */
#ifndef SIGNET_CLI_OPENDKIM_CONF_H
#define SIGNET_CLI_OPENDKIM_CONF_H

#include <stdbool.h>
#include <stddef.h>

#include "fileread.h"

#define ODK_DEFAULT_FILE "/etc/opendkim.conf"
#define ODK_MAX_CONF_BYTES FILEREAD_MAX_CONFIG    /* opendkim.conf and each Include: 1 MiB */
#define ODK_MAX_TABLE_BYTES FILEREAD_MAX_KEYSFILE /* a KeyTable, SigningTable, host list: 16 MiB */
#define ODK_MAX_LINE 4096                         /* bytes of one line of any of them */
#define ODK_MAX_SETTINGS 1000                     /* keyword lines, Include files counted */
#define ODK_MAX_ENTRIES 100000                    /* entries of one data set (CONFIG_MAX_DOMAINS) */
#define ODK_MAX_INCLUDE_DEPTH 5                   /* opendkim.conf(5): "a maximum of five levels" */

/* One "Keyword value" line. Strings are owned by the struct odk_conf. */
struct odk_setting {
	const char *name;  /* as written; compare with strcasecmp */
	const char *value; /* the rest of the line, trimmed, never empty */
	const char *file;
	unsigned line;
};

struct odk_conf {
	struct odk_setting *v; /* owned, in file order (Include inline) */
	size_t n;
	char **files; /* owned: every file name the settings point to */
	size_t nfiles;
	const char *base_dir; /* BaseDirectory's value, or NULL */
};

/* What a data set specification is. */
enum odk_dataset_kind {
	ODK_DS_LIST = 1,    /* csl: or a plain comma-separated list */
	ODK_DS_FILE,        /* file:PATH or a plain /PATH: exact keys */
	ODK_DS_REFILE,      /* refile:PATH: keys are wildcard patterns, first match wins */
	ODK_DS_UNSUPPORTED, /* db:, dsn:, ldap:, lua:, memcache:, mdb:, erlang:, *.db */
};

/* One element: "key" alone, or "key value" (a file line split at the first
 * white space, or a list's "key=value"). Owned by the struct odk_dataset. */
struct odk_entry {
	char *key;
	char *value; /* NULL when the element has no value */
	const char *file;
	unsigned line; /* 0 for a list element in opendkim.conf itself */
};

struct odk_dataset {
	enum odk_dataset_kind kind;
	char *path;          /* owned: the file read (ODK_DS_FILE, ODK_DS_REFILE), else NULL */
	struct odk_entry *v; /* owned, in order */
	size_t n, cap;
};

struct odk_error {
	char msg[4096 + 512]; /* "FILE:LINE: what is wrong" */
};

/* Reads path and its Include files. false with e->msg filled (the file,
 * the line and the problem) when a file cannot be read or a line is not
 * "Keyword value". On success *c is the caller's: odk_conf_free. */
bool odk_conf_load(const char *path, struct odk_conf *c, struct odk_error *e);
void odk_conf_free(struct odk_conf *c);

/* The first setting named name (case-insensitive, as OpenDKIM compares),
 * or NULL. */
const struct odk_setting *odk_conf_get(const struct odk_conf *c, const char *name);

/* opendkim.conf(5): "only the first byte of the value is processed":
 * T t Y y 1 -> 1, F f N n 0 -> 0, anything else -> -1. */
int odk_bool(const char *value);

/* Reads the data set of s (a file it names is read through fileread,
 * relative paths under BaseDirectory). ODK_DS_UNSUPPORTED reads nothing
 * and succeeds. false with e->msg naming the setting, the file and line. */
bool odk_dataset_load(const struct odk_conf *c, const struct odk_setting *s, struct odk_dataset *ds,
		      struct odk_error *e);
void odk_dataset_free(struct odk_dataset *ds);

/* A path from the configuration: absolute as is, relative under
 * BaseDirectory when it is set (OpenDKIM chdir(2)s there first), else as
 * written. malloc'd, NULL on no memory. */
char *odk_path(const struct odk_conf *c, const char *p);

#endif
