/* rotation.c: the rotation state file and its transitions (rotation.h).
 * The file is text so an administrator can read it (and signet rotate
 * --status renders it): one selector per line,
 *   domain selector state since wait_until checked path [note]
 * with '#' comments. Paths and notes hold no whitespace or control
 * characters (checked when written, refused when read). The same text is
 * what fleet mode keeps in Redis (rotation_parse, rotation_format). */
#include "rotation.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dnsname.h"
#include "fileread.h"

#define ROT_FIELDS 7 /* before the optional note */

static const char *const state_names[] = {"pending", "wrong",    "published",
					  "active",  "retiring", "retired"};

const char *rotation_state_name(enum rotation_state s)
{
	return (unsigned)s < sizeof state_names / sizeof state_names[0] ? state_names[s] : "?";
}

void rotation_init(struct rotation *r)
{
	*r = (struct rotation){0};
}

void rotation_free(struct rotation *r)
{
	free(r->v);
	rotation_init(r);
}

static bool name_ok(const char *s)
{
	return dnsname_check((const uint8_t *)s, strlen(s), 0, NULL) == DNSNAME_OK;
}

/* A path or note we can write on one line and read back. */
static bool word_ok(const char *s, bool allow_space)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f || (!allow_space && *s == ' '))
			return false;
	return true;
}

/* An absolute key file, or "redis:HASH" (fleet mode). */
static bool path_ok(const char *p)
{
	size_t n = strlen(ROTATION_REDIS_PATH);
	bool redis = strncmp(p, ROTATION_REDIS_PATH, n) == 0 && p[n] != '\0';
	return (p[0] == '/' || redis) && word_ok(p, false);
}

const char *rotation_key_hash(const struct rotation_entry *e)
{
	size_t n = strlen(ROTATION_REDIS_PATH);
	return strncmp(e->path, ROTATION_REDIS_PATH, n) == 0 ? e->path + n : NULL;
}

static struct rotation_entry *append(struct rotation *r, struct diags *d)
{
	if (r->n == ROTATION_MAX_ENTRIES) {
		diags_add(d, DIAG_ERROR,
			  "more than ROTATION_MAX_ENTRIES (%d) selectors in rotation",
			  ROTATION_MAX_ENTRIES);
		return NULL;
	}
	if (r->n == r->cap) {
		size_t cap = r->cap ? 2 * r->cap : 8;
		struct rotation_entry *v = realloc(r->v, cap * sizeof *v);
		if (v == NULL) {
			diags_add(d, DIAG_ERROR, "out of memory");
			return NULL;
		}
		r->v = v;
		r->cap = cap;
	}
	struct rotation_entry *e = &r->v[r->n++];
	memset(e, 0, sizeof *e);
	return e;
}

static bool parse_state(const char *s, enum rotation_state *out)
{
	for (size_t k = 0; k < sizeof state_names / sizeof state_names[0]; k++)
		if (strcmp(s, state_names[k]) == 0) {
			*out = (enum rotation_state)k;
			return true;
		}
	return false;
}

static bool parse_u64(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || s[0] == '-')
		return false;
	*out = v;
	return true;
}

static bool copy(char *dst, size_t cap, const char *src)
{
	size_t n = strlen(src);
	if (n >= cap)
		return false;
	memcpy(dst, src, n + 1);
	return true;
}

/* One line: fields split on spaces; the note is the rest of the line. */
static bool parse_line(char *line, struct rotation_entry *e, const char **why)
{
	char *f[ROT_FIELDS], *save = NULL, *p = line;
	for (size_t k = 0; k < ROT_FIELDS; k++) {
		f[k] = strtok_r(p, " ", &save);
		p = NULL;
		if (f[k] == NULL) {
			*why = "fewer than 7 fields (domain selector state since wait_until "
			       "checked path)";
			return false;
		}
	}
	char *note = strtok_r(NULL, "", &save);
	if (!name_ok(f[0]) || !copy(e->domain, sizeof e->domain, f[0]))
		return *why = "the domain is not a domain name", false;
	if (!name_ok(f[1]) || !copy(e->selector, sizeof e->selector, f[1]))
		return *why = "the selector is not a valid selector", false;
	if (!parse_state(f[2], &e->state))
		return *why = "unknown state (pending, wrong, published, active, retiring, "
			      "retired)",
		       false;
	if (!parse_u64(f[3], &e->since) || !parse_u64(f[4], &e->wait_until) ||
	    !parse_u64(f[5], &e->checked))
		return *why = "a time is not a decimal number of seconds", false;
	if (!path_ok(f[6]) || !copy(e->path, sizeof e->path, f[6]))
		return *why = "the key path is not an absolute path (or redis:HASH)", false;
	if (note != NULL && !copy(e->note, sizeof e->note, note))
		return *why = "the note is longer than ROTATION_NOTE_MAX", false;
	return true;
}

