/* keystore.c: the key store (see keystore.h). Each key file is checked with stat()
 * against the daemon user's uid and groups (not access(2), which would ask
 * about root), read, parsed with signet_key_parse and wiped from memory.
 * Every problem names the file and the command that fixes it. It does not
 * watch files or reload by itself: the daemon calls keystore_load again. */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileread.h"
#include "keystore.h"

struct keystore {
	atomic_uint refs;
	struct keystore_key *v; /* domain { } keys, sorted by domain, config order within */
	size_t n;
	struct keystore_key *fb; /* fallback keys, sorted by domain */
	size_t nfb;
};

/* ---- identity ----------------------------------------------------------- */

static void id_add_gid(struct keys_identity *id, gid_t g)
{
	for (size_t k = 0; k < id->ngids; k++)
		if (id->gids[k] == g)
			return;
	if (id->ngids < sizeof id->gids / sizeof id->gids[0])
		id->gids[id->ngids++] = g;
}

static void identity_current(struct keys_identity *id)
{
	id->known = true;
	id->uid = geteuid();
	id_add_gid(id, getegid());
	gid_t g[256];
	int n = getgroups(256, g);
	for (int k = 0; k < n; k++)
		id_add_gid(id, g[k]);
	struct passwd *pw = getpwuid(id->uid);
	if (pw != NULL)
		snprintf(id->name, sizeof id->name, "%s", pw->pw_name);
	else
		snprintf(id->name, sizeof id->name, "uid %u", (unsigned)id->uid);
}

void keys_identity(const struct signetd_config *cfg, struct keys_identity *id, struct diags *d)
{
	memset(id, 0, sizeof *id);
	if (cfg->user == NULL) {
		identity_current(id);
		return;
	}
	snprintf(id->name, sizeof id->name, "%s", cfg->user);
	struct passwd *pw = getpwnam(cfg->user);
	if (pw == NULL) {
		diags_add(d, DIAG_ERROR,
			  "%s: user '%s' does not exist — create it with: adduser "
			  "--system --group --no-create-home %s",
			  cfg->file, cfg->user, cfg->user);
		return;
	}
	id->known = true;
	id->uid = pw->pw_uid;
	gid_t primary = pw->pw_gid;
	if (cfg->group != NULL) {
		struct group *gr = getgrnam(cfg->group);
		if (gr == NULL) {
			diags_add(d, DIAG_ERROR,
				  "%s: group '%s' does not exist — create it with: "
				  "addgroup --system %s",
				  cfg->file, cfg->group, cfg->group);
			id->known = false;
			return;
		}
		primary = gr->gr_gid;
	}
	id_add_gid(id, primary);
	gid_t g[256];
	int n = 256;
	if (getgrouplist(cfg->user, primary, g, &n) >= 0)
		for (int k = 0; k < n; k++)
			id_add_gid(id, g[k]);
}

static bool in_groups(const struct keys_identity *id, gid_t g)
{
	for (size_t k = 0; k < id->ngids; k++)
		if (id->gids[k] == g)
			return true;
	return false;
}

/* POSIX permission classes: the owner bits apply to the owner even when
 * they deny; then the group bits; then the others'. ACLs are not read. */
static bool may(const struct stat *st, const struct keys_identity *id, mode_t u, mode_t g, mode_t o)
{
	if (id->uid == 0)
		return true;
	if (st->st_uid == id->uid)
		return (st->st_mode & u) != 0;
	if (in_groups(id, st->st_gid))
		return (st->st_mode & g) != 0;
	return (st->st_mode & o) != 0;
}

static const char *owner_name(uid_t uid, char *buf, size_t cap)
{
	struct passwd *pw = getpwuid(uid);
	if (pw != NULL)
		snprintf(buf, cap, "%s", pw->pw_name);
	else
		snprintf(buf, cap, "uid %u", (unsigned)uid);
	return buf;
}

/* ---- one file ----------------------------------------------------------- */

struct keyfile {
	const struct keys_identity *id;
	const char *path, *domain, *selector, *where;
	enum signet_alg alg;
	struct diags *d;
	char pre[PATH_MAX + 600];    /* "where key file P (domain D, selector S): " */
	char keygen[PATH_MAX + 300]; /* "signet keygen -d D -s S -k P" */
};

