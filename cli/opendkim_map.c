/* opendkim_map.c: OpenDKIM settings -> signetd.conf (see opendkim_map.h).
 * Each group of settings has one function, called in the order the output
 * is written; every setting it does not consume is reported at the end as
 * not carried over. Key file checks are conf/keystore.c's. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <signet/key.h>

#include "cli.h"
#include "config.h"
#include "diag.h"
#include "keystore.h"
#include "opendkim_map.h"

struct mkey {
	char *selector, *path;
	const char *file; /* where it came from, for the comment */
	unsigned line;
};

struct mdom {
	char *name; /* lower case */
	struct mkey keys[SIGNET_MAX_SIGNERS];
	size_t nkeys;
};

/* A KeyTable entry: NAME DOMAIN:SELECTOR:KEY. */
struct ktent {
	const struct odk_entry *e;
	char *domain, *selector, *key; /* owned */
};

struct map {
	const struct odk_conf *c;
	struct odk_error *e;
	FILE *top, *sig, *dns, *log; /* open_memstream sections */
	char *topb, *sigb, *dnsb, *logb;
	size_t topn, sign, dnsn, logn;
	const char *on_sign, *on_verify, *on_fail, *on_temperror;
	char *user, *group; /* UserID, for the key checks */
	bool unix_socket, sign_mode, esld, multiple;
	struct mdom *doms;
	size_t ndoms, domcap;
	size_t *idx; /* the domain index (find_dom), idxcap slots, a power of 2 */
	size_t idxcap;
	struct ktent *kt;
	size_t nkt;
	unsigned not_carried, key_problems;
};

/* ---- writing -------------------------------------------------------------- */

/* Text from the input in a comment: control bytes become '?'. */
static void put_text(FILE *f, const char *s)
{
	for (; *s; s++)
		fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, f);
}

/* A UCL double-quoted string (signetd.conf(5) SYNTAX). */
static void put_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20 || ch == 0x7f)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

static void vcomment(FILE *f, bool indent, const char *tag, const char *setting, const char *value,
		     const char *fmt, va_list ap)
{
	fprintf(f, "%s# %s: ", indent ? "  " : "", tag);
	put_text(f, setting);
	if (value != NULL) {
		fputc(' ', f);
		put_text(f, value);
	}
	fputs(": ", f);
	char why[2048];
	vsnprintf(why, sizeof why, fmt, ap);
	put_text(f, why);
	fputc('\n', f);
}