static const struct rotation_entry *find(const struct rotation *r, const char *domain,
					 const char *selector)
{
	for (size_t k = 0; k < r->n; k++)
		if (strcasecmp(r->v[k].domain, domain) == 0 &&
		    (selector == NULL || strcasecmp(r->v[k].selector, selector) == 0))
			return &r->v[k];
	return NULL;
}

static bool parse_text(const char *path, char *text, struct rotation *r, struct diags *d)
{
	unsigned lineno = 0;
	bool ok = true;
	for (char *line = text, *next; line != NULL && *line != '\0'; line = next) {
		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		lineno++;
		if (line[0] == '#' || line[0] == '\0')
			continue;
		struct rotation_entry e;
		const char *why = NULL;
		memset(&e, 0, sizeof e);
		if (!parse_line(line, &e, &why)) {
			diags_add(d, DIAG_ERROR, "%s:%u: %s", path, lineno, why);
			ok = false;
			continue;
		}
		if (find(r, e.domain, e.selector) != NULL) {
			diags_add(d, DIAG_ERROR, "%s:%u: %s/%s is listed twice", path, lineno,
				  e.domain, e.selector);
			ok = false;
			continue;
		}
		struct rotation_entry *slot = append(r, d);
		if (slot == NULL)
			return false;
		*slot = e;
	}
	return ok;
}

bool rotation_parse(const char *text, size_t len, const char *name, struct rotation *r,
		    struct diags *d)
{
	rotation_init(r);
	if (len > ROTATION_MAX_FILE) {
		diags_add(d, DIAG_ERROR,
			  "rotation state: %s is longer than ROTATION_MAX_FILE (%u bytes)", name,
			  ROTATION_MAX_FILE);
		return false;
	}
	if (len > 0 && memchr(text, '\0', len) != NULL) {
		diags_add(d, DIAG_ERROR, "rotation state: %s holds a NUL byte; it is not text",
			  name);
		return false;
	}
	char *buf = malloc(len + 1);
	if (buf == NULL) {
		diags_add(d, DIAG_ERROR, "out of memory");
		return false;
	}
	if (len > 0)
		memcpy(buf, text, len);
	buf[len] = '\0';
	bool ok = parse_text(name, buf, r, d);
	free(buf);
	if (!ok)
		rotation_free(r);
	return ok;
}

bool rotation_load(const char *path, struct rotation *r, struct diags *d)
{
	struct fileread_file f;
	struct fileread_error e;
	rotation_init(r);
	enum fileread_status st = fileread(path, FILEREAD_CAP(ROTATION_MAX_FILE), &f, &e);
	if (st != FILEREAD_OK) {
		if (e.errnum == ENOENT)
			return true;
		diags_add(d, DIAG_ERROR, "rotation state: %s", e.msg);
		return false;
	}
	bool ok = rotation_parse((const char *)f.data, f.len, path, r, d);
	fileread_free(&f);
	return ok;
}

static bool write_entries(FILE *f, const struct rotation *r)
{
	fprintf(f, "# signet key rotation state: written by `signet rotate` and signetd.\n"
		   "# domain selector state since wait_until checked key-file [note]\n");
	for (size_t k = 0; k < r->n; k++) {
		const struct rotation_entry *e = &r->v[k];
		fprintf(f, "%s %s %s %" PRIu64 " %" PRIu64 " %" PRIu64 " %s%s%s\n", e->domain,
			e->selector, rotation_state_name(e->state), e->since, e->wait_until,
			e->checked, e->path, e->note[0] ? " " : "", e->note);
	}
	return fflush(f) == 0 && !ferror(f);
}