#define KF_ERR(kf, ...) kf_report(kf, DIAG_ERROR, __VA_ARGS__)
#define KF_WARN(kf, ...) kf_report(kf, DIAG_WARNING, __VA_ARGS__)

static void kf_report(struct keyfile *kf, enum diag_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void kf_report(struct keyfile *kf, enum diag_level lvl, const char *fmt, ...)
{
	char msg[PATH_MAX * 2 + 600];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	diags_add(kf->d, lvl, "%s%s", kf->pre, msg);
}

/* Every directory above the file must be searchable by the daemon user. */
static bool check_dirs(struct keyfile *kf)
{
	char dir[PATH_MAX], own[64];
	size_t len = strlen(kf->path);
	if (len >= sizeof dir)
		return true;
	memcpy(dir, kf->path, len + 1);
	for (char *p = dir + 1; (p = strchr(p, '/')) != NULL; p++) {
		struct stat st;
		*p = '\0';
		bool ok = stat(dir, &st) != 0 || !S_ISDIR(st.st_mode) ||
			  may(&st, kf->id, S_IXUSR, S_IXGRP, S_IXOTH);
		if (!ok) {
			KF_ERR(kf,
			       "not readable by user %s (uid %u): directory %s is mode %04o owned "
			       "by %s, so the user cannot reach the key — fix: chown %s %s (or "
			       "chmod o+x %s)",
			       kf->id->name, (unsigned)kf->id->uid, dir,
			       (unsigned)(st.st_mode & 07777),
			       owner_name(st.st_uid, own, sizeof own), kf->id->name, dir, dir);
			return false;
		}
		*p = '/';
	}
	return true;
}

/* Missing: the keygen command that creates it (and the directory). */
static void report_missing(struct keyfile *kf)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof dir, "%s", kf->path);
	char *slash = strrchr(dir, '/');
	struct stat st;
	if (slash != NULL && slash != dir) {
		*slash = '\0';
		if (stat(dir, &st) != 0) {
			KF_ERR(kf,
			       "not found, and directory %s does not exist either — create them "
			       "with: mkdir -p %s && %s",
			       dir, dir, kf->keygen);
			return;
		}
	}
	KF_ERR(kf, "not found — create it with: %s", kf->keygen);
}

static bool check_stat(struct keyfile *kf, struct stat *st)
{
	if (stat(kf->path, st) != 0) {
		if (errno == ENOENT)
			report_missing(kf);
		else
			KF_ERR(kf, "cannot be checked: %s", strerror(errno));
		return false;
	}
	if (S_ISDIR(st->st_mode)) {
		KF_ERR(kf,
		       "is a directory, not a key file — set path to the key file itself, e.g. "
		       "%s/%s.%s.key (create it with: signet keygen -d %s -s %s -k %s/%s.%s.key)",
		       kf->path, kf->domain, kf->selector, kf->domain, kf->selector, kf->path,
		       kf->domain, kf->selector);
		return false;
	}
	if (!S_ISREG(st->st_mode)) {
		KF_ERR(kf, "is %s, not a regular file — set path to a key file made with: %s",
		       fileread_type_name(st->st_mode), kf->keygen);
		return false;
	}
	if (st->st_size == 0) {
		KF_ERR(kf, "is empty — remove it and create the key with: %s", kf->keygen);
		return false;
	}
	if (st->st_size > KEYS_MAX_FILE) {
		KF_ERR(kf, "is %lld bytes, more than KEYS_MAX_FILE (%u): not a private key",
		       (long long)st->st_size, KEYS_MAX_FILE);
		return false;
	}
	return true;
}

/* Appends ", name" to out while it fits; once one does not, the rest are
 * only counted (n: names seen before this one; group_others ends the list
 * with "and N more"). */
static void name_add(char *out, size_t cap, size_t *listed, size_t n, const char *name)
{
	size_t o = strlen(out);
	if (*listed < n)
		return;
	int w = snprintf(out + o, cap - o, "%s%s", n ? ", " : "", name);
	if (w < 0 || (size_t)w >= cap - o - 24) /* keep room for " and N more" */
		out[o] = '\0';
	else
		(*listed)++;
}

/* Users other than the run-as user, the file's owner and root (who can
 * read the file anyway) in group gid: its members (gr_mem, the first
 * KEYS_MAX_GROUP_NAMES) and the users whose primary group it is. Listed as
 * "a, b, c" in out (cap > 32), "and N more" when they do not all fit;
 * returns how many there are. */