/* "# not carried over: SETTING VALUE: why" (counted: exit status 1). */
static void not_carried(struct map *m, FILE *f, const char *setting, const char *value,
			const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void not_carried(struct map *m, FILE *f, const char *setting, const char *value,
			const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vcomment(f, f == m->sig, "not carried over", setting, value, fmt, ap);
	va_end(ap);
	m->not_carried++;
}

/* "# note: SETTING VALUE: what signetd does instead" (not counted). */
static void note(const struct map *m, FILE *f, const char *setting, const char *value,
		 const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void note(const struct map *m, FILE *f, const char *setting, const char *value,
		 const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vcomment(f, f == m->sig, "note", setting, value, fmt, ap);
	va_end(ap);
}

/* "FILE:LINE" of a data set entry, for comments and warnings. */
static const char *where(const struct odk_entry *e, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s:%u", e->file, e->line);
	return buf;
}

/* Does signetd's own config reader (conf/) accept this snippet? why gets
 * its first error otherwise. One judgment, in conf/, not a copy here. */
static bool signetd_accepts(const char *snippet, char *why, size_t cap)
{
	struct signetd_config *cfg = NULL;
	struct diags d;

	diags_init(&d);
	enum signet_status st =
		config_parse("signetd.conf", (const uint8_t *)snippet, strlen(snippet), &cfg, &d);
	why[0] = '\0';
	for (size_t i = 0; st != SIGNET_OK && i < d.n; i++)
		if (d.v[i].level == DIAG_ERROR) {
			const char *msg = d.v[i].msg, *p = strstr(msg, ": ");
			snprintf(why, cap, "signetd refuses it (%s)", p ? p + 2 : msg);
			break;
		}
	config_free(cfg);
	diags_free(&d);
	return st == SIGNET_OK;
}

/* Writes `line` (a complete "key = value;" snippet) to f when signetd
 * accepts it; otherwise a not-carried comment with signetd's reason. */
static bool emit_checked(struct map *m, FILE *f, const struct odk_setting *s, const char *line)
{
	char why[1024];

	if (!signetd_accepts(line, why, sizeof why)) {
		not_carried(m, m->top, s->name, s->value, "%s", why);
		return false;
	}
	fputs(line, f);
	return true;
}

/* "key = "value";\n" with value quoted, into a malloc'd string. */
static char *kv(const char *key, const char *value)
{
	char *out = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&out, &n);

	if (f == NULL)
		return NULL;
	fprintf(f, "%s = ", key);
	put_str(f, value);
	fputs(";\n", f);
	fclose(f);
	return out;
}

static bool emit_kv(struct map *m, FILE *f, const struct odk_setting *s, const char *key,
		    const char *value)
{
	char *line = kv(key, value);
	bool ok = line != NULL && emit_checked(m, f, s, line);

	free(line);
	return ok;
}

/* ---- daemon settings ------------------------------------------------------ */

static void map_socket(struct map *m)
{
	const struct odk_setting *s = odk_conf_get(m->c, "Socket");
	char spec[ODK_MAX_LINE + 8];

	if (s == NULL) {
		note(m, m->top, "Socket", NULL,
		     "not set, so OpenDKIM took it from its command line (-p; Debian: SOCKET in "
		     "/etc/default/opendkim); signetd's default is " CONFIG_DEFAULT_SOCKET);
		return;
	}
	/* opendkim.conf(5) Socket: local:PATH is a unix socket; signetd's form is unix: */
	if (strncmp(s->value, "local:", 6) == 0)
		snprintf(spec, sizeof spec, "unix:%s", s->value + 6);
	else
		snprintf(spec, sizeof spec, "%s", s->value);
	if (emit_kv(m, m->top, s, "socket", spec))
		m->unix_socket = strncmp(spec, "unix:", 5) == 0;
}

/* UMask: the unix socket's mode is 0666 minus the mask. */
static void map_umask(struct map *m)
{
	const struct odk_setting *s = odk_conf_get(m->c, "UMask");
	char *end, line[64];

	if (s == NULL)
		return;
	unsigned long mask = strtoul(s->value, &end, 8);
	if (*end != '\0' || mask > 0777) {
		not_carried(m, m->top, s->name, s->value, "not an octal file mode mask");
		return;
	}
	if (!m->unix_socket) {
		note(m, m->top, s->name, s->value, "only the unix socket's mode depends on it");
		return;
	}
	snprintf(line, sizeof line, "socket_mode = \"0%03lo\";\n", 0666UL & ~mask);
	emit_checked(m, m->top, s, line);
}

static void map_user(struct map *m)
{
	const struct odk_setting *s = odk_conf_get(m->c, "UserID");

	if (s == NULL)
		return;
	const char *colon = strchr(s->value, ':');
	m->user = colon ? strndup(s->value, (size_t)(colon - s->value)) : strdup(s->value);
	m->group = colon ? strdup(colon + 1) : NULL;
	if (m->user == NULL || !emit_kv(m, m->top, s, "user", m->user)) {
		free(m->user), m->user = NULL;
		return;
	}
	if (m->group != NULL && !emit_kv(m, m->top, s, "group", m->group))
		free(m->group), m->group = NULL;
}

static void map_simple(struct map *m)
{
	const struct odk_setting *s;

	if ((s = odk_conf_get(m->c, "PidFile")) != NULL)
		emit_kv(m, m->top, s, "pidfile", s->value);
	if ((s = odk_conf_get(m->c, "AuthservID")) != NULL) {
		if (strcmp(s->value, "HOSTNAME") == 0)
			not_carried(m, m->top, s->name, s->value,
				    "signetd uses the MTA's host name (milter macro j); set "
				    "authserv_id to this host's name if that differs");
		else
			emit_kv(m, m->top, s, "authserv_id", s->value);
	}
}

/* InternalHosts (opendkim.conf(5), the PeerList forms) -> local_addrs. */
static bool map_internal(struct map *m)
{
	const struct odk_setting *s = odk_conf_get(m->c, "InternalHosts");
	struct odk_dataset ds;
	char w[4096 + 16];

	if (s == NULL) {
		note(m, m->top, "InternalHosts", NULL,
		     "not set, so OpenDKIM signed mail from 127.0.0.1 only");
		fputs("local_addrs = [\"127.0.0.1\"];\n", m->top);
		return true;
	}
	if (!odk_dataset_load(m->c, s, &ds, m->e))
		return false;
	if (ds.kind == ODK_DS_UNSUPPORTED) {
		not_carried(m, m->top, s->name, s->value,
			    "this kind of data set cannot be read; list the networks in a file");
		odk_dataset_free(&ds);
		return true;
	}
	FILE *list = m->top;
	size_t n = 0;
	fputs("local_addrs = [\n", list);
	for (size_t i = 0; i < ds.n; i++) {
		const char *a = ds.v[i].key;
		char buf[ODK_MAX_LINE + 1];
		struct cidr cidr;
		const char *at = ds.v[i].line ? where(&ds.v[i], w, sizeof w) : s->name;
		/* opendkim.conf(5) PeerList: "the IP address portion ... may contain square brackets" */
		if (a[0] == '[' && strchr(a, ']') != NULL) {
			snprintf(buf, sizeof buf, "%.*s%s", (int)(strchr(a, ']') - a - 1), a + 1,
				 strchr(a, ']') + 1);
			a = buf;
		}
		size_t len = strlen(a);
		if (a[0] == '!')
			not_carried(m, list, at, ds.v[i].key,
				    "local_addrs has no exclusions; list the networks without it");
		else if (cidr_parse(a, &cidr)) {
			fputs("  ", list);
			put_str(list, a);
			fputs(",\n", list);
			n++;
		} else if (strspn(a, "0123456789./") == len)
			not_carried(m, list, at, ds.v[i].key,
				    "not an address or CIDR signetd reads (write all four octets, "
				    "e.g. 192.0.2.0/24)");
		else
			not_carried(m, list, at, ds.v[i].key,
				    "a host name cannot be carried over as a CIDR: signetd matches "
				    "client addresses only; add its addresses");
	}
	fputs("];\n", list);
	if (n == 0)
		note(m, list, s->name, s->value, "no address carried over: no client is local");
	odk_dataset_free(&ds);
	return true;
}

/* ExternalIgnoreList only silences a log message (opendkim.conf(5)). */
static bool map_external(struct map *m)
{
	const struct odk_setting *s = odk_conf_get(m->c, "ExternalIgnoreList");
	struct odk_dataset ds;

	if (s == NULL)
		return true;
	if (!odk_dataset_load(m->c, s, &ds, m->e))
		return false;
	note(m, m->top, s->name, s->value,
	     "%zu entries; they only silenced OpenDKIM's \"external host tried to send mail as\" "
	     "log line, which signetd does not write: mail from those hosts is verified",
	     ds.n);
	odk_dataset_free(&ds);
	return true;
}

/* ---- On-* actions --------------------------------------------------------- */

enum on_cat { ON_BAD, ON_DNS, ON_INTERNAL, ON_SIGERR, ON_KEYNOTFOUND, ON_NOSIG, ON_SECURITY };

static const char *const on_names[] = {"On-BadSignature",   "On-DNSError",    "On-InternalError",
				       "On-SignatureError", "On-KeyNotFound", "On-NoSignature",
				       "On-Security"};

/* opendkim.conf(5) On-BadSignature: accept (a), discard (d), quarantine
 * (q), reject (r), tempfail (t); 0 for anything else. */
static char on_action(const char *v)
{
	static const char *const words[] = {"accept", "discard", "quarantine", "reject",
					    "tempfail"};

	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
		if (strcasecmp(v, words[i]) == 0 || (v[0] == words[i][0] && v[1] == '\0') ||
		    (v[0] == (words[i][0] - 32) && v[1] == '\0'))
			return words[i][0];
	return 0;
}

static void on_one(struct map *m, enum on_cat cat, const char *label, const char *value)
{
	char a = on_action(value);
	const char *word = a == 'a' ? "accept" : a == 't' ? "tempfail" : "reject";

	if (a == 0) {
		not_carried(m, m->top, label, value, "not an OpenDKIM action");
		return;
	}
	switch (cat) {
	case ON_BAD:
		if (a == 'a' || a == 'r')
			m->on_fail = word;
		else
			not_carried(
				m, m->top, label, value,
				"signetd accepts or rejects (verify.on_fail) mail whose "
				"signature fails; it does not discard, quarantine or tempfail it");
		return;
	case ON_DNS:
		if (a == 'a' || a == 't')
			m->on_temperror = word;
		else
			not_carried(m, m->top, label, value,
				    "verify.on_temperror is accept or tempfail");
		return;
	case ON_INTERNAL:
	case ON_SIGERR:
		if (a == 'a' || a == 't') {
			m->on_sign = word;
			if (cat == ON_INTERNAL)
				m->on_verify = word;
		} else
			not_carried(m, m->top, label, value,
				    "on_error is accept or tempfail: a message signetd cannot sign "
				    "or check is accepted or kept queued, never rejected");
		return;
	default:
		if (a == 'a')
			note(m, m->top, label, value, "signetd accepts such mail too");
		else
			not_carried(m, m->top, label, value,
				    "signetd always accepts it; the result goes into "
				    "Authentication-Results for DMARC and filters to act on");
	}
}

static void map_on(struct map *m)
{
	const struct odk_setting *def = odk_conf_get(m->c, "On-Default");
	char label[128];

	for (size_t i = 0; i < sizeof on_names / sizeof on_names[0]; i++) {
		const struct odk_setting *s = odk_conf_get(m->c, on_names[i]);
		if (s != NULL)
			on_one(m, (enum on_cat)i, s->name, s->value);
		else if (def != NULL) {
			snprintf(label, sizeof label, "%s (for %s)", def->name, on_names[i]);
			on_one(m, (enum on_cat)i, label, def->value);
		}
	}
}

/* ---- log, dns ------------------------------------------------------------- */

static void map_log(struct map *m)
{
	const struct odk_setting *s = odk_conf_get(m->c, "Syslog");
	const struct odk_setting *f = odk_conf_get(m->c, "SyslogFacility");
	char line[ODK_MAX_LINE + 64], why[1024] = "";

	if (s != NULL) {
		int b = odk_bool(s->value);
		if (b == 1)
			fputs("  target = \"syslog\";\n", m->log);
		else
			not_carried(m, m->top, s->name, s->value,
				    "signetd always logs one line per message (log.target = syslog "
				    "or stderr)");
	}
	if (f != NULL) {
		char *q = kv("facility", f->value);
		snprintf(line, sizeof line, "log { %s }", q ? q : "");
		if (q != NULL && signetd_accepts(line, why, sizeof why)) {
			fputs("  ", m->log);
			fputs(q, m->log);
		} else
			not_carried(m, m->top, f->name, f->value, "%s", q ? why : "out of memory");
		free(q);
	}
}

static void map_dns(struct map *m)
{
	const struct odk_setting *s;
	char line[ODK_MAX_LINE * 4], why[1024] = "";

	if ((s = odk_conf_get(m->c, "TrustAnchorFile")) != NULL) {
		char *q = kv("trust_anchor_file", s->value);
		snprintf(line, sizeof line, "dns { %s }", q ? q : "");
		if (q != NULL && signetd_accepts(line, why, sizeof why))
			fprintf(m->dns, "  %s", q);
		else
			not_carried(m, m->top, s->name, s->value, "%s", why);
		free(q);
	}
	if ((s = odk_conf_get(m->c, "Nameservers")) != NULL) {
		char *list = NULL;
		size_t len = 0;
		FILE *lf = open_memstream(&list, &len);
		const char *v = s->value;
		while (lf != NULL && *v) { /* "a comma-separated list of IP addresses" */
			size_t n = strcspn(v, ", \t");
			if (n > 0)
				fprintf(lf, "%s\"%.*s\"", ftell(lf) ? ", " : "", (int)n, v);
			v += n + (v[n] != '\0');
		}
		if (lf == NULL || fclose(lf) != 0 || list == NULL) {
			free(list);
			not_carried(m, m->top, s->name, s->value, "out of memory");
			return;
		}
		snprintf(line, sizeof line, "dns { forwarders = [%s]; }", list);
		if (strpbrk(s->value, "\"\\") == NULL && signetd_accepts(line, why, sizeof why))
			fprintf(m->dns, "  forwarders = [%s];\n", list);
		else
			not_carried(m, m->top, s->name, s->value, "%s",
				    why[0] ? why : "not a list of addresses");
		free(list);
	}
	if ((s = odk_conf_get(m->c, "DNSTimeout")) != NULL) {
		snprintf(line, sizeof line, "dns { timeout = %ss; }", s->value);
		if (strcmp(s->value, "0") == 0)
			not_carried(m, m->top, s->name, s->value,
				    "signetd has no endless wait; dns.timeout is at most 300s");
		else if (strspn(s->value, "0123456789") == strlen(s->value) &&
			 signetd_accepts(line, why, sizeof why))
			fprintf(m->dns, "  timeout = %ss;\n", s->value);
		else
			not_carried(m, m->top, s->name, s->value, "%s",
				    why[0] ? why : "not a number of seconds");
	}
}

/* ---- what is signed and how --------------------------------------------- */

static void map_mode(struct map *m)
{
	const struct odk_setting *s = odk_conf_get(m->c, "Mode");
	bool sign = true, verify = true;

	if (s != NULL) {
		sign = strchr(s->value, 's') != NULL;
		verify = strchr(s->value, 'v') != NULL;
		if (strspn(s->value, "sv") != strlen(s->value) || (!sign && !verify)) {
			not_carried(m, m->top, s->name, s->value, "Mode is s, v or sv");
			sign = verify = true;
		}
	}
	m->sign_mode = sign;
	if (!verify)
		not_carried(m, m->top, s->name, s->value,
			    "signetd also verifies the mail it does not sign and writes "
			    "Authentication-Results; that cannot be turned off");
	else if (sign)
		note(m, m->top, "Mode", s ? s->value : "sv (default)",
		     "signetd signs mail of authenticated senders and local_addrs and verifies "
		     "the rest");
	else
		note(m, m->top, s->name, s->value,
		     "dkim_signing { enabled = false; }: verify only");
}

static void map_canon(struct map *m)
{
	const struct odk_setting *s = odk_conf_get(m->c, "Canonicalization");

	if (s == NULL)
		return;
	if (strcasecmp(s->value, "relaxed/relaxed") == 0 || strcasecmp(s->value, "relaxed") == 0)
		note(m, m->top, s->name, s->value, "signetd signs relaxed/relaxed");
	else
		not_carried(m, m->top, s->name, s->value,
			    "signetd always signs relaxed/relaxed (RFC 6376 3.4.2, 3.4.4); "
			    "verifiers accept either");
}

static void map_alg(struct map *m)
{
	const struct odk_setting *s = odk_conf_get(m->c, "SignatureAlgorithm");
	const struct odk_setting *b = odk_conf_get(m->c, "MinimumKeyBits");

	if (s != NULL) {
		if (strcasecmp(s->value, "rsa-sha256") == 0 ||
		    strcasecmp(s->value, "ed25519-sha256") == 0)
			note(m, m->top, s->name, s->value,
			     "signetd takes the algorithm from each key file (RSA: rsa-sha256)");
		else
			not_carried(m, m->top, s->name, s->value,
				    "signetd signs with rsa-sha256 or ed25519-sha256 only (RFC "
				    "8301: rsa-sha1 must not be used)");
	}
	if (b != NULL) {
		if (strcmp(b->value, "1024") == 0)
			note(m, m->top, b->name, b->value,
			     "signetd never passes a signature by an RSA key under 1024 bits "
			     "(RFC 8301)");
		else
			not_carried(m, m->top, b->name, b->value,
				    "signetd's minimum is fixed: RSA keys of 1024 bits and more "
				    "(RFC 8301)");
	}
}

static bool in_list(const struct odk_dataset *ds, const char *name)
{
	for (size_t i = 0; i < ds->n; i++)
		if (strcasecmp(ds->v[i].key, name) == 0)
			return true;
	return false;
}

/* SignHeaders (+ OversignHeaders) -> sign_headers with rspamd's (o) prefix. */
static bool map_headers(struct map *m)
{
	const struct odk_setting *sh = odk_conf_get(m->c, "SignHeaders");
	const struct odk_setting *oh = odk_conf_get(m->c, "OversignHeaders");
	struct odk_dataset sd = {0}, od = {0};
	bool ok = true;

	if (oh != NULL && !odk_dataset_load(m->c, oh, &od, m->e))
		return false;
	if (oh != NULL && od.kind == ODK_DS_UNSUPPORTED) {
		not_carried(
			m, m->top, oh->name, oh->value,
			"this kind of data set cannot be read; list the names in opendkim.conf");
		oh = NULL;
	}
	if (sh == NULL) {
		if (oh != NULL)
			note(m, m->top, oh->name, oh->value,
			     "signetd's default header list oversigns From, Subject, Date, To, "
			     "Cc, Reply-To, Message-ID, MIME-Version and Content-Type; check "
			     "that this covers the list");
		odk_dataset_free(&od);
		return true;
	}
	if (!odk_dataset_load(m->c, sh, &sd, m->e)) {
		odk_dataset_free(&od);
		return false;
	}
	char *out = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&out, &n);
	bool from = false, bad = sd.kind == ODK_DS_UNSUPPORTED || sd.n == 0;
	for (size_t i = 0; f != NULL && i < sd.n && !bad; i++) {
		const char *h = sd.v[i].key;
		bad = strpbrk(h, "*!:\"\\") != NULL;
		from = from || strcasecmp(h, "from") == 0;
		fprintf(f, "%s%s%s", i ? ":" : "", in_list(&od, h) ? "(o)" : "", h);
	}
	/* opendkim.conf(5) SignHeaders: fields the RFC mandates are added */
	if (f != NULL && !from)
		fprintf(f, ":%sfrom", in_list(&od, "from") ? "(o)" : "");
	if (f != NULL)
		fclose(f);
	if (out == NULL)
		ok = false;
	else if (bad)
		not_carried(m, m->sig, sh->name, sh->value,
			    "only a plain list of header field names can be carried over");
	else {
		char *q = kv("sign_headers", out), line[ODK_MAX_LINE * 3], why[1024];
		snprintf(line, sizeof line, "dkim_signing { %s }", q ? q : "");
		if (q != NULL && signetd_accepts(line, why, sizeof why))
			fprintf(m->sig, "  %s", q);
		else
			not_carried(m, m->sig, sh->name, sh->value, "%s", why);
		free(q);
	}
	free(out);
	odk_dataset_free(&sd);
	odk_dataset_free(&od);
	if (!ok)
		snprintf(m->e->msg, sizeof m->e->msg, "out of memory");
	return ok;
}

