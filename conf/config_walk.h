/* config_walk.h: internal to conf/'s config reader (config.c, config_walk.c,
 * config_signing.c, config_dump.c): the reading context, the table-driven
 * walker over the UCL tree, and the value accessors every section uses. Every
 * accessor reports its own error against the node (file:line:col) and
 * returns false; callers just return. */
#ifndef SIGNET_CONF_CONFIG_WALK_H
#define SIGNET_CONF_CONFIG_WALK_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "ucl.h"

struct raw_key;
struct raw_domain;

struct ctx {
	struct signetd_config *cfg;
	struct diags *d;
	struct raw_domain *doms; /* domain { } entries as read, resolved at the end */
	size_t ndoms;
	const struct ucl_node *top_path; /* where dkim_signing.path was set */
	const struct ucl_node *signing;  /* the (first) dkim_signing section */
};

/* "file:line:col: " prefix of a node's messages. */
#define AT(n) "%s:%u:%u: "
#define ATV(n) (n)->file, (n)->line, (n)->col

enum kind { K_BOOL = 1, K_STR, K_FN, K_SECTION, K_UNSUPPORTED, K_CHOICE };

/* One accepted word of a K_CHOICE key. hint is printed after the word in
 * the error message; an alias is accepted but not listed; a refused word
 * (a value rspamd knows and signet does not) is an error that says so. */
struct cfg_choice {
	const char *name;
	int value;
	const char *hint;
	bool alias, refused;
};

typedef void (*key_fn)(struct ctx *c, const struct ucl_node *n, void *base);

struct keydef {
	const char *name;
	enum kind kind;
	size_t off; /* K_BOOL, K_STR, K_CHOICE: field in base (an enum for K_CHOICE) */
	key_fn fn;  /* K_FN, K_SECTION */
	union {
		const char *note;                 /* K_UNSUPPORTED: what to do instead */
		const struct cfg_choice *choices; /* K_CHOICE: the words, ended by a NULL name */
	} u;
};

/* A key whose value is one word of a list, stored as an enum at base + off. */
#define CHOICE(key, off, words)                                                                    \
	{                                                                                          \
		key, K_CHOICE, off, NULL,                                                          \
		{                                                                                  \
			.choices = words                                                           \
		}                                                                                  \
	}

#define NKEYS(t) (sizeof(t) / sizeof((t)[0]))
#define CFG(f) offsetof(struct signetd_config, f)
#define SGN(f) offsetof(struct config_signing, f)

/* strdup that reports "out of memory" in the diagnostics. */
char *cfg_xstrdup(struct ctx *c, const char *s);
/* *slot = a copy of s (the old value freed); unchanged when out of memory. */
void cfg_set_str(struct ctx *c, char **slot, const char *s);
void cfg_node_error(struct ctx *c, const struct ucl_node *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void cfg_node_warn(struct ctx *c, const struct ucl_node *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* A domain name or selector (letters, digits, '-', '_'; 1..63 a label). */
bool cfg_dns_name_ok(const char *s);
void cfg_lower(char *s);

bool cfg_want_bool(struct ctx *c, const struct ucl_node *n, const char *where, bool *out);
/* A string; a plain integer is taken as its decimal text (buf holds it). */
bool cfg_want_str(struct ctx *c, const struct ucl_node *n, const char *where, char *buf, size_t cap,
		  const char **out);
/* A time in seconds, more than 0 and at most max. */
bool cfg_want_duration(struct ctx *c, const struct ucl_node *n, const char *where, double max,
		       double *out);
/* One of the words of choices (see struct cfg_choice) into *out. */
bool cfg_want_choice(struct ctx *c, const struct ucl_node *n, const char *where,
		     const struct cfg_choice *choices, int *out);
/* A string, or an array of at most CONFIG_MAX_LIST strings: fn on each. */
void cfg_each_str(struct ctx *c, const struct ucl_node *n, const char *where, void *arg,
		  void (*fn)(struct ctx *, const struct ucl_node *, const char *, void *));
/* "unknown key 'x' in SECTION" with a "did you mean" from table t. */
void cfg_unknown_key(struct ctx *c, const struct ucl_node *n, const char *section,
		     const struct keydef *t, size_t nt);
/* Each key of obj against table t: known keys to their handler (fields at
 * base + off), unknown ones an error with a "did you mean". */
void cfg_walk(struct ctx *c, const struct ucl_node *obj, const char *section,
	      const struct keydef *t, size_t nt, void *base);

/* config.c: local_addrs and sign_networks entries. */
void cfg_add_cidr(struct ctx *c, const struct ucl_node *n, const char *s, void *arg);

/* config_signing.c: the dkim_signing section, and what loading does with it
 * once the whole file is read. */
void cfg_s_dkim_signing(struct ctx *c, const struct ucl_node *n, void *base);
void cfg_raw_domains_free(struct ctx *c);
void cfg_resolve_domains(struct ctx *c);
/* After cfg_resolve_domains: domains in key rotation sign with their active
 * selector (rotation.h; the state file of rotation.state). */
void cfg_apply_rotation(struct ctx *c);
void cfg_check_redis_signing(struct ctx *c);
void cfg_check_top_path(struct ctx *c);

/* config_dmarc.c: the dmarc section. */
void cfg_s_dmarc(struct ctx *c, const struct ucl_node *n, void *base);
/* config_redis.c: the redis section. */
void cfg_s_redis(struct ctx *c, const struct ucl_node *n, void *base);
/* A Redis key name (1..256 printable characters, no spaces) into *slot. */
void cfg_redis_key_name(struct ctx *c, const struct ucl_node *n, const char *where, char **slot);
/* A servers list (redis.servers, dkim_signing.servers) into r, replacing it. */
void cfg_redis_servers(struct ctx *c, const struct ucl_node *n, const char *where,
		       struct config_redis *r);
/* password / username / db of a redis { } or dkim_signing section into r;
 * a password in a file others can read is warned about. */
void cfg_redis_password(struct ctx *c, const struct ucl_node *n, const char *where,
			struct config_redis *r);
void cfg_redis_username(struct ctx *c, const struct ucl_node *n, const char *where,
			struct config_redis *r);
void cfg_redis_db(struct ctx *c, const struct ucl_node *n, const char *where,
		  struct config_redis *r);
/* An error when section sets username without password. */
void cfg_check_redis_auth(struct ctx *c, const struct config_redis *r, const char *section);
/* config_arc.c: the arc section, its defaults, freeing and dump. */
void cfg_s_arc(struct ctx *c, const struct ucl_node *n, void *base);
void cfg_arc_defaults(struct config_arc *a);
void cfg_arc_free(struct config_arc *a);
void cfg_arc_dump(const struct config_arc *a, FILE *f);

#endif