static size_t group_others(gid_t gid, const struct keys_identity *id, uid_t owner, char *out,
			   size_t cap)
{
	size_t n = 0, listed = 0;
	out[0] = '\0';
	struct group *gr = getgrgid(gid);
	char **mem = gr != NULL ? gr->gr_mem : NULL;
	char names[KEYS_MAX_GROUP_NAMES][64];
	size_t nnames = 0;
	for (; mem != NULL && *mem != NULL && nnames < KEYS_MAX_GROUP_NAMES; mem++)
		snprintf(names[nnames++], sizeof names[0], "%s", *mem);
	for (size_t k = 0; k < nnames; k++) {
		struct passwd *pw = getpwnam(names[k]);
		if (pw != NULL && (pw->pw_uid == id->uid || pw->pw_uid == owner || pw->pw_uid == 0))
			continue;
		name_add(out, cap, &listed, n++, names[k]);
	}
	setpwent();
	struct passwd *pw;
	while ((pw = getpwent()) != NULL) {
		if (pw->pw_gid != gid || pw->pw_uid == id->uid || pw->pw_uid == owner ||
		    pw->pw_uid == 0)
			continue;
		bool listed_already = false;
		for (size_t k = 0; k < nnames && !listed_already; k++)
			listed_already = strcmp(names[k], pw->pw_name) == 0;
		if (!listed_already)
			name_add(out, cap, &listed, n++, pw->pw_name);
	}
	endpwent();
	if (listed < n) {
		size_t o = strlen(out);
		snprintf(out + o, cap - o, " and %zu more", n - listed);
	}
	return n;
}

/* The command that leaves the key to the daemon user alone. */
static void fix_600(const struct keyfile *kf, const struct stat *st, char *out, size_t cap)
{
	if (st->st_uid == kf->id->uid || kf->id->uid == 0)
		snprintf(out, cap, "chmod 600 %s", kf->path);
	else
		snprintf(out, cap, "chown %s %s && chmod 600 %s", kf->id->name, kf->path, kf->path);
}

/* SECURITY.md "Private key files" (as OpenDKIM's RequireSafeKeys): a key
 * others may read or write is refused; so is one whose group holds other
 * users. A group that holds only the daemon user is a warning, or nothing
 * when the daemon reads the file through that group (root:signetd 0640). */
static bool check_safe(struct keyfile *kf, const struct stat *st)
{
	char fix[PATH_MAX * 2 + 64], others[512], gname[64];
	unsigned mode = (unsigned)(st->st_mode & 07777);
	fix_600(kf, st, fix, sizeof fix);
	if ((st->st_mode & (S_IROTH | S_IWOTH)) != 0) {
		KF_ERR(kf,
		       "%s by others (mode %04o): any local user could %s the private key, so "
		       "it is refused — fix: %s",
		       (st->st_mode & S_IROTH) ? "readable" : "writable", mode,
		       (st->st_mode & S_IROTH) ? "copy" : "replace", fix);
		return false;
	}
	if ((st->st_mode & (S_IRGRP | S_IWGRP)) == 0)
		return true;
	if (group_others(st->st_gid, kf->id, st->st_uid, others, sizeof others) > 0) {
		struct group *gr = getgrgid(st->st_gid);
		snprintf(gname, sizeof gname, "%s", gr ? gr->gr_name : "?");
		KF_ERR(kf,
		       "%s by group %s (mode %04o), which also holds %s: they could %s the "
		       "private key, so it is refused — fix: %s",
		       (st->st_mode & S_IRGRP) ? "readable" : "writable", gname, mode, others,
		       (st->st_mode & S_IRGRP) ? "copy" : "replace", fix);
		return false;
	}
	return true;
}

