/* config_walk.c: the schema walker of the config reader: key tables checked
 * against the UCL tree (type checks, rspamd keys signet lacks warned about by
 * name, unknown keys an error with a "did you mean"), and the value accessors
 * the sections use. No section knows another; config.c lists them. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_walk.h"
#include "dnsname.h"

/* ---- small helpers ------------------------------------------------------ */

char *cfg_xstrdup(struct ctx *c, const char *s)
{
	char *p = strdup(s);
	if (p == NULL)
		diags_add(c->d, DIAG_ERROR, "out of memory");
	return p;
}

void cfg_set_str(struct ctx *c, char **slot, const char *s)
{
	char *p = cfg_xstrdup(c, s);
	if (p == NULL)
		return;
	free(*slot);
	*slot = p;
}

void cfg_node_error(struct ctx *c, const struct ucl_node *n, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	diags_add(c->d, DIAG_ERROR, AT(n) "%s", ATV(n), msg);
}

void cfg_node_warn(struct ctx *c, const struct ucl_node *n, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	diags_add(c->d, DIAG_WARNING, AT(n) "%s", ATV(n), msg);
}

/* Levenshtein distance, for "did you mean". Names are short (< 64). */
static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[64];
	if (la >= 63 || lb >= 63)
		return SIZE_MAX;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t best = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

/* A domain name or selector: libsignet's one DNS-name check (base/dnsname.c:
 * dot-separated labels of letters, digits, '-' and '_', RFC 6376 3.1,
 * RFC 1035 2.3.4 sizes), ASCII only: configured names are A-labels. */
bool cfg_dns_name_ok(const char *s)
{
	return dnsname_check((const uint8_t *)s, strlen(s), 0, NULL) == DNSNAME_OK;
}

void cfg_lower(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s + 32);
}

/* ---- value accessors ---------------------------------------------------- */

bool cfg_want_bool(struct ctx *c, const struct ucl_node *n, const char *where, bool *out)
{
	if (n->type == UCL_BOOL) {
		*out = n->v.b;
		return true;
	}
	if (n->type == UCL_STRING &&
	    (strcmp(n->str, "true") == 0 || strcmp(n->str, "false") == 0))
		cfg_node_error(c, n, "%s must be a boolean: write %s without quotes", where, n->str);
	else
		cfg_node_error(c, n, "%s must be a boolean (true or false), not %s %s", where,
			   n->type == UCL_INT ? "an" : "a", ucl_type_name(n->type));
	return false;
}

/* A string; a plain integer is taken as its decimal text (selector = 2019). */
bool cfg_want_str(struct ctx *c, const struct ucl_node *n, const char *where, char *buf,
		     size_t cap, const char **out)
{
	if (n->type == UCL_INT) {
		snprintf(buf, cap, "%lld", (long long)n->v.i);
		*out = buf;
		return true;
	}
	if (n->type != UCL_STRING) {
		cfg_node_error(c, n, "%s must be a string, not %s %s", where,
			   n->type == UCL_ARRAY || n->type == UCL_OBJECT || n->type == UCL_INT
				   ? "an" : "a",
			   ucl_type_name(n->type));
		return false;
	}
	if (memchr(n->str, '\0', n->len) != NULL) {
		cfg_node_error(c, n, "%s contains a NUL byte", where);
		return false;
	}
	*out = n->str;
	return true;
}

bool cfg_want_duration(struct ctx *c, const struct ucl_node *n, const char *where, double max,
			  double *out)
{
	double v;
	if (n->type == UCL_INT)
		v = (double)n->v.i;
	else if (n->type == UCL_FLOAT || n->type == UCL_TIME)
		v = n->v.d;
	else {
		cfg_node_error(c, n, "%s must be a time (e.g. 5s, 500ms), not a %s", where,
			   ucl_type_name(n->type));
		return false;
	}
	if (!(v > 0 && v <= max)) {
		cfg_node_error(c, n, "%s must be more than 0 and at most %gs", where, max);
		return false;
	}
	*out = v;
	return true;
}

/* "\"a\", \"b\" or \"c\"" (with hints) of the listed words, into buf. */
static void choice_list(const struct cfg_choice *choices, char *buf, size_t cap)
{
	size_t nlisted = 0, i = 0, len = 0, k;
	for (k = 0; choices[k].name != NULL; k++)
		nlisted += !choices[k].alias && !choices[k].refused;
	buf[0] = '\0';
	for (k = 0; choices[k].name != NULL && len < cap; k++) {
		const struct cfg_choice *ch = &choices[k];
		if (ch->alias || ch->refused)
			continue;
		const char *sep = i == 0 ? "" : i + 1 == nlisted ? " or " : ", ";
		i++;
		int w = snprintf(buf + len, cap - len, "%s\"%s\"%s%s%s", sep, ch->name,
				 ch->hint ? " (" : "", ch->hint ? ch->hint : "", ch->hint ? ")" : "");
		len += w > 0 ? (size_t)w : 0;
	}
}

