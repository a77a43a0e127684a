/* opendkim_conf.c: the reader of opendkim.conf(5) and OpenDKIM data sets
 * (see opendkim_conf.h). Lines are split by the rules of those man pages;
 * nothing here decides what a setting means for signetd. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "opendkim_conf.h"

static void seterr(struct odk_error *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void seterr(struct odk_error *e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof e->msg, fmt, ap);
	va_end(ap);
}

static bool is_space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r';
}

/* One line of text in [p, end): the bytes up to '\n'. Checks the line
 * limit and NUL bytes; strips a '#' comment and surrounding white space.
 * *out points into the buffer, which is modified (NUL-terminated). */
static bool next_line(char **pos, char *end, const char *file, unsigned line, char **out,
		      struct odk_error *e)
{
	char *p = *pos, *nl = memchr(p, '\n', (size_t)(end - p));
	char *le = nl ? nl : end;

	*pos = nl ? nl + 1 : end;
	if ((size_t)(le - p) > ODK_MAX_LINE) {
		seterr(e, "%s:%u: line is longer than ODK_MAX_LINE (%u bytes)", file, line,
		       ODK_MAX_LINE);
		return false;
	}
	if (memchr(p, '\0', (size_t)(le - p)) != NULL) {
		seterr(e, "%s:%u: line contains a NUL byte", file, line);
		return false;
	}
	*le = '\0';
	char *hash = strchr(p, '#');
	if (hash != NULL)
		*hash = '\0';
	while (is_space(*p))
		p++;
	size_t n = strlen(p);
	while (n > 0 && is_space(p[n - 1]))
		p[--n] = '\0';
	*out = p;
	return true;
}

static bool read_file(const char *path, size_t cap, const char *capname, struct fileread_file *f,
		      struct odk_error *e)
{
	struct fileread_error fe;

	if (fileread(path, (struct fileread_cap){cap, capname}, f, &fe) != FILEREAD_OK) {
		seterr(e, "%s", fe.msg);
		return false;
	}
	return true;
}

/* ---- opendkim.conf -------------------------------------------------------- */

/* Keeps p (malloc'd) in c->files, which owns it; NULL (p freed) on no memory. */
static char *keep(struct odk_conf *c, char *p)
{
	char **v = p ? realloc(c->files, (c->nfiles + 1) * sizeof *v) : NULL;

	if (v == NULL) {
		free(p);
		return NULL;
	}
	c->files = v;
	v[c->nfiles++] = p;
	return p;
}

static const char *add_file(struct odk_conf *c, const char *path)
{
	return keep(c, strdup(path));
}

static bool keyword_ok(const char *s)
{
	for (; *s; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		      (*s >= '0' && *s <= '9') || *s == '-' || *s == '_'))
			return false;
	return true;
}

static bool load_file(const char *path, struct odk_conf *c, unsigned depth, struct odk_error *e);

/* Include: relative to the including file's directory. */
static bool include(struct odk_conf *c, const char *from, const char *name, unsigned line,
		    unsigned depth, struct odk_error *e)
{
	char path[4096 + 1];
	const char *slash = strrchr(from, '/');

	if (depth >= ODK_MAX_INCLUDE_DEPTH) {
		seterr(e, "%s:%u: Include nests more than ODK_MAX_INCLUDE_DEPTH (%u) levels", from,
		       line, ODK_MAX_INCLUDE_DEPTH);
		return false;
	}
	int n = name[0] == '/' || slash == NULL
			? snprintf(path, sizeof path, "%s", name)
			: snprintf(path, sizeof path, "%.*s/%s", (int)(slash - from), from, name);
	if (n < 0 || (size_t)n >= sizeof path) {
		seterr(e, "%s:%u: Include path is longer than %zu bytes", from, line,
		       sizeof path - 1);
		return false;
	}
	return load_file(path, c, depth + 1, e);
}

static bool add_setting(struct odk_conf *c, const char *file, unsigned line, char *text,
			struct odk_error *e)
{
	char *p = text;