/* The daemon user must read the file; others must not. */
static bool check_perms(struct keyfile *kf, const struct stat *st)
{
	char own[64];
	if (!kf->id->known)
		return true; /* the unknown user was reported */
	if (!check_dirs(kf))
		return false;
	if (!may(st, kf->id, S_IRUSR, S_IRGRP, S_IROTH)) {
		bool owner = st->st_uid == kf->id->uid;
		KF_ERR(kf,
		       "not readable by user %s (uid %u): Permission denied; file is mode %04o "
		       "owned by %s — fix: %s%s %s",
		       kf->id->name, (unsigned)kf->id->uid, (unsigned)(st->st_mode & 07777),
		       owner_name(st->st_uid, own, sizeof own), owner ? "chmod u+r" : "chown ",
		       owner ? "" : kf->id->name, kf->path);
		return false;
	}
	if (!check_safe(kf, st))
		return false;
	bool group_ok = in_groups(kf->id, st->st_gid) && st->st_uid != kf->id->uid;
	mode_t bad = (st->st_mode & S_IRWXO) | (st->st_mode & S_IWGRP) |
		     (group_ok ? 0 : (st->st_mode & S_IRGRP));
	if (bad == 0)
		return true;
	const char *fix = st->st_uid == kf->id->uid || kf->id->uid == 0 ? "chmod 600"
			  : group_ok                                    ? "chmod 640"
									: "chown";
	if (strcmp(fix, "chown") == 0)
		KF_WARN(kf,
			"readable by group or others (mode %04o) — fix: chown %s %s && chmod 600 "
			"%s",
			(unsigned)(st->st_mode & 07777), kf->id->name, kf->path, kf->path);
	else
		KF_WARN(kf, "readable by group or others (mode %04o) — fix: %s %s",
			(unsigned)(st->st_mode & 07777), fix, kf->path);
	return true;
}

/* Reads the file checked above through fileread (non-blocking open, fstat,
 * KEYS_MAX_FILE); refuses it if it is no longer the file that was checked. */
static bool read_key_file(struct keyfile *kf, const struct stat *checked, struct fileread_file *f)
{
	struct fileread_error e;
	if (fileread(kf->path, FILEREAD_CAP(KEYS_MAX_FILE), f, &e) != FILEREAD_OK) {
		bool call = e.status == FILEREAD_NOT_FOUND || e.status == FILEREAD_DENIED ||
			    e.status == FILEREAD_OPEN_FAILED || e.status == FILEREAD_READ_FAILED;
		KF_ERR(kf, "%s%s", call ? "cannot be read: " : "", e.why);
		return false;
	}
	if (f->st.st_dev != checked->st_dev || f->st.st_ino != checked->st_ino ||
	    f->st.st_mode != checked->st_mode || f->st.st_uid != checked->st_uid ||
	    f->st.st_gid != checked->st_gid) {
		fileread_free(f);
		KF_ERR(kf, "changed while it was being checked; check it again (signetd -t)");
		return false;
	}
	return true;
}

static const char *key_desc(const struct signet_key *k, char *buf, size_t cap)
{
	if (signet_key_type(k) == SIGNET_KEY_ED25519)
		snprintf(buf, cap, "an ed25519 key");
	else
		snprintf(buf, cap, "an RSA %u-bit key", signet_key_bits(k));
	return buf;
}

static bool check_key(struct keyfile *kf, const struct signet_key *key)
{
	char desc[64];
	if (kf->alg != SIGNET_ALG_UNKNOWN && signet_key_alg(key) != kf->alg) {
		bool ed = kf->alg == SIGNET_ALG_ED25519_SHA256;
		KF_ERR(kf,
		       "is %s but algorithm = \"%s\" is configured — fix: point path at %s key "
		       "(signet keygen -t %s -d %s -s %s -k NEWFILE) or change algorithm",
		       key_desc(key, desc, sizeof desc), signet_alg_name(kf->alg),
		       ed ? "an ed25519" : "an RSA", ed ? "ed25519" : "rsa", kf->domain,
		       kf->selector);
		return false;
	}
	if (signet_key_type(key) == SIGNET_KEY_RSA && signet_key_bits(key) < 2048)
		KF_WARN(kf,
			"is an RSA %u-bit key; RFC 8301 3.2 asks signers for at least 2048 bits "
			"— make a new key with: signet keygen -b 2048 -d %s -s NEWSELECTOR -k "
			"NEWFILE",
			signet_key_bits(key), kf->domain);
	return true;
}

