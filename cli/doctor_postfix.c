/* doctor_postfix.c: is Postfix wired to signetd? Read with postconf(1) the
 * way Postfix itself resolves it: main.cf's milter lists, master.cf's
 * services with their -o overrides (postconf -P) and chroot column
 * (postconf -M). The traps checked are the ones administrators lose hours
 * to: a list that misses signetd's socket, a unix socket outside the
 * chroot smtpd runs in, a submission service whose -o smtpd_milters= drops
 * signetd, a milter after signetd that rewrites what it signed, and
 * milter_default_action = accept (mail passes unsigned when signetd is
 * down). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doctor.h"
#include "run.h"

#define PF_MAX_MILTERS 32   /* entries of one milter list we look at */
#define PF_MAX_SERVICES 256 /* master.cf entries */
#define PF_NAME_MAX 512     /* one milter name, service name or value */
#define PF_AREA "postfix"

/* snprintf for messages built from Postfix's own values: a value longer
 * than the message buffer is cut, which is fine in a report. */
static void text(char *out, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void text(char *out, size_t cap, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(out, cap, fmt, ap);
	va_end(ap);
}

struct pf_service {
	char name[PF_NAME_MAX]; /* "submission/inet" */
	char command[64];
	bool chroot;
	char *smtpd_milters; /* -o overrides (owned) or NULL */
	char *non_smtpd_milters;
	char *receive_override_options;
};

struct pf {
	char *smtpd_milters, *non_smtpd_milters, *default_action, *protocol, *queue_dir;
	struct pf_service svc[PF_MAX_SERVICES];
	size_t nsvc;
};

bool doctor_postconf(struct doctor *d, const char *const *args, size_t nargs, struct run_result *r)
{
	char *argv[16];
	size_t n = 0;
	argv[n++] = (char *)"postconf";
	if (d->postfix_config != NULL) {
		argv[n++] = (char *)"-c";
		argv[n++] = (char *)d->postfix_config;
	}
	for (size_t k = 0; k < nargs && n < 15; k++)
		argv[n++] = (char *)args[k];
	argv[n] = NULL;
	if (!run_capture(argv, RUN_TIMEOUT_S, r) || r->status != 0) {
		const char *why = r->err != NULL && r->err[0] != '\0' ? r->err : "no output";
		doctor_say(d, DOCTOR_FAIL, PF_AREA, "install Postfix, or give --postfix-config DIR",
			   "cannot read Postfix's configuration with postconf (exit %d): %.300s",
			   r->status, why);
		return false;
	}
	return true;
}

/* The next line of *p (without its newline), NUL-terminated in place. */
static char *next_line(char **p)
{
	if (*p == NULL || **p == '\0')
		return NULL;
	char *line = *p, *nl = strchr(line, '\n');
	if (nl != NULL) {
		*nl = '\0';
		*p = nl + 1;
	} else {
		*p = line + strlen(line);
	}
	return line;
}

static char *dup_or_empty(const char *s)
{
	return strdup(s != NULL ? s : "");
}

static bool read_params(struct doctor *d, struct pf *pf)
{
	static const char *const args[] = {"-x",
					   "-h",
					   "smtpd_milters",
					   "non_smtpd_milters",
					   "milter_default_action",
					   "milter_protocol",
					   "queue_directory"};
	struct run_result r;
	if (!doctor_postconf(d, args, sizeof args / sizeof args[0], &r)) {
		run_result_free(&r);
		return false;
	}
	char *p = r.out;
	char **dst[] = {&pf->smtpd_milters, &pf->non_smtpd_milters, &pf->default_action,
			&pf->protocol, &pf->queue_dir};
	for (size_t k = 0; k < sizeof dst / sizeof dst[0]; k++)
		*dst[k] = dup_or_empty(next_line(&p));
	run_result_free(&r);
	return true;
}

/* "smtp inet n - y - - smtpd -o x=y": name/type, chroot, command. */
static void parse_service(struct pf *pf, char *line)
{
	char *f[8] = {0};
	size_t n = 0;
	for (char *save = NULL, *t = strtok_r(line, " \t", &save); t != NULL && n < 8;
	     t = strtok_r(NULL, " \t", &save))
		f[n++] = t;
	if (n < 8 || pf->nsvc == PF_MAX_SERVICES)
		return;
	struct pf_service *s = &pf->svc[pf->nsvc++];
	text(s->name, sizeof s->name, "%s/%s", f[0], f[1]);
	text(s->command, sizeof s->command, "%s", f[7]);
	/* master.cf's "-" is the built-in default: n since Postfix 3.0. */
	s->chroot = strcmp(f[4], "y") == 0;
}

static struct pf_service *find_service(struct pf *pf, const char *name, size_t len)
{
	for (size_t k = 0; k < pf->nsvc; k++)
		if (strlen(pf->svc[k].name) == len && memcmp(pf->svc[k].name, name, len) == 0)
			return &pf->svc[k];
	return NULL;
}

/* "submission/inet/smtpd_milters = value" (postconf -P). */
static void parse_override(struct pf *pf, const char *line)
{
	const char *eq = strstr(line, " =");
	while (eq != NULL && eq[2] != ' ' && eq[2] != '\0') /* "name =" ends an empty value */
		eq = strstr(eq + 2, " =");
	const char *slash2 = NULL;
	for (const char *q = line; eq != NULL && q < eq; q++)
		if (*q == '/')
			slash2 = q;
	if (eq == NULL || slash2 == NULL)
		return;
	struct pf_service *s = find_service(pf, line, (size_t)(slash2 - line));
	if (s == NULL)
		return;
	size_t plen = (size_t)(eq - slash2 - 1);
	const char *param = slash2 + 1, *value = eq[2] == ' ' ? eq + 3 : eq + 2;
	char **dst = NULL;
	if (plen == 13 && memcmp(param, "smtpd_milters", plen) == 0)
		dst = &s->smtpd_milters;
	else if (plen == 17 && memcmp(param, "non_smtpd_milters", plen) == 0)
		dst = &s->non_smtpd_milters;
	else if (plen == 24 && memcmp(param, "receive_override_options", plen) == 0)
		dst = &s->receive_override_options;
	if (dst != NULL) {
		free(*dst);
		*dst = strdup(value);
	}
}

static bool read_master(struct doctor *d, struct pf *pf)
{
	static const char *const m_args[] = {"-M"}, *const p_args[] = {"-x", "-P"};
	struct run_result r;
	bool ok = doctor_postconf(d, m_args, 1, &r);
	char *p = r.out, *line;
	while (ok && (line = next_line(&p)) != NULL)
		parse_service(pf, line);
	run_result_free(&r);
	if (!ok || !doctor_postconf(d, p_args, 2, &r)) {
		run_result_free(&r);
		return false;
	}
	p = r.out;
	while ((line = next_line(&p)) != NULL)
		parse_override(pf, line);
	run_result_free(&r);
	return true;
}

static void pf_free(struct pf *pf)
{
	free(pf->smtpd_milters);
	free(pf->non_smtpd_milters);
	free(pf->default_action);
	free(pf->protocol);
	free(pf->queue_dir);
	for (size_t k = 0; k < pf->nsvc; k++) {
		free(pf->svc[k].smtpd_milters);
		free(pf->svc[k].non_smtpd_milters);
		free(pf->svc[k].receive_override_options);
	}
}

/* ---- milter lists ------------------------------------------------------ */

static bool is_sep(char c)
{
	return c == ' ' || c == '\t' || c == ',' || c == '\n';
}

/* The milter names of a list: "a, b" or "{ a, connect_timeout=5s } b"
 * (Postfix 3.0 braces: the first word inside is the name). */
static size_t milter_names(const char *list, char names[][PF_NAME_MAX], size_t max)
{
	size_t n = 0;
	const char *p = list;
	while (*p != '\0' && n < max) {
		while (is_sep(*p))
			p++;
		if (*p == '\0')
			break;
		bool brace = *p == '{';
		if (brace)
			for (p++; is_sep(*p); p++)
				;
		size_t len = strcspn(p, brace ? " \t,\n}" : " \t,\n");
		size_t keep =
			len < PF_NAME_MAX - 1 ? len : PF_NAME_MAX - 1; /* a longer name is cut */
		memcpy(names[n], p, keep);
		names[n++][keep] = '\0';
		p += len;
		if (brace) {
			const char *close = strchr(p, '}');
			p = close != NULL ? close + 1 : p + strlen(p);
		}
	}
	return n;
}

static bool loopback_name(const char *h)
{
	return strcmp(h, "localhost") == 0 || strncmp(h, "127.", 4) == 0 || strcmp(h, "::1") == 0;
}

enum pf_match { PF_NO = 0, PF_YES, PF_OUTSIDE_CHROOT };

/* Postfix "inet:HOST:PORT" ([v6] in brackets) against signetd's socket. */
static bool inet_matches(const char *hp, const struct config_socket *s)
{
	char host[PF_NAME_MAX];
	const char *colon = strrchr(hp, ':');
	if (colon == NULL || s->family == CONFIG_SOCK_UNIX)
		return false;
	text(host, sizeof host, "%.*s", (int)(colon - hp), hp);
	if (host[0] == '[') {
		memmove(host, host + 1, strlen(host));
		host[strcspn(host, "]")] = '\0';
	}
	if (strtoul(colon + 1, NULL, 10) != s->port)
		return false;
	if (s->address == NULL) /* signetd listens on every address */
		return true;
	return strcmp(host, s->address) == 0 || (loopback_name(host) && loopback_name(s->address));
}

/* A unix socket name is resolved inside the chroot of the process that
 * connects (smtpd for smtpd_milters, cleanup for non_smtpd_milters). */
static enum pf_match milter_matches(const char *name, const struct config_socket *s, bool chroot,
				    const char *queue_dir)
{
	if (strncmp(name, "inet:", 5) == 0)
		return inet_matches(name + 5, s) ? PF_YES : PF_NO;
	const char *path = NULL;
	if (strncmp(name, "unix:", 5) == 0 || strncmp(name, "local:", 6) == 0)
		path = strchr(name, ':') + 1;
	if (path == NULL || s->family != CONFIG_SOCK_UNIX)
		return PF_NO;
	if (!chroot)
		return strcmp(path, s->path) == 0 ? PF_YES : PF_NO;
	size_t ql = strlen(queue_dir);
	while (ql > 0 && queue_dir[ql - 1] == '/')
		ql--;
	if (strncmp(s->path, queue_dir, ql) == 0 && strcmp(s->path + ql, path) == 0)
		return PF_YES;
	return strcmp(path, s->path) == 0 ? PF_OUTSIDE_CHROOT : PF_NO;
}

/* signetd's socket as Postfix writes a milter. */
static void postfix_form(const struct config_socket *s, char *out, size_t cap)
{
	if (s->family == CONFIG_SOCK_UNIX)
		text(out, cap, "unix:%s", s->path);
	else if (s->family == CONFIG_SOCK_INET6 || (s->address && strchr(s->address, ':')))
		text(out, cap, "inet:[%s]:%u", s->address ? s->address : "::1", s->port);
	else
		text(out, cap, "inet:%s:%u", s->address ? s->address : "127.0.0.1", s->port);
}

/* ---- the checks ---------------------------------------------------------- */

struct list_check {
	const char *service; /* "smtp/inet", or NULL for main.cf */
	const char *param;   /* smtpd_milters / non_smtpd_milters */
	const char *value;
	bool overridden; /* an -o in master.cf */
	bool chroot;
	const char *what; /* "mail received over SMTP" ... */
};

static void check_order(struct doctor *d, const struct list_check *c, char names[][PF_NAME_MAX],
			size_t n, size_t at)
{
	if (at + 1 == n) {
		doctor_say(d, DOCTOR_OK, PF_AREA, NULL, "%s%s%s reaches signetd (%s)",
			   c->service ? c->service : "", c->service ? ": " : "", c->param,
			   names[at]);
		return;
	}
	char after[1024] = "", fix[2048];
	size_t len = 0;
	for (size_t k = at + 1; k < n && len < sizeof after; k++)
		len += (size_t)snprintf(after + len, sizeof after - len, "%s%s",
					k > at + 1 ? ", " : "", names[k]);
	text(fix, sizeof fix, "list signetd last, e.g. %s = ... %s, %s (milters run in list order)",
	     c->param, after, names[at]);
	doctor_say(d, DOCTOR_WARN, PF_AREA, fix,
		   "%s%s%s: %s come%s after signetd; a milter after signetd that changes headers "
		   "or the body breaks signetd's signature",
		   c->service ? c->service : "", c->service ? ": " : "", c->param, after,
		   n - at - 1 == 1 ? "s" : "");
}

static void check_list(struct doctor *d, const struct signetd_config *cfg, const struct pf *pf,
		       const struct list_check *c)
{
	char names[PF_MAX_MILTERS][PF_NAME_MAX], want[PF_NAME_MAX], fix[2048];
	size_t n = milter_names(c->value, names, PF_MAX_MILTERS), trap = n;
	postfix_form(&cfg->socket, want, sizeof want);
	const char *svc = c->service ? c->service : "", *sep = c->service ? ": " : "";
	for (size_t k = 0; k < n; k++) {
		enum pf_match m = milter_matches(names[k], &cfg->socket, c->chroot, pf->queue_dir);
		if (m == PF_YES)
			return check_order(d, c, names, n, k);
		if (m == PF_OUTSIDE_CHROOT)
			trap = k;
	}
	if (trap < n) {
		text(fix, sizeof fix,
		     "put signetd's socket inside Postfix's queue directory (socket = "
		     "\"unix:%s/signetd/signetd.sock\"; %s = unix:/signetd/signetd.sock), or "
		     "set "
		     "the chroot column of %s to n in master.cf",
		     pf->queue_dir, c->param, c->service ? c->service : "the service");
		doctor_say(d, DOCTOR_FAIL, PF_AREA, fix,
			   "%s%s%s names %s, but this service runs chrooted in %s, where that path "
			   "does not lead to signetd's socket: %s is not signed or checked",
			   svc, sep, c->param, names[trap], pf->queue_dir, c->what);
		return;
	}
	if (c->overridden)
		text(fix, sizeof fix, "add %s to the -o %s= of %s in master.cf", want, c->param,
		     c->service);
	else
		text(fix, sizeof fix, "postconf -e '%s = %s%s%s'", c->param, c->value,
		     n > 0 ? ", " : "", want);
	doctor_say(d, DOCTOR_FAIL, PF_AREA, fix,
		   "%s%s%s%s does not reach signetd (it listens on %s; the list is \"%s\"): %s is "
		   "not signed or checked",
		   svc, sep, c->param, c->overridden ? " (-o in master.cf)" : "", cfg->socket.spec,
		   c->value, c->what);
}

static bool no_milters(const struct pf_service *s)
{
	return s->receive_override_options != NULL &&
	       strstr(s->receive_override_options, "no_milters") != NULL;
}

/* smtpd services connect to smtpd_milters themselves; cleanup connects
 * to non_smtpd_milters for mail from sendmail/pickup. */
static void check_services(struct doctor *d, const struct signetd_config *cfg, const struct pf *pf)
{
	size_t checked = 0;
	for (size_t k = 0; k < pf->nsvc; k++) {
		const struct pf_service *s = &pf->svc[k];
		bool smtpd = strcmp(s->command, "smtpd") == 0;
		if (!smtpd && strcmp(s->command, "cleanup") != 0)
			continue;
		checked++;
		if (smtpd && no_milters(s)) {
			doctor_say(d, DOCTOR_OK, PF_AREA, NULL,
				   "%s: receive_override_options=no_milters (a content-filter "
				   "return path: its mail passed the milters on the way in)",
				   s->name);
			continue;
		}
		const char *override = smtpd ? s->smtpd_milters : s->non_smtpd_milters;
		struct list_check c = {
			.service = s->name,
			.param = smtpd ? "smtpd_milters" : "non_smtpd_milters",
			.value = override ? override
				 : smtpd  ? pf->smtpd_milters
					  : pf->non_smtpd_milters,
			.overridden = override != NULL,
			.chroot = s->chroot,
			.what = smtpd ? "mail through this service"
				      : "mail from sendmail and local programs",
		};
		check_list(d, cfg, pf, &c);
	}
	if (checked == 0)
		doctor_say(d, DOCTOR_WARN, PF_AREA, "check master.cf (postconf -M)",
			   "master.cf has no smtpd or cleanup service: Postfix would not run "
			   "signetd at all");
}

static void check_params(struct doctor *d, const struct pf *pf)
{
	const char *a = pf->default_action;
	if (strcmp(a, "tempfail") == 0)
		doctor_say(d, DOCTOR_OK, PF_AREA, NULL,
			   "milter_default_action = tempfail (mail waits while signetd is down)");
	else
		doctor_say(d, DOCTOR_WARN, PF_AREA,
			   "postconf -e 'milter_default_action = tempfail'",
			   "milter_default_action = %s: when signetd is down or times out, "
			   "mail is %s",
			   a,
			   strcmp(a, "accept") == 0   ? "passed on unsigned and unchecked"
			   : strcmp(a, "reject") == 0 ? "rejected"
						      : "not handled as it should be");
	long v = strtol(pf->protocol, NULL, 10);
	if (v >= 6)
		doctor_say(d, DOCTOR_OK, PF_AREA, NULL, "milter_protocol = %s", pf->protocol);
	else
		doctor_say(d, DOCTOR_WARN, PF_AREA, "postconf -e 'milter_protocol = 6'",
			   "milter_protocol = %s: below 6 Postfix cannot send the macros signetd "
			   "asks for at each step (the authenticated user, the queue id)",
			   pf->protocol);
}

void doctor_postfix(struct doctor *d, const struct signetd_config *cfg)
{
	struct pf *pf = calloc(1, sizeof *pf);
	if (pf == NULL) {
		doctor_say(d, DOCTOR_FAIL, PF_AREA, NULL, "out of memory");
		return;
	}
	if (read_params(d, pf) && read_master(d, pf)) {
		check_params(d, pf);
		check_services(d, cfg, pf);
	}
	pf_free(pf);
	free(pf);
}