char *rotation_format(const struct rotation *r, size_t *len, struct diags *d)
{
	char *text = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&text, &n);
	if (f == NULL) {
		diags_add(d, DIAG_ERROR, "out of memory");
		return NULL;
	}
	bool ok = write_entries(f, r);
	ok = fclose(f) == 0 && ok;
	if (!ok)
		diags_add(d, DIAG_ERROR, "out of memory");
	else if (n > ROTATION_MAX_FILE)
		diags_add(d, DIAG_ERROR, "rotation state: longer than ROTATION_MAX_FILE (%u bytes)",
			  ROTATION_MAX_FILE);
	if (!ok || n > ROTATION_MAX_FILE) {
		free(text);
		return NULL;
	}
	*len = n;
	return text;
}

bool rotation_save(const char *path, const struct rotation *r, struct diags *d)
{
	char tmp[ROTATION_PATH_MAX + 32];
	if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= sizeof tmp) {
		diags_add(d, DIAG_ERROR, "rotation state: path too long: %s", path);
		return false;
	}
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0640);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (f == NULL) {
		diags_add(d, DIAG_ERROR, "rotation state: cannot write %s: %s", tmp,
			  strerror(errno));
		if (fd >= 0)
			close(fd);
		return false;
	}
	bool ok = write_entries(f, r) && fsync(fileno(f)) == 0;
	int err = errno;
	ok = fclose(f) == 0 && ok;
	if (ok && rename(tmp, path) != 0) {
		err = errno;
		ok = false;
	}
	if (!ok) {
		unlink(tmp);
		diags_add(d, DIAG_ERROR, "rotation state: cannot write %s: %s", path,
			  strerror(err));
	}
	return ok;
}

static bool check_new(const struct rotation *r, const char *domain, const char *selector,
		      const char *path, struct diags *d)
{
	if (!name_ok(domain) || !name_ok(selector) || strlen(domain) >= 254 ||
	    strlen(selector) >= 64) {
		diags_add(d, DIAG_ERROR, "rotation: %s/%s is not a valid domain and selector",
			  domain, selector);
		return false;
	}
	if (!path_ok(path) || strlen(path) >= ROTATION_PATH_MAX) {
		diags_add(d, DIAG_ERROR,
			  "rotation: key path %s must be absolute (or redis:HASH), with no spaces "
			  "or control characters",
			  path);
		return false;
	}
	if (find(r, domain, selector) != NULL) {
		diags_add(d, DIAG_ERROR, "rotation: %s already has a selector %s", domain,
			  selector);
		return false;
	}
	return true;
}

/* A new entry in state s (after check_new). */
static bool add_entry(struct rotation *r, const char *domain, const char *selector,
		      const char *path, enum rotation_state st, uint64_t now, struct diags *d)
{
	struct rotation_entry *e = append(r, d);
	if (e == NULL)
		return false;
	copy(e->domain, sizeof e->domain, domain);
	copy(e->selector, sizeof e->selector, selector);
	copy(e->path, sizeof e->path, path);
	e->state = st;
	e->since = now;
	return true;
}

bool rotation_add_pending(struct rotation *r, const char *domain, const char *selector,
			  const char *path, uint64_t now, struct diags *d)
{
	if (!check_new(r, domain, selector, path, d))
		return false;
	for (size_t k = 0; k < r->n; k++)
		if (strcasecmp(r->v[k].domain, domain) == 0 && rotation_waits_for_dns(&r->v[k])) {
			diags_add(d, DIAG_ERROR,
				  "rotation: %s already waits for selector %s (%s); one rotation "
				  "at a "
				  "time",
				  domain, r->v[k].selector, rotation_state_name(r->v[k].state));
			return false;
		}
	return add_entry(r, domain, selector, path, ROT_PENDING, now, d);
}

bool rotation_adopt_active(struct rotation *r, const char *domain, const char *selector,
			   const char *path, uint64_t now, struct diags *d)
{
	if (find(r, domain, NULL) != NULL)
		return true;
	return check_new(r, domain, selector, path, d) &&
	       add_entry(r, domain, selector, path, ROT_ACTIVE, now, d);
}

