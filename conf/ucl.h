/* ucl.h: a sans-I/O parser for the subset of UCL (libucl's config language)
 * that signetd.conf and rspamd's module configs use: text in, a tree of
 * nodes out, every error with file:line:column. It never opens a file:
 * `.include` calls back into the caller. Variables ($VAR) are not expanded. */
#ifndef SIGNETD_UCL_H
#define SIGNETD_UCL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <signet/signet.h>

#include "diag.h"

/* Bounds. Hitting one is SIGNET_ERR_LIMIT and an error naming the limit. */
#define UCL_MAX_DEPTH 64                      /* nested objects/arrays, the top object included */
#define UCL_MAX_INCLUDE_DEPTH 16              /* nested .include levels below the main file */
#define UCL_MAX_INCLUDES 256                  /* .include macros followed in one parse */
#define UCL_MAX_INPUT (1024 * 1024)           /* bytes of one file */
#define UCL_MAX_TOTAL_INPUT (8 * 1024 * 1024) /* bytes of all files of one parse */
#define UCL_MAX_STRING 65536                  /* bytes of one key or string value (after escapes) */

enum ucl_type {
	UCL_NULL = 0,
	UCL_OBJECT,
	UCL_ARRAY,
	UCL_STRING,
	UCL_INT,   /* v.i; size suffixes (k, kb, m, mb, g, gb) applied */
	UCL_FLOAT, /* v.d */
	UCL_BOOL,  /* v.b: true/false/yes/no/on/off */
	UCL_TIME,  /* v.d seconds: a number with ms, s, min, h, d, w, y */
};

struct ucl_node {
	enum ucl_type type;
	char *key;             /* owned, NUL-terminated; NULL for array elements and the root */
	const char *file;      /* borrowed from the ucl_doc: the file the value was read from */
	unsigned line, col;    /* where the key (or, without key, the value) starts; 1-based */
	unsigned priority;     /* of the file it came from (.include(priority=N)), 0 by default */
	struct ucl_node *next; /* implicit array: the next value given for the same key */
	union {
		int64_t i;
		double d;
		bool b;
	} v;
	char *str; /* UCL_STRING: owned, NUL-terminated; may hold NUL, len rules */
	size_t len;
	struct ucl_node **kids; /* UCL_OBJECT members in order / UCL_ARRAY elements; owned */
	size_t nkids, capkids;
};

/* A parse result: the root object and the names of the files read. */
struct ucl_doc {
	struct ucl_node *root; /* owned; UCL_OBJECT */
	char **files;          /* owned; files[0] is the main name */
	size_t nfiles;
};

enum ucl_include_status { UCL_INCLUDE_OK = 0, UCL_INCLUDE_NOT_FOUND, UCL_INCLUDE_FAILED };

/* What an include callback hands back. text and canonical are malloc'd by
 * the callback and freed by the parser. canonical (e.g. realpath) names the
 * file for loop detection and messages; NULL means "use path". why is a
 * short reason on NOT_FOUND / FAILED ("No such file or directory"). */
struct ucl_include_result {
	uint8_t *text;
	size_t len;
	char *canonical;
	char why[256];
};

/* path: the include's path, joined to the including file's directory when
 * relative. try: the macro said try=true (NOT_FOUND is then skipped
 * silently; FAILED is still an error). */
typedef enum ucl_include_status (*ucl_include_fn)(void *ctx, const char *path, bool try_,
						  struct ucl_include_result *res);

/* Zero fields take the defaults above (tests lower them). */
struct ucl_opts {
	ucl_include_fn include; /* NULL: any .include is an error */
	void *include_ctx;
	size_t max_depth, max_include_depth, max_includes, max_input, max_total_input, max_string;
};

/* Parses text (len bytes; need not be NUL-terminated) named name (for
 * messages and relative includes). On success *out is owned by the caller
 * (ucl_doc_free). On failure the one error (file:line:col: what) is added
 * to d and *out is NULL: SIGNET_ERR_SYNTAX, SIGNET_ERR_LIMIT, SIGNET_ERR_NOMEM,
 * or SIGNET_ERR_INVAL for a failed include. */
SIGNET_MUST_USE enum signet_status ucl_parse(const struct ucl_opts *opts, const char *name,
					     const uint8_t *text, size_t len, struct ucl_doc **out,
					     struct diags *d);
void ucl_doc_free(struct ucl_doc *doc);

/* The first value of key in obj (follow ->next for the others), or NULL. */
const struct ucl_node *ucl_find(const struct ucl_node *obj, const char *key);
/* "object", "string", ... */
const char *ucl_type_name(enum ucl_type t);
/* Number of values in an implicit array chain (1 for a single value). */
size_t ucl_count(const struct ucl_node *n);

#endif