	while (*p && !is_space(*p))
		p++;
	char *value = p;
	if (*p)
		*p++ = '\0', value = p;
	while (is_space(*value))
		value++;
	if (!keyword_ok(text)) {
		seterr(e, "%s:%u: '%s' is not an opendkim.conf keyword", file, line, text);
		return false;
	}
	if (*value == '\0') {
		seterr(e, "%s:%u: %s has no value", file, line, text);
		return false;
	}
	if (c->n >= ODK_MAX_SETTINGS) {
		seterr(e, "%s:%u: more than ODK_MAX_SETTINGS (%u) settings", file, line,
		       ODK_MAX_SETTINGS);
		return false;
	}
	struct odk_setting *v = realloc(c->v, (c->n + 1) * sizeof *v);
	if (v == NULL) {
		seterr(e, "out of memory");
		return false;
	}
	c->v = v;
	/* name and value in one allocation, owned through files[] */
	size_t nl = strlen(text), vl = strlen(value);
	char *copy = keep(c, malloc(nl + vl + 2));
	if (copy == NULL) {
		seterr(e, "out of memory");
		return false;
	}
	memcpy(copy, text, nl + 1);
	memcpy(copy + nl + 1, value, vl + 1);
	v[c->n++] = (struct odk_setting){copy, copy + nl + 1, file, line};
	return true;
}

static bool parse_conf(struct odk_conf *c, const char *file, char *data, size_t len, unsigned depth,
		       struct odk_error *e)
{
	char *pos = data, *end = data + len, *text;
	unsigned line = 0;

	while (pos < end) {
		line++;
		if (!next_line(&pos, end, file, line, &text, e))
			return false;
		if (*text == '\0')
			continue;
		size_t kl = strcspn(text, " \t");
		if (kl == 7 && strncasecmp(text, "Include", 7) == 0) {
			char *name = text + kl;
			while (is_space(*name))
				name++;
			if (*name == '\0') {
				seterr(e, "%s:%u: Include has no value", file, line);
				return false;
			}
			if (!include(c, file, name, line, depth, e))
				return false;
			continue;
		}
		if (!add_setting(c, file, line, text, e))
			return false;
	}
	return true;
}

static bool load_file(const char *path, struct odk_conf *c, unsigned depth, struct odk_error *e)
{
	struct fileread_file f;
	const char *name = add_file(c, path);

	if (name == NULL) {
		seterr(e, "out of memory");
		return false;
	}
	if (!read_file(path, ODK_MAX_CONF_BYTES, "ODK_MAX_CONF_BYTES", &f, e))
		return false;
	bool ok = parse_conf(c, name, (char *)f.data, f.len, depth, e);
	fileread_free(&f);
	return ok;
}

bool odk_conf_load(const char *path, struct odk_conf *c, struct odk_error *e)
{
	memset(c, 0, sizeof *c);
	if (!load_file(path, c, 0, e)) {
		odk_conf_free(c);
		return false;
	}
	const struct odk_setting *b = odk_conf_get(c, "BaseDirectory");
	c->base_dir = b ? b->value : NULL;
	return true;
}

void odk_conf_free(struct odk_conf *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->nfiles; i++)
		free(c->files[i]);
	free(c->files);
	free(c->v);
	memset(c, 0, sizeof *c);
}

const struct odk_setting *odk_conf_get(const struct odk_conf *c, const char *name)
{
	for (size_t i = 0; i < c->n; i++)
		if (strcasecmp(c->v[i].name, name) == 0)
			return &c->v[i];
	return NULL;
}

int odk_bool(const char *value)
{
	if (strchr("TtYy1", value[0]) != NULL && value[0] != '\0')
		return 1;
	if (strchr("FfNn0", value[0]) != NULL && value[0] != '\0')
		return 0;
	return -1;
}

char *odk_path(const struct odk_conf *c, const char *p)
{
	char *out;

	if (p[0] == '/' || c->base_dir == NULL)
		return strdup(p);
	if (strncmp(p, "./", 2) == 0)
		p += 2;
	if (asprintf(&out, "%s/%s", c->base_dir, p) < 0)
		return NULL;
	return out;
}

/* ---- data sets ------------------------------------------------------------ */

static bool add_entry(struct odk_dataset *ds, const char *key, size_t klen, const char *value,
		      const char *file, unsigned line, struct odk_error *e)
{
	if (ds->n >= ODK_MAX_ENTRIES) {
		seterr(e, "%s:%u: more than ODK_MAX_ENTRIES (%u) entries", file, line,
		       ODK_MAX_ENTRIES);
		return false;
	}
	if (ds->n == ds->cap) {
		size_t cap = ds->cap ? ds->cap * 2 : 16;
		struct odk_entry *v = realloc(ds->v, cap * sizeof *v);
		if (v == NULL) {
			seterr(e, "out of memory");
			return false;
		}
		ds->v = v, ds->cap = cap;
	}
	struct odk_entry *v = ds->v;
	char *k = strndup(key, klen);
	char *val = value ? strdup(value) : NULL;
	if (k == NULL || (value != NULL && val == NULL)) {
		free(k), free(val);
		seterr(e, "out of memory");
		return false;
	}
	v[ds->n++] = (struct odk_entry){k, val, file, line};
	return true;
}