static void map_safekeys(struct map *m)
{
	const struct odk_setting *s = odk_conf_get(m->c, "RequireSafeKeys");

	if (s == NULL)
		return;
	if (odk_bool(s->value) == 0)
		not_carried(m, m->top, s->name, s->value,
			    "signetd always refuses a private key others may read or write");
	else
		note(m, m->top, s->name, s->value, "signetd always does this");
}

/* ---- keys ------------------------------------------------------------------ */

/* The domain index: open addressing over m->doms by an FNV-1a hash of the
 * lower-case name, so ODK_MAX_ENTRIES SigningTable entries stay linear. */
#define DOM_NONE SIZE_MAX

static size_t dom_slot(const struct map *m, const char *name)
{
	uint64_t h = 14695981039346656037ULL;

	for (const char *p = name; *p; p++) {
		h ^= (unsigned char)((*p >= 'A' && *p <= 'Z') ? *p + 32 : *p);
		h *= 1099511628211ULL;
	}
	size_t i = (size_t)h & (m->idxcap - 1);
	while (m->idx[i] != DOM_NONE && strcasecmp(m->doms[m->idx[i]].name, name) != 0)
		i = (i + 1) & (m->idxcap - 1);
	return i;
}

static struct mdom *find_dom(struct map *m, const char *name)
{
	if (m->idxcap == 0)
		return NULL;
	size_t i = dom_slot(m, name);
	return m->idx[i] == DOM_NONE ? NULL : &m->doms[m->idx[i]];
}