struct signet_key *keys_load_file(const struct keys_identity *id, const char *path,
				  const char *domain, const char *selector, enum signet_alg alg,
				  const char *where, struct diags *d)
{
	struct keyfile kf = {id, path, domain, selector, where ? where : "", alg, d, "", ""};
	snprintf(kf.pre, sizeof kf.pre, "%skey file %s (domain %s, selector %s): ", kf.where, path,
		 domain, selector);
	snprintf(kf.keygen, sizeof kf.keygen, "signet keygen %s-d %s -s %s -k %s",
		 alg == SIGNET_ALG_ED25519_SHA256 ? "-t ed25519 " : "", domain, selector, path);
	struct stat st;
	if (!check_stat(&kf, &st) || !check_perms(&kf, &st))
		return NULL;
	struct fileread_file f;
	if (!read_key_file(&kf, &st, &f))
		return NULL;
	struct signet_key *key = NULL;
	struct signet_error err = {0};
	enum signet_status ps = signet_key_parse(f.data, f.len, &key, &err);
	fileread_free(&f); /* wipes the key material */
	if (ps != SIGNET_OK) {
		KF_ERR(&kf,
		       "%s — fix: make a new key with: %s (move the old file away first; "
		       "keygen does not overwrite), then publish its DNS record",
		       err.msg, kf.keygen);
		return NULL;
	}
	if (!check_key(&kf, key)) {
		signet_key_free(key);
		return NULL;
	}
	return key;
}

/* ---- the store ---------------------------------------------------------- */

static void entry_free(struct keystore_key *e)
{
	free((char *)e->domain);
	free((char *)e->selector);
	free((char *)e->path);
	signet_key_free((struct signet_key *)e->key);
}

static bool entry_add(struct keystore_key **v, size_t *n, const char *domain, const char *sel,
		      const char *path, struct signet_key *key, bool fallback)
{
	struct keystore_key *nv = realloc(*v, (*n + 1) * sizeof *nv);
	if (nv == NULL)
		return false;
	*v = nv;
	struct keystore_key *e = &nv[*n];
	e->domain = strdup(domain);
	e->selector = strdup(sel);
	e->path = strdup(path);
	e->key = key;
	e->fallback = fallback;
	if (e->domain == NULL || e->selector == NULL || e->path == NULL) {
		entry_free(e);
		return false;
	}
	(*n)++;
	return true;
}

static void load_domains(const struct signetd_config *cfg, const struct keys_identity *id,
			 struct keystore *ks, struct diags *d)
{
	const struct config_signing *sg = &cfg->signing;
	for (size_t k = 0; k < sg->ndomains; k++) {
		const struct config_domain *cd = &sg->domains[k];
		for (size_t j = 0; j < cd->nkeys; j++) {
			const struct config_key *ck = &cd->keys[j];
			char where[PATH_MAX + 32];
			snprintf(where, sizeof where, "%s:%u:%u: ", ck->file ? ck->file : cfg->file,
				 ck->line, ck->col);
			struct signet_key *key = keys_load_file(id, ck->path, cd->name,
								ck->selector, ck->alg, where, d);
			if (key != NULL && !entry_add(&ks->v, &ks->n, cd->name, ck->selector,
						      ck->path, key, false)) {
				signet_key_free(key);
				diags_add(d, DIAG_ERROR, "out of memory");
			}
		}
	}
}

/* The template with $selector filled in and $domain left: the glob
 * pattern has '*' for $domain and glob's special characters escaped. */
static bool template_glob(const char *tmpl, char *out, size_t cap, bool *has_domain)
{
	size_t o = 0;
	*has_domain = false;
	for (const char *p = tmpl; *p;) {
		size_t skip = strncmp(p, "${domain}", 9) == 0 ? 9
			      : strncmp(p, "$domain", 7) == 0 ? 7
							      : 0;
		if (o + 3 >= cap)
			return false;
		if (skip) {
			out[o++] = '*';
			*has_domain = true;
			p += skip;
			continue;
		}
		if (strchr("*?[\\", *p) != NULL)
			out[o++] = '\\';
		out[o++] = *p++;
	}
	out[o] = '\0';
	return true;
}

static bool substitute_domain(const char *tmpl, const char *dom, size_t dlen, char *out, size_t cap)
{
	size_t o = 0;
	for (const char *p = tmpl; *p;) {
		size_t skip = strncmp(p, "${domain}", 9) == 0 ? 9
			      : strncmp(p, "$domain", 7) == 0 ? 7
							      : 0;
		size_t n = skip ? dlen : 1;
		if (o + n >= cap)
			return false;
		memcpy(out + o, skip ? dom : p, n);
		o += n;
		p += skip ? skip : 1;
	}
	out[o] = '\0';
	return true;
}

/* The $domain a matched file name stands for: the first capture whose
 * substitution gives the name back. */