bool rotation_dated_selector(const char *type, uint64_t now,
			     bool (*taken)(const char *sel, void *arg), void *arg, char *out,
			     size_t cap)
{
	char date[16];
	time_t t = (time_t)now;
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(date, sizeof date, "%Y%m%d", &tm);
	const char *prefix = strcmp(type, "ed25519") == 0 ? "ed" : "rsa";
	snprintf(out, cap, "%s%s", prefix, date);
	for (char suffix = 'b'; taken(out, arg) && suffix <= 'z'; suffix++)
		snprintf(out, cap, "%s%s%c", prefix, date, suffix);
	return !taken(out, arg);
}

bool rotation_waits_for_dns(const struct rotation_entry *e)
{
	return e->state == ROT_PENDING || e->state == ROT_WRONG || e->state == ROT_PUBLISHED;
}

static void enter(struct rotation_entry *e, enum rotation_state s, uint64_t now)
{
	e->state = s;
	e->since = now;
	e->wait_until = 0;
	if (s != ROT_WRONG)
		e->note[0] = '\0';
}

/* The switch: e signs from now; the domain's active entry retires. */
static void activate(struct rotation *r, struct rotation_entry *e, uint64_t now)
{
	for (size_t k = 0; k < r->n; k++) {
		struct rotation_entry *o = &r->v[k];
		if (o != e && o->state == ROT_ACTIVE && strcasecmp(o->domain, e->domain) == 0)
			enter(o, ROT_RETIRING, now);
	}
	enter(e, ROT_ACTIVE, now);
}

static enum rotation_event on_match(struct rotation *r, struct rotation_entry *e,
				    const struct rotation_obs *o, uint64_t now)
{
	if (e->state != ROT_PUBLISHED) {
		uint32_t wait = o->ttl < ROTATION_MAX_WAIT ? o->ttl : ROTATION_MAX_WAIT;
		enter(e, ROT_PUBLISHED, now);
		e->wait_until = now + wait;
		if (wait > 0)
			return ROT_EV_SEEN;
	}
	if (now < e->wait_until)
		return ROT_EV_NONE;
	activate(r, e, now);
	return ROT_EV_SWITCHED;
}

enum rotation_event rotation_observe(struct rotation *r, size_t idx, const struct rotation_obs *o,
				     uint64_t now)
{
	if (idx >= r->n || !rotation_waits_for_dns(&r->v[idx]) || o->kind == ROT_OBS_TEMPFAIL)
		return ROT_EV_NONE;
	struct rotation_entry *e = &r->v[idx];
	e->checked = now;
	switch (o->kind) {
	case ROT_OBS_MATCH: return on_match(r, e, o, now);
	case ROT_OBS_WRONG: {
		char note[ROTATION_NOTE_MAX];
		snprintf(note, sizeof note, "%s", o->problem != NULL ? o->problem : "wrong record");
		for (char *p = note; *p != '\0'; p++) /* one line in the state file */
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				*p = ' ';
		bool same = e->state == ROT_WRONG && strcmp(e->note, note) == 0;
		if (e->state != ROT_WRONG)
			enter(e, ROT_WRONG, now);
		memcpy(e->note, note, sizeof note);
		return same ? ROT_EV_NONE : ROT_EV_WRONG;
	}
	case ROT_OBS_ABSENT:
		if (e->state == ROT_PENDING)
			return ROT_EV_NONE;
		enter(e, ROT_PENDING, now);
		return ROT_EV_GONE;
	case ROT_OBS_TEMPFAIL: break;
	}
	return ROT_EV_NONE;
}

size_t rotation_tick(struct rotation *r, uint64_t now, uint64_t retire_after,
		     void (*on_retired)(const struct rotation_entry *e, void *arg), void *arg)
{
	size_t n = 0;
	for (size_t k = 0; k < r->n; k++) {
		struct rotation_entry *e = &r->v[k];
		if (e->state != ROT_RETIRING || now < e->since || now - e->since < retire_after)
			continue;
		enter(e, ROT_RETIRED, now);
		n++;
		if (on_retired != NULL)
			on_retired(e, arg);
	}
	return n;
}

const struct rotation_entry *rotation_active(const struct rotation *r, const char *domain)
{
	for (size_t k = 0; k < r->n; k++)
		if (r->v[k].state == ROT_ACTIVE && strcasecmp(r->v[k].domain, domain) == 0)
			return &r->v[k];
	return NULL;
}