/* Room for one more domain: the array and an index at most half full. */
static bool dom_reserve(struct map *m)
{
	if (m->ndoms == m->domcap) {
		size_t cap = m->domcap ? m->domcap * 2 : 16;
		struct mdom *v = realloc(m->doms, cap * sizeof *v);
		if (v == NULL)
			return false;
		m->doms = v, m->domcap = cap;
	}
	if ((m->ndoms + 1) * 2 <= m->idxcap)
		return true;
	size_t cap = m->idxcap ? m->idxcap * 2 : 64;
	size_t *idx = malloc(cap * sizeof *idx);
	if (idx == NULL)
		return false;
	for (size_t i = 0; i < cap; i++)
		idx[i] = DOM_NONE;
	free(m->idx);
	m->idx = idx, m->idxcap = cap;
	for (size_t k = 0; k < m->ndoms; k++)
		m->idx[dom_slot(m, m->doms[k].name)] = k;
	return true;
}

/* One key for domain; `why` names the source for comments. A second match
 * for a domain is what OpenDKIM applies only with MultipleSignatures. */
static bool add_key(struct map *m, const char *domain, const char *selector, const char *path,
		    const char *src, const char *srcval)
{
	struct mdom *d = find_dom(m, domain);

	if (d == NULL) {
		if (!dom_reserve(m))
			return false;
		d = &m->doms[m->ndoms];
		memset(d, 0, sizeof *d);
		if ((d->name = strdup(domain)) == NULL)
			return false;
		for (char *p = d->name; *p; p++)
			*p = (char)((*p >= 'A' && *p <= 'Z') ? *p + 32 : *p);
		m->idx[dom_slot(m, d->name)] = m->ndoms++;
	}
	for (size_t k = 0; k < d->nkeys; k++)
		if (strcmp(d->keys[k].selector, selector) == 0 &&
		    strcmp(d->keys[k].path, path) == 0)
			return true;
	if (d->nkeys > 0 && !m->multiple) {
		note(m, m->sig, src, srcval,
		     "not used: OpenDKIM signs %s with the first match only (MultipleSignatures "
		     "is off)",
		     domain);
		return true;
	}
	if (d->nkeys == SIGNET_MAX_SIGNERS) {
		not_carried(m, m->sig, src, srcval,
			    "signetd signs with at most SIGNET_MAX_SIGNERS (%d) keys per domain",
			    SIGNET_MAX_SIGNERS);
		return true;
	}
	struct mkey *k = &d->keys[d->nkeys];
	k->selector = strdup(selector);
	k->path = strdup(path);
	if (k->selector == NULL || k->path == NULL) {
		free(k->selector), free(k->path);
		return false;
	}
	d->nkeys++;
	return true;
}