/* A file data set: one entry a line, key up to the first white space. */
static bool parse_table(struct odk_dataset *ds, const char *file, char *data, size_t len,
			struct odk_error *e)
{
	char *pos = data, *end = data + len, *text;
	unsigned line = 0;

	while (pos < end) {
		line++;
		if (!next_line(&pos, end, file, line, &text, e))
			return false;
		if (*text == '\0')
			continue;
		size_t kl = strcspn(text, " \t");
		const char *value = NULL;
		if (text[kl] != '\0') {
			value = text + kl;
			while (is_space(*value))
				value++;
		}
		if (!add_entry(ds, text, kl, value, file, line, e))
			return false;
	}
	return true;
}

/* A comma-separated list; "x=y" elements are key and value. */
static bool parse_list(struct odk_dataset *ds, const struct odk_setting *s, const char *list,
		       struct odk_error *e)
{
	const char *p = list;

	while (*p) {
		size_t n = strcspn(p, ",");
		const char *q = p, *qe = p + n;
		while (q < qe && is_space(*q))
			q++;
		while (qe > q && is_space(qe[-1]))
			qe--;
		if (qe > q) {
			const char *eq = memchr(q, '=', (size_t)(qe - q));
			char val[ODK_MAX_LINE + 1];
			snprintf(val, sizeof val, "%.*s", eq ? (int)(qe - eq - 1) : 0,
				 eq ? eq + 1 : "");
			if (!add_entry(ds, q, (size_t)((eq ? eq : qe) - q), eq ? val : NULL,
				       s->file, s->line, e))
				return false;
		}
		p += n + (p[n] == ',');
	}
	return true;
}

static enum odk_dataset_kind kind_of(const char *v, const char **rest)
{
	static const char *unsupported[] = {
		"db:", "dsn:", "ldap:", "ldaps:", "ldapi:", "memcache:", "lua:", "erlang:", "mdb:"};
	size_t len = strlen(v);

	*rest = v;
	if (strncmp(v, "file:", 5) == 0)
		return *rest = v + 5, ODK_DS_FILE;
	if (strncmp(v, "refile:", 7) == 0)
		return *rest = v + 7, ODK_DS_REFILE;
	if (strncmp(v, "csl:", 4) == 0)
		return *rest = v + 4, ODK_DS_LIST;
	for (size_t i = 0; i < sizeof unsupported / sizeof unsupported[0]; i++)
		if (strncmp(v, unsupported[i], strlen(unsupported[i])) == 0)
			return ODK_DS_UNSUPPORTED;
	if (len > 3 && strcmp(v + len - 3, ".db") == 0)
		return ODK_DS_UNSUPPORTED;
	if (v[0] == '/')
		return ODK_DS_FILE;
	return ODK_DS_LIST;
}

bool odk_dataset_load(const struct odk_conf *c, const struct odk_setting *s, struct odk_dataset *ds,
		      struct odk_error *e)
{
	const char *rest;
	struct fileread_file f;
	struct odk_error fe;

	memset(ds, 0, sizeof *ds);
	ds->kind = kind_of(s->value, &rest);
	if (ds->kind == ODK_DS_UNSUPPORTED)
		return true;
	if (ds->kind == ODK_DS_LIST) {
		if (parse_list(ds, s, rest, e))
			return true;
		odk_dataset_free(ds);
		return false;
	}
	ds->path = odk_path(c, rest);
	if (ds->path == NULL || ds->path[0] == '\0') {
		seterr(e, "%s:%u: %s %s: %s", s->file, s->line, s->name, s->value,
		       ds->path ? "no file name" : "out of memory");
		odk_dataset_free(ds);
		return false;
	}
	if (!read_file(ds->path, ODK_MAX_TABLE_BYTES, "ODK_MAX_TABLE_BYTES", &f, &fe)) {
		seterr(e, "%s:%u: %s %s: %s", s->file, s->line, s->name, s->value, fe.msg);
		odk_dataset_free(ds);
		return false;
	}
	bool ok = parse_table(ds, ds->path, (char *)f.data, f.len, e);
	fileread_free(&f);
	if (!ok)
		odk_dataset_free(ds);
	return ok;
}

void odk_dataset_free(struct odk_dataset *ds)
{
	if (ds == NULL)
		return;
	for (size_t i = 0; i < ds->n; i++)
		free(ds->v[i].key), free(ds->v[i].value);
	free(ds->v);
	free(ds->path);
	memset(ds, 0, sizeof *ds);
}