static bool domain_of(const char *tmpl, const char *path, char *dom, size_t cap)
{
	const char *first = strchr(tmpl, '$');
	size_t start = first ? (size_t)(first - tmpl) : 0, len = strlen(path);
	char again[PATH_MAX];
	if (start > len || strncmp(tmpl, path, start) != 0)
		return false;
	for (size_t e = start + 1; e <= len && e - start < cap; e++) {
		if (!substitute_domain(tmpl, path + start, e - start, again, sizeof again))
			return false;
		if (strcmp(again, path) == 0) {
			memcpy(dom, path + start, e - start);
			dom[e - start] = '\0';
			return true;
		}
	}
	return false;
}

static bool name_ok(const char *s)
{
	size_t label = 0, len = strlen(s);
	if (len == 0 || len > 253)
		return false;
	for (; *s; s++) {
		bool ldh = (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
			   (*s >= '0' && *s <= '9') || *s == '-' || *s == '_';
		if (*s == '.' ? label == 0 : !ldh || ++label > 63)
			return false;
		if (*s == '.')
			label = 0;
	}
	return label > 0;
}

static int entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct keystore_key *)a)->domain,
		      ((const struct keystore_key *)b)->domain);
}

static void load_fallback_file(const struct signetd_config *cfg, const struct keys_identity *id,
			       struct keystore *ks, const char *path, const char *dom,
			       struct diags *d)
{
	char where[PATH_MAX + 64];
	snprintf(where, sizeof where, "%s: dkim_signing.path fallback: ", cfg->file);
	struct signet_key *key =
		keys_load_file(id, path, dom, cfg->signing.selector, SIGNET_ALG_UNKNOWN, where, d);
	if (key != NULL &&
	    !entry_add(&ks->fb, &ks->nfb, dom, cfg->signing.selector, path, key, true)) {
		signet_key_free(key);
		diags_add(d, DIAG_ERROR, "out of memory");
	}
}

/* try_fallback with a top-level path: the files its template matches. */
static void load_fallback(const struct signetd_config *cfg, const struct keys_identity *id,
			  struct keystore *ks, struct diags *d)
{
	const struct config_signing *sg = &cfg->signing;
	char tmpl[PATH_MAX], pattern[PATH_MAX * 2], dom[256];
	bool has_domain;
	if (!sg->try_fallback || sg->path == NULL)
		return;
	if (!substitute_domain(sg->path, "$domain", 7, tmpl, sizeof tmpl)) /* ${domain} → $domain */
		return;
	/* $selector is the top-level selector */
	char *sp;
	while ((sp = strstr(tmpl, "${selector}")) != NULL ||
	       (sp = strstr(tmpl, "$selector")) != NULL) {
		size_t skip = sp[1] == '{' ? 11 : 9, sl = strlen(sg->selector),
		       rest = strlen(sp + skip);
		if ((size_t)(sp - tmpl) + sl + rest >= sizeof tmpl)
			return;
		memmove(sp + sl, sp + skip, rest + 1);
		memcpy(sp, sg->selector, sl);
	}
	if (!template_glob(tmpl, pattern, sizeof pattern, &has_domain))
		return;
	if (!has_domain) {
		load_fallback_file(cfg, id, ks, tmpl, "*", d);
		return;
	}
	glob_t g;
	int r = glob(pattern, GLOB_NOSORT, NULL, &g);
	if (r == GLOB_NOMATCH || (r == 0 && g.gl_pathc == 0)) {
		diags_add(d, DIAG_WARNING,
			  "%s: dkim_signing.path %s matches no key file; only the "
			  "domains under domain { } will be signed",
			  cfg->file, sg->path);
	} else if (r != 0) {
		diags_add(d, DIAG_ERROR,
			  "%s: dkim_signing.path %s: cannot list the files it "
			  "matches",
			  cfg->file, sg->path);
	} else if (g.gl_pathc > KEYS_MAX_FALLBACK) {
		diags_add(d, DIAG_ERROR,
			  "%s: dkim_signing.path %s matches %zu files, more than "
			  "KEYS_MAX_FALLBACK (%d)",
			  cfg->file, sg->path, (size_t)g.gl_pathc, KEYS_MAX_FALLBACK);
	} else {
		for (size_t k = 0; k < g.gl_pathc; k++) {
			if (!domain_of(tmpl, g.gl_pathv[k], dom, sizeof dom) || !name_ok(dom))
				continue; /* e.g. a backup file "x.key~" or a name that is no domain */
			for (char *p = dom; *p; p++)
				if (*p >= 'A' && *p <= 'Z')
					*p = (char)(*p + 32);
			load_fallback_file(cfg, id, ks, g.gl_pathv[k], dom, d);
		}
	}
	if (r == 0)
		globfree(&g);
	if (ks->nfb > 1)
		qsort(ks->fb, ks->nfb, sizeof *ks->fb, entry_cmp);
}