/* A KeyTable key field: a file (/..., ./..., ../...) or the key itself
 * (opendkim.conf(5) KeyTable). NULL (and a comment) when not a usable
 * path; % is the From domain. Never prints the key. */
static char *key_path(struct map *m, const char *key, const char *from_domain, const char *src,
		      const char *srcval)
{
	bool rel = strncmp(key, "./", 2) == 0 || strncmp(key, "../", 3) == 0;

	if (key[0] != '/' && !rel) {
		not_carried(m, m->sig, src, srcval,
			    "the KeyTable holds the private key itself (not shown); signetd reads "
			    "keys from files: save it to a file (chmod 600) and use that path");
		return NULL;
	}
	if (rel && m->c->base_dir == NULL) {
		not_carried(m, m->sig, src, srcval,
			    "a relative key path without BaseDirectory: give the absolute path");
		return NULL;
	}
	char *path = odk_path(m->c, key), *pct = path ? strchr(path, '%') : NULL;
	if (pct == NULL)
		return path;
	if (from_domain == NULL) {
		not_carried(m, m->sig, src, srcval, "%% in the key path needs one From domain");
		free(path);
		return NULL;
	}
	char *out = NULL;
	if (asprintf(&out, "%.*s%s%s", (int)(pct - path), path, from_domain, pct + 1) < 0)
		out = NULL;
	free(path);
	return out;
}

/* KeyTable entries sorted by name, file order among equal names (the
 * entries are one array, so their addresses give that order). */
static int kt_cmp(const void *a, const void *b)
{
	const struct ktent *x = a, *y = b;
	int c = strcmp(x->e->key, y->e->key);

	return c ? c : (x->e > y->e) - (x->e < y->e);
}

static bool parse_keytable(struct map *m, const struct odk_dataset *ds)
{
	char w[4096 + 16];

	m->kt = calloc(ds->n ? ds->n : 1, sizeof *m->kt);
	if (m->kt == NULL) {
		snprintf(m->e->msg, sizeof m->e->msg, "out of memory");
		return false;
	}
	for (size_t i = 0; i < ds->n; i++) {
		const struct odk_entry *e = &ds->v[i];
		const char *v = e->value, *c1 = v ? strchr(v, ':') : NULL;
		const char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (c2 == NULL || c1 == v || c2 == c1 + 1 || c2[1] == '\0') {
			/* the value may be a key: never quoted in the message */
			snprintf(m->e->msg, sizeof m->e->msg,
				 "%s: KeyTable entry '%s' is not NAME DOMAIN:SELECTOR:KEYFILE",
				 e->line ? where(e, w, sizeof w) : "KeyTable", e->key);
			return false;
		}
		struct ktent *k = &m->kt[m->nkt++];
		k->e = e;
		k->domain = strndup(v, (size_t)(c1 - v));
		k->selector = strndup(c1 + 1, (size_t)(c2 - c1 - 1));
		k->key = strdup(c2 + 1);
		if (k->domain == NULL || k->selector == NULL || k->key == NULL) {
			snprintf(m->e->msg, sizeof m->e->msg, "out of memory");
			return false;
		}
	}
	qsort(m->kt, m->nkt, sizeof *m->kt, kt_cmp);
	return true;
}