bool cfg_want_choice(struct ctx *c, const struct ucl_node *n, const char *where,
		     const struct cfg_choice *choices, int *out)
{
	char buf[32], list[256];
	const char *s;
	if (!cfg_want_str(c, n, where, buf, sizeof buf, &s))
		return false;
	for (const struct cfg_choice *ch = choices; ch->name != NULL; ch++) {
		if (strcmp(s, ch->name) != 0)
			continue;
		if (ch->refused) {
			cfg_node_error(c, n, "%s = \"%s\" %s", where, s, ch->hint);
			return false;
		}
		*out = ch->value;
		return true;
	}
	choice_list(choices, list, sizeof list);
	cfg_node_error(c, n, "%s must be %s, not '%s'", where, list, s);
	return false;
}

/* A string, or an array of strings: calls fn on each. */
void cfg_each_str(struct ctx *c, const struct ucl_node *n, const char *where, void *arg,
		     void (*fn)(struct ctx *, const struct ucl_node *, const char *, void *))
{
	char buf[32];
	const char *s;
	if (n->type != UCL_ARRAY) {
		if (cfg_want_str(c, n, where, buf, sizeof buf, &s))
			fn(c, n, s, arg);
		return;
	}
	if (n->nkids > CONFIG_MAX_LIST) {
		cfg_node_error(c, n, "%s has %zu entries, more than CONFIG_MAX_LIST (%d)", where,
			   n->nkids, CONFIG_MAX_LIST);
		return;
	}
	for (size_t k = 0; k < n->nkids; k++)
		if (cfg_want_str(c, n->kids[k], where, buf, sizeof buf, &s))
			fn(c, n->kids[k], s, arg);
}

/* ---- key tables and the walker ------------------------------------------ */

static const struct keydef *keydef_find(const struct keydef *t, size_t n, const char *name)
{
	for (size_t k = 0; k < n; k++)
		if (strcmp(t[k].name, name) == 0)
			return &t[k];
	return NULL;
}

void cfg_unknown_key(struct ctx *c, const struct ucl_node *n, const char *section,
			const struct keydef *t, size_t nt)
{
	const char *best = NULL;
	size_t bestd = SIZE_MAX;
	for (size_t k = 0; k < nt; k++) {
		size_t dist = edit_distance(n->key, t[k].name);
		if (dist < bestd) {
			bestd = dist;
			best = t[k].name;
		}
	}
	if (best != NULL && bestd <= 2 && bestd < strlen(n->key))
		cfg_node_error(c, n, "unknown key '%s' in %s (did you mean '%s'?)", n->key, section,
			   best);
	else
		cfg_node_error(c, n, "unknown key '%s' in %s", n->key, section);
}

static void walk_one(struct ctx *c, const struct ucl_node *n, const char *section,
		     const struct keydef *kd, void *base)
{
	char where[160];
	const char *key = n->key ? n->key : "";
	if (strcmp(section, "the top level") == 0)
		snprintf(where, sizeof where, "%s", key);
	else
		snprintf(where, sizeof where, "%s.%s", section, key);
	if (kd->kind == K_UNSUPPORTED) {
		cfg_node_warn(c, n, "'%s' (an rspamd key) is not supported by signet and is ignored: %s",
			  where, kd->u.note);
		return;
	}
	if (kd->kind == K_SECTION) {
		for (const struct ucl_node *m = n; m != NULL; m = m->next) {
			if (m->type != UCL_OBJECT)
				cfg_node_error(c, m, "'%s' must be a section ({ ... }), not a %s", where,
					   ucl_type_name(m->type));
			else
				kd->fn(c, m, base);
		}
		return;
	}
	if (n->next != NULL) {
		cfg_node_error(c, n->next, "'%s' is set %zu times (first at %s:%u:%u); keep one", where,
			   ucl_count(n), ATV(n));
		return;
	}
	char buf[32];
	const char *s;
	if (kd->kind == K_BOOL)
		(void)cfg_want_bool(c, n, where, (bool *)((char *)base + kd->off));
	else if (kd->kind == K_STR && cfg_want_str(c, n, where, buf, sizeof buf, &s))
		cfg_set_str(c, (char **)((char *)base + kd->off), s);
	else if (kd->kind == K_CHOICE)
		(void)cfg_want_choice(c, n, where, kd->u.choices, (int *)((char *)base + kd->off));
	else if (kd->kind == K_FN)
		kd->fn(c, n, base);
}

void cfg_walk(struct ctx *c, const struct ucl_node *obj, const char *section,
		 const struct keydef *t, size_t nt, void *base)
{
	for (size_t k = 0; k < obj->nkids; k++) {
		const struct ucl_node *n = obj->kids[k];
		const struct keydef *kd = keydef_find(t, nt, n->key);
		if (kd == NULL)
			cfg_unknown_key(c, n, section, t, nt);
		else
			walk_one(c, n, section, kd, base);
	}
}