enum signet_status keystore_load(const struct signetd_config *cfg, struct keystore **out,
				 struct diags *d)
{
	*out = NULL;
	size_t errors = d->nerrors;
	struct keystore *ks = calloc(1, sizeof *ks);
	if (ks == NULL) {
		diags_add(d, DIAG_ERROR, "out of memory");
		return SIGNET_ERR_NOMEM;
	}
	atomic_init(&ks->refs, 1);
	struct keys_identity id;
	keys_identity(cfg, &id, d);
	if (cfg->signing.use_redis) {
		/* rspamd's use_redis: keys are fetched per domain from Redis at
		 * signing time (daemon/keyfetch.h); no files to load. */
		*out = ks;
		return SIGNET_OK;
	}
	load_domains(cfg, &id, ks, d);
	load_fallback(cfg, &id, ks, d);
	if (cfg->signing.enabled && ks->n == 0 && ks->nfb == 0 && d->nerrors == errors)
		diags_add(d, DIAG_WARNING,
			  "%s: no signing keys are configured (dkim_signing { "
			  "domain { ... } }): signetd will only verify",
			  cfg->file);
	if (d->nerrors > errors) {
		keystore_free(ks);
		return SIGNET_ERR_KEY;
	}
	*out = ks;
	return SIGNET_OK;
}

struct keystore *keystore_ref(struct keystore *ks)
{
	if (ks != NULL)
		atomic_fetch_add(&ks->refs, 1);
	return ks;
}

void keystore_free(struct keystore *ks)
{
	if (ks == NULL || atomic_fetch_sub(&ks->refs, 1) != 1)
		return;
	for (size_t k = 0; k < ks->n; k++)
		entry_free(&ks->v[k]);
	for (size_t k = 0; k < ks->nfb; k++)
		entry_free(&ks->fb[k]);
	free(ks->v);
	free(ks->fb);
	free(ks);
}

/* domain without a trailing dot, lower-cased into buf. */
static bool norm(const char *domain, char *buf, size_t cap)
{
	size_t len = domain ? strlen(domain) : 0;
	if (len > 0 && domain[len - 1] == '.')
		len--;
	if (len == 0 || len >= cap)
		return false;
	for (size_t k = 0; k < len; k++)
		buf[k] = (char)(domain[k] >= 'A' && domain[k] <= 'Z' ? domain[k] + 32 : domain[k]);
	buf[len] = '\0';
	return true;
}

static const struct keystore_key *range(const struct keystore_key *v, size_t n, const char *dom,
					size_t *count)
{
	size_t lo = 0, hi = n;
	while (lo < hi) { /* first entry >= dom */
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(v[mid].domain, dom) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	size_t end = lo;
	while (end < n && strcmp(v[end].domain, dom) == 0)
		end++;
	*count = end - lo;
	return end > lo ? &v[lo] : NULL;
}

const struct keystore_key *keystore_find(const struct keystore *ks, const char *domain, size_t *n)
{
	char dom[256];
	*n = 0;
	if (ks == NULL || !norm(domain, dom, sizeof dom))
		return NULL;
	return range(ks->v, ks->n, dom, n);
}

const struct keystore_key *keystore_find_fallback(const struct keystore *ks, const char *domain)
{
	char dom[256];
	size_t n;
	if (ks == NULL || !norm(domain, dom, sizeof dom))
		return NULL;
	const struct keystore_key *k = range(ks->fb, ks->nfb, dom, &n);
	return k != NULL ? k : range(ks->fb, ks->nfb, "*", &n);
}

size_t keystore_count(const struct keystore *ks)
{
	return ks ? ks->n + ks->nfb : 0;
}

const struct keystore_key *keystore_at(const struct keystore *ks, size_t idx)
{
	if (ks == NULL || idx >= ks->n + ks->nfb)
		return NULL;
	return idx < ks->n ? &ks->v[idx] : &ks->fb[idx - ks->n];
}