/* The first KeyTable entry named name (binary search), or NULL. */
static const struct ktent *kt_find(const struct map *m, const char *name)
{
	size_t lo = 0, hi = m->nkt;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(m->kt[mid].e->key, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < m->nkt && strcmp(m->kt[lo].e->key, name) == 0 ? &m->kt[lo] : NULL;
}

/* What a SigningTable key matches. refile: patterns where only * is
 * special (opendkim(8) DATA SETS b); other tables: user@host, host,
 * user@.domain, .domain, user@*, * (opendkim.conf(5) SigningTable). */
enum pat { PAT_DOMAIN, PAT_SUBDOMAINS, PAT_ALL, PAT_USER, PAT_OTHER, PAT_REGEX };

static enum pat classify(const char *k, bool refile, const char **dom)
{
	const char *at = strrchr(k, '@');

	*dom = at ? at + 1 : k;
	if (strcmp(k, "*") == 0 || (refile && strcmp(k, "*@*") == 0))
		return PAT_ALL;
	if (refile) {
		if (strpbrk(k, "\\^$+?()[]{}|") != NULL)
			return PAT_REGEX;
		if (at == NULL || strchr(at + 1, '*') == NULL) {
			if (at == NULL)
				return PAT_OTHER;
			if (at == k + 1 && k[0] == '*')
				return PAT_DOMAIN;
			return strchr(k, '*') ? PAT_OTHER : PAT_USER;
		}
		if (at == k + 1 && k[0] == '*' && strncmp(at + 1, "*.", 2) == 0 &&
		    strchr(at + 3, '*') == NULL)
			return *dom = at + 3, PAT_SUBDOMAINS;
		return PAT_OTHER;
	}
	if (at != NULL)
		return PAT_USER;
	if (k[0] == '.')
		return *dom = k + 1, PAT_SUBDOMAINS;
	return strchr(k, '*') ? PAT_OTHER : PAT_DOMAIN;
}

/* A pattern that signs every other From domain with one key: signetd's
 * top-level path template (try_fallback), when the KeyTable domain is %. */
static void signing_all(struct map *m, const struct ktent *k, const char *src, const char *val)
{
	if (strcmp(k->domain, "%") != 0) {
		not_carried(m, m->sig, src, val,
			    "OpenDKIM signs all other mail with d=%s; signetd signs with a key "
			    "of the From domain (use_domain = \"header\"): give %s's mail its "
			    "own key",
			    k->domain, "each domain");
		return;
	}
	char *path = key_path(m, k->key, "$domain", src, val);
	if (path == NULL)
		return;
	note(m, m->sig, src, val,
	     "every other From domain: the path template below (try_fallback)");
	char *q1 = kv("  selector", k->selector), *q2 = kv("  path", path);
	if (q1 && q2)
		fprintf(m->sig, "%s%s  try_fallback = true;\n", q1, q2);
	free(q1), free(q2), free(path);
}

static bool signing_entry(struct map *m, const struct odk_entry *e, bool refile)
{
	char w[4096 + 16], first[ODK_MAX_LINE + 1], signer[ODK_MAX_LINE + 1] = "";
	const char *src = e->line ? where(e, w, sizeof w) : "SigningTable", *dom;

	if (e->value == NULL || sscanf(e->value, "%4096s %4096s", first, signer) < 1) {
		snprintf(m->e->msg, sizeof m->e->msg,
			 "%s: SigningTable entry '%s' names no KeyTable key", src, e->key);
		return false;
	}
	const struct ktent *k = kt_find(m, first);
	if (k == NULL) {
		cli_warn("%s: SigningTable key name '%s' is not in the KeyTable", src, first);
		not_carried(m, m->sig, src, e->key, "key name '%s' is not in the KeyTable", first);
		return true;
	}
	if (signer[0] != '\0')
		note(m, m->sig, src, e->key, "signetd writes no i= (here %s); d= is the same",
		     signer);
	enum pat p = classify(e->key, refile, &dom);
	const char *kd = strcmp(k->domain, "%") == 0 ? dom : k->domain;
	switch (p) {
	case PAT_REGEX:
		cli_warn("%s: '%s' is a regular expression; refile: patterns are wildcards where "
			 "only * is special",
			 src, e->key);
		not_carried(m, m->sig, src, e->key,
			    "a regular expression; refile: patterns are wildcards where only * "
			    "is special (opendkim(8) DATA SETS), so OpenDKIM matched it literally");
		return true;
	case PAT_ALL: signing_all(m, k, src, e->key); return true;
	case PAT_USER:
		not_carried(m, m->sig, src, e->key,
			    "per-user signing: signetd picks the key by the From domain "
			    "(use_domain = \"header\"), the same for every user of %s",
			    dom);
		return true;
	case PAT_OTHER:
		not_carried(m, m->sig, src, e->key,
			    "not a whole domain (*@domain) or its subdomains (*@*.domain)");
		return true;
	case PAT_SUBDOMAINS:
	case PAT_DOMAIN: break;
	}
	if (strcasecmp(kd, dom) != 0 || (p == PAT_SUBDOMAINS && strcmp(k->domain, "%") == 0)) {
		not_carried(m, m->sig, src, e->key,
			    "signs with d=%s, not the From domain; signetd signs with a key of the "
			    "From domain (use_domain = \"header\")",
			    p == PAT_SUBDOMAINS ? "each subdomain" : kd);
		return true;
	}
	char *path = key_path(m, k->key, dom, src, e->key);
	if (path == NULL)
		return true;
	if (p == PAT_SUBDOMAINS) {
		m->esld = true;
		note(m, m->sig, src, e->key,
		     "subdomains of %s are signed with its key (d=%s) through use_esld", dom, dom);
	}
	bool ok = add_key(m, dom, k->selector, path, src, e->key);
	free(path);
	if (!ok)
		snprintf(m->e->msg, sizeof m->e->msg, "out of memory");
	return ok;
}

static bool load_set(struct map *m, const struct odk_setting *s, struct odk_dataset *ds)
{
	if (!odk_dataset_load(m->c, s, ds, m->e))
		return false;
	if (ds->kind == ODK_DS_UNSUPPORTED)
		not_carried(m, m->sig, s->name, s->value,
			    "this kind of data set cannot be read; export it to a file "
			    "(file: or refile:)");
	return true;
}

static bool map_tables(struct map *m, const struct odk_setting *kt, const struct odk_setting *st)
{
	struct odk_dataset kd, sd;
	bool ok;

	if (!load_set(m, kt, &kd))
		return false;
	if (!load_set(m, st, &sd)) {
		odk_dataset_free(&kd);
		return false;
	}
	ok = parse_keytable(m, &kd);
	if (kd.kind != ODK_DS_UNSUPPORTED)
		for (size_t i = 0; ok && i < sd.n; i++)
			ok = signing_entry(m, &sd.v[i], sd.kind == ODK_DS_REFILE);
	odk_dataset_free(&sd);
	for (size_t i = 0; i < m->nkt; i++) /* entries point into kd */
		m->kt[i].e = NULL;
	odk_dataset_free(&kd);
	return ok;
}

/* Domain + Selector + KeyFile: one key for each listed domain. */
static bool map_single(struct map *m)
{
	const struct odk_setting *d = odk_conf_get(m->c, "Domain");
	const struct odk_setting *s = odk_conf_get(m->c, "Selector");
	const struct odk_setting *k = odk_conf_get(m->c, "KeyFile");
	struct odk_dataset ds;

	if (d == NULL && s == NULL && k == NULL) {
		note(m, m->sig, "KeyTable", NULL,
		     "no signing keys in the OpenDKIM configuration; add domain { } entries");
		return true;
	}
	if (d == NULL || s == NULL || k == NULL) {
		const struct odk_setting *x = d ? d : s ? s : k;
		not_carried(m, m->sig, x->name, x->value,
			    "signing needs Domain, Selector and KeyFile together");
		return true;
	}
	if (k->value[0] != '/' && m->c->base_dir == NULL) {
		not_carried(m, m->sig, k->name, k->value,
			    "a relative key path without BaseDirectory: give the absolute path");
		return true;
	}
	if (!load_set(m, d, &ds))
		return false;
	char *path = odk_path(m->c, k->value);
	bool ok = path != NULL;
	for (size_t i = 0; ok && i < ds.n; i++) {
		const char *name = ds.v[i].key;
		if (strpbrk(name, "*!%@/") != NULL)
			not_carried(m, m->sig, d->name, name, "not a domain name");
		else
			ok = add_key(m, name, s->value, path, d->name, name);
	}
	free(path);
	odk_dataset_free(&ds);
	if (!ok)
		snprintf(m->e->msg, sizeof m->e->msg, "out of memory");
	return ok;
}

static bool map_signing(struct map *m)
{
	const struct odk_setting *kt = odk_conf_get(m->c, "KeyTable");
	const struct odk_setting *st = odk_conf_get(m->c, "SigningTable");
	const struct odk_setting *ms = odk_conf_get(m->c, "MultipleSignatures");
	const struct odk_setting *sub = odk_conf_get(m->c, "SubDomains");

	if (!m->sign_mode) {
		fputs("  enabled = false;\n", m->sig);
		return true;
	}
	m->multiple = ms != NULL && odk_bool(ms->value) == 1;
	fputs("  # OpenDKIM signs by the From domain alone, whatever the envelope sender or\n"
	      "  # the SMTP AUTH user; signetd's defaults (false) are stricter.\n"
	      "  sign_authenticated = true;\n  sign_local = true;\n  use_domain = \"header\";\n"
	      "  allow_hdrfrom_mismatch = true;\n  allow_username_mismatch = true;\n",
	      m->sig);
	if (kt != NULL) {
		const char *ignored[] = {"Domain", "Selector", "KeyFile"};
		for (size_t i = 0; i < 3; i++) {
			const struct odk_setting *x = odk_conf_get(m->c, ignored[i]);
			if (x != NULL)
				note(m, m->sig, x->name, x->value,
				     "ignored, as OpenDKIM does when KeyTable is set");
		}
		if (st == NULL) {
			not_carried(m, m->sig, kt->name, kt->value,
				    "without a SigningTable OpenDKIM picks keys with "
				    "SetupPolicyScript; signetd picks them by the From domain");
			return true;
		}
		if (!map_tables(m, kt, st))
			return false;
	} else if (st != NULL) {
		not_carried(m, m->sig, st->name, st->value, "a SigningTable needs a KeyTable");
	} else if (!map_single(m))
		return false;
	if (sub != NULL && odk_bool(sub->value) == 1)
		m->esld = true;
	if (m->esld)
		fputs("  use_esld = true;   # subdomains signed with their parent domain's key\n",
		      m->sig);
	else
		fputs("  use_esld = false;  # as OpenDKIM (SubDomains off): only the listed "
		      "domains\n",
		      m->sig);
	return true;
}

/* conf/keystore.c's checks, for the user signetd will run as (UserID). */
static void check_keys(struct map *m)
{
	struct signetd_config who;
	struct keys_identity id;
	struct diags d;

	memset(&who, 0, sizeof who);
	who.user = m->user;
	who.group = m->group;
	who.file = (char *)"UserID";
	diags_init(&d);
	keys_identity(&who, &id, &d);
	for (size_t i = 0; i < m->ndoms; i++)
		for (size_t k = 0; k < m->doms[i].nkeys; k++) {
			const struct mkey *mk = &m->doms[i].keys[k];
			struct signet_key *key =
				keys_load_file(&id, mk->path, m->doms[i].name, mk->selector,
					       SIGNET_ALG_UNKNOWN, "", &d);
			signet_key_free(key);
		}
	for (size_t i = 0; i < d.n; i++) {
		bool err = d.v[i].level == DIAG_ERROR;
		fprintf(m->sig, "  # %s: ", err ? "not carried over: key check" : "key check");
		put_text(m->sig, d.v[i].msg);
		fputc('\n', m->sig);
		if (err)
			m->key_problems++, m->not_carried++;
		cli_warn("%s", d.v[i].msg);
	}
	if (d.dropped > 0) { /* past DIAG_MAX_COUNT: counted, not stored */
		fprintf(m->sig, "  # not carried over: key check: %zu more problems not listed\n",
			d.dropped);
		cli_warn("%zu more key file problems not listed", d.dropped);
		m->key_problems += (unsigned)d.dropped, m->not_carried += (unsigned)d.dropped;
	}
	diags_free(&d);
}

/* ---- settings that are not mapped one by one --------------------------- */

enum kw_kind { KW_MAPPED, KW_NOTE, KW_NOT, KW_FEATURE };

static const struct kw {
	const char *name;
	enum kw_kind kind;
	const char *why;
} keywords[] = {
	{"Socket", KW_MAPPED, NULL},
	{"UMask", KW_MAPPED, NULL},
	{"UserID", KW_MAPPED, NULL},
	{"PidFile", KW_MAPPED, NULL},
	{"AuthservID", KW_MAPPED, NULL},
	{"InternalHosts", KW_MAPPED, NULL},
	{"ExternalIgnoreList", KW_MAPPED, NULL},
	{"On-Default", KW_MAPPED, NULL},
	{"On-BadSignature", KW_MAPPED, NULL},
	{"On-DNSError", KW_MAPPED, NULL},
	{"On-InternalError", KW_MAPPED, NULL},
	{"On-SignatureError", KW_MAPPED, NULL},
	{"On-KeyNotFound", KW_MAPPED, NULL},
	{"On-NoSignature", KW_MAPPED, NULL},
	{"On-Security", KW_MAPPED, NULL},
	{"Syslog", KW_MAPPED, NULL},
	{"SyslogFacility", KW_MAPPED, NULL},
	{"TrustAnchorFile", KW_MAPPED, NULL},
	{"Nameservers", KW_MAPPED, NULL},
	{"DNSTimeout", KW_MAPPED, NULL},
	{"Mode", KW_MAPPED, NULL},
	{"Canonicalization", KW_MAPPED, NULL},
	{"SignatureAlgorithm", KW_MAPPED, NULL},
	{"MinimumKeyBits", KW_MAPPED, NULL},
	{"SignHeaders", KW_MAPPED, NULL},
	{"OversignHeaders", KW_MAPPED, NULL},
	{"RequireSafeKeys", KW_MAPPED, NULL},
	{"Domain", KW_MAPPED, NULL},
	{"Selector", KW_MAPPED, NULL},
	{"KeyFile", KW_MAPPED, NULL},
	{"KeyTable", KW_MAPPED, NULL},
	{"SigningTable", KW_MAPPED, NULL},
	{"MultipleSignatures", KW_MAPPED, NULL},
	{"SubDomains", KW_MAPPED, NULL},
	{"BaseDirectory", KW_NOTE, "relative paths were resolved under it"},
	{"SyslogSuccess", KW_NOTE, "signetd logs one line for every message"},
	{"LogWhy", KW_NOTE, "signetd's log line always says why"},
	{"LogResults", KW_NOTE, "signetd's log line always has the results"},
	{"AutoRestart", KW_NOTE, "restarting is the service manager's job (systemd Restart=)"},
	{"AutoRestartCount", KW_NOTE, "restarting is the service manager's job"},
	{"AutoRestartRate", KW_NOTE, "restarting is the service manager's job"},
	{"Background", KW_NOTE, "signetd detaches unless started with -f"},
	{"ReportAddress", KW_NOT, "signetd sends no DKIM failure reports (RFC 6651)"},
	{"ReportBccAddress", KW_NOT, "signetd sends no DKIM failure reports (RFC 6651)"},
	{"PeerList", KW_NOT, "signetd skips no clients: their mail is verified (signed if local)"},
	{"ChangeRootDirectory", KW_NOT, "signetd does not chroot; confine it with systemd"},
	{"SendReports", KW_FEATURE, "signetd sends no DKIM failure reports (RFC 6651)"},
	{"RequestReports", KW_FEATURE, "signetd asks for no reports (RFC 6651)"},
	{"SoftwareHeader", KW_FEATURE, "signetd adds no DKIM-Filter header field"},
	{"Quarantine", KW_FEATURE, "signetd quarantines nothing"},
	{"RemoveOldSignatures", KW_FEATURE, "signetd keeps existing DKIM-Signature fields"},
	{"Diagnostics", KW_FEATURE, "signetd writes no z= (copied header fields)"},
};

static const struct kw *kw_find(const char *name)
{
	for (size_t i = 0; i < sizeof keywords / sizeof keywords[0]; i++)
		if (strcasecmp(keywords[i].name, name) == 0)
			return &keywords[i];
	return NULL;
}

static void map_rest(struct map *m)
{
	char w[4096 + 16];

	for (size_t i = 0; i < m->c->n; i++) {
		const struct odk_setting *s = &m->c->v[i];
		const struct odk_setting *first = odk_conf_get(m->c, s->name);
		const struct kw *k = kw_find(s->name);
		snprintf(w, sizeof w, "%s (%s:%u)", s->name, s->file, s->line);
		if (first != s)
			not_carried(m, m->top, w, s->value,
				    "set again; this import used the first (%s:%u)", first->file,
				    first->line);
		else if (k == NULL)
			not_carried(m, m->top, s->name, s->value,
				    "signetd has no equivalent setting");
		else if (k->kind == KW_NOTE || (k->kind == KW_FEATURE && odk_bool(s->value) == 0))
			note(m, m->top, s->name, s->value, "%s",
			     k->kind == KW_NOTE ? k->why : "off, and signetd has no such feature");
		else if (k->kind != KW_MAPPED)
			not_carried(m, m->top, s->name, s->value, "%s", k->why);
	}
}

/* ---- assembly ----------------------------------------------------------- */

static void put_domains(struct map *m, FILE *f)
{
	if (m->ndoms == 0)
		return;
	fputs("  domain {\n", f);
	for (size_t i = 0; i < m->ndoms; i++) {
		const struct mdom *d = &m->doms[i];
		fputs("    ", f);
		put_str(f, d->name);
		fputs(" {\n      selectors = [\n", f);
		for (size_t k = 0; k < d->nkeys; k++) {
			fputs("        { selector = ", f);
			put_str(f, d->keys[k].selector);
			fputs("; path = ", f);
			put_str(f, d->keys[k].path);
			fputs("; },\n", f);
		}
		fputs("      ];\n    }\n", f);
	}
	fputs("  }\n", f);
}

static bool open_sections(struct map *m)
{
	m->top = open_memstream(&m->topb, &m->topn);
	m->sig = open_memstream(&m->sigb, &m->sign);
	m->dns = open_memstream(&m->dnsb, &m->dnsn);
	m->log = open_memstream(&m->logb, &m->logn);
	return m->top && m->sig && m->dns && m->log;
}

static void close_sections(struct map *m)
{
	FILE **fs[] = {&m->top, &m->sig, &m->dns, &m->log};

	for (size_t i = 0; i < 4; i++)
		if (*fs[i] != NULL)
			fclose(*fs[i]), *fs[i] = NULL;
}

static void put_section(FILE *f, const char *name, const char *body)
{
	if (body != NULL && body[0] != '\0')
		fprintf(f, "%s {\n%s}\n", name, body);
}

static bool assemble(struct map *m, const char *conf_path, struct odk_map_result *r)
{
	FILE *f = open_memstream(&r->text, &r->len);

	if (f == NULL)
		return false;
	fputs("# signetd.conf(5) made by `signet import-opendkim` from ", f);
	put_text(f, conf_path);
	fputs(".\n# Check it before use: signetd -t -c FILE. \"not carried over\" comments\n"
	      "# name what signetd does differently.\n",
	      f);
	fputs(m->topb, f);
	if (m->on_sign || m->on_verify) {
		fputs("on_error {", f);
		if (m->on_sign)
			fprintf(f, " sign = \"%s\";", m->on_sign);
		if (m->on_verify)
			fprintf(f, " verify = \"%s\";", m->on_verify);
		fputs(" }\n", f);
	}
	if (m->on_fail || m->on_temperror) {
		fputs("verify {", f);
		if (m->on_fail)
			fprintf(f, " on_fail = \"%s\";", m->on_fail);
		if (m->on_temperror)
			fprintf(f, " on_temperror = \"%s\";", m->on_temperror);
		fputs(" }\n", f);
	}
	put_section(f, "dns", m->dnsb);
	put_section(f, "log", m->logb);
	fputs("dkim_signing {\n", f);
	fputs(m->sigb, f);
	put_domains(m, f);
	fputs("}\n", f);
	return fclose(f) == 0;
}

static void map_free(struct map *m)
{
	close_sections(m);
	free(m->topb), free(m->sigb), free(m->dnsb), free(m->logb);
	free(m->user), free(m->group);
	for (size_t i = 0; i < m->ndoms; i++) {
		for (size_t k = 0; k < m->doms[i].nkeys; k++)
			free(m->doms[i].keys[k].selector), free(m->doms[i].keys[k].path);
		free(m->doms[i].name);
	}
	free(m->doms);
	free(m->idx);
	for (size_t i = 0; i < m->nkt; i++)
		free(m->kt[i].domain), free(m->kt[i].selector), free(m->kt[i].key);
	free(m->kt);
}

bool odk_map(const struct odk_conf *c, const char *conf_path, struct odk_map_result *r,
	     struct odk_error *e)
{
	struct map m = {.c = c, .e = e};
	bool ok;

	memset(r, 0, sizeof *r);
	snprintf(e->msg, sizeof e->msg, "out of memory");
	ok = open_sections(&m);
	if (ok) {
		map_socket(&m);
		map_umask(&m);
		map_user(&m);
		map_simple(&m);
		ok = map_internal(&m) && map_external(&m);
	}
	if (ok) {
		map_on(&m);
		map_log(&m);
		map_dns(&m);
		map_mode(&m);
		map_canon(&m);
		map_alg(&m);
		map_safekeys(&m);
		ok = map_headers(&m) && map_signing(&m);
	}
	if (ok) {
		check_keys(&m);
		map_rest(&m);
		close_sections(&m);
		ok = m.topb && m.sigb && m.dnsb && m.logb;
		if (!ok)
			snprintf(e->msg, sizeof e->msg, "out of memory");
	}
	if (ok && !assemble(&m, conf_path, r)) {
		snprintf(e->msg, sizeof e->msg, "out of memory");
		ok = false;
	}
	r->not_carried = m.not_carried;
	r->key_problems = m.key_problems;
	map_free(&m);
	if (!ok)
		free(r->text), r->text = NULL;
	return ok;
}
