/* config_dmarc.c: the dmarc { } section (DESIGN.md "signetd config
 * additions"): evaluation switches, enforcement, the trusted ARC sealers,
 * and reports { } (read and checked; aggregate reports are a later issue).
 * Defaults and their reasons: signetd.conf(5). */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "config_walk.h"

_Static_assert(sizeof(enum signet_dmarc_mode) == sizeof(int), "K_CHOICE field");
_Static_assert(sizeof(enum config_dmarc_quarantine) == sizeof(int), "K_CHOICE field");

#define DMC(f) offsetof(struct config_dmarc, f)

void config_dmarc_defaults(struct config_dmarc *d)
{
	d->enabled = true;
	d->discovery = SIGNET_DMARC_RFC9989;
	d->enforce = true; /* the domain owner asked for it; signetd.conf(5) says why */
	d->quarantine = CONFIG_QUARANTINE_HEADER;
	d->on_temperror = CONFIG_ACCEPT;
}

static void sealers_free(struct config_dmarc *d)
{
	for (size_t k = 0; k < d->n_trusted_arc_sealers; k++)
		free(d->trusted_arc_sealers[k]);
	free(d->trusted_arc_sealers);
	d->trusted_arc_sealers = NULL;
	d->n_trusted_arc_sealers = 0;
}

void config_dmarc_free(struct config_dmarc *d)
{
	sealers_free(d);
	free(d->reports_db), free(d->reports_org_name), free(d->reports_from);
	d->reports_db = d->reports_org_name = d->reports_from = NULL;
}

static const struct cfg_choice discoveries[] = {
	{.name = "tree-walk", .value = SIGNET_DMARC_RFC9989, .hint = "RFC 9989"},
	{.name = "psl", .value = SIGNET_DMARC_RFC7489, .hint = "RFC 7489, the public suffix list"},
	{.name = NULL}};
static const struct cfg_choice quarantines[] = {
	{.name = "header", .value = CONFIG_QUARANTINE_HEADER},
	{.name = "hold", .value = CONFIG_QUARANTINE_HOLD, .hint = "Postfix's hold queue"},
	{.name = NULL}};
static const struct cfg_choice accept_tempfail[] = {{.name = "accept", .value = CONFIG_ACCEPT},
						    {.name = "tempfail", .value = CONFIG_TEMPFAIL},
						    {.name = NULL}};

/* One trusted_arc_sealers entry: an A-label domain name (the d= of an
 * ARC-Seal), lower-cased, a final dot dropped. */
static void add_sealer(struct ctx *c, const struct ucl_node *n, const char *s, void *arg)
{
	struct config_dmarc *d = arg;
	char name[256];
	size_t len = strlen(s);
	if (len > 0 && s[len - 1] == '.')
		len--;
	if (len == 0 || len >= sizeof name) {
		cfg_node_error(c, n, "dmarc.trusted_arc_sealers: '%s' is not a domain name", s);
		return;
	}
	memcpy(name, s, len);
	name[len] = '\0';
	if (!cfg_dns_name_ok(name) || strchr(name, '.') == NULL) {
		cfg_node_error(c, n,
			       "dmarc.trusted_arc_sealers: '%s' is not a domain name with at least "
			       "two labels (the d= of the forwarder's ARC-Seal, in A-labels, "
			       "e.g. \"google.com\")",
			       s);
		return;
	}
	cfg_lower(name);
	char **v = realloc(d->trusted_arc_sealers, (d->n_trusted_arc_sealers + 1) * sizeof *v);
	if (v == NULL) {
		diags_add(c->d, DIAG_ERROR, "out of memory");
		return;
	}
	d->trusted_arc_sealers = v;
	if ((v[d->n_trusted_arc_sealers] = cfg_xstrdup(c, name)) != NULL)
		d->n_trusted_arc_sealers++;
}

static void k_sealers(struct ctx *c, const struct ucl_node *n, void *base)
{
	struct config_dmarc *d = base;
	sealers_free(d);
	cfg_each_str(c, n, "dmarc.trusted_arc_sealers", d, add_sealer);
}

/* reports.db: an absolute file name. */
static void k_reports_db(struct ctx *c, const struct ucl_node *n, void *base)
{
	struct config_dmarc *d = base;
	char buf[32];
	const char *s;
	if (!cfg_want_str(c, n, "dmarc.reports.db", buf, sizeof buf, &s))
		return;
	if (s[0] != '/') {
		cfg_node_error(c, n, "dmarc.reports.db must be an absolute file name, not '%s'", s);
		return;
	}
	cfg_set_str(c, &d->reports_db, s);
}

static void k_reports_org_name(struct ctx *c, const struct ucl_node *n, void *base)
{
	struct config_dmarc *d = base;
	char buf[32];
	const char *s;
	if (!cfg_want_str(c, n, "dmarc.reports.org_name", buf, sizeof buf, &s))
		return;
	bool ok = s[0] != '\0';
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		ok = ok && *p >= 0x20 && *p != 0x7f;
	if (!ok) {
		cfg_node_error(c, n, "dmarc.reports.org_name must be a non-empty line of text");
		return;
	}
	cfg_set_str(c, &d->reports_org_name, s);
}

/* reports.from: local@domain, the domain a domain name (A-labels). */
static void k_reports_from(struct ctx *c, const struct ucl_node *n, void *base)
{
	struct config_dmarc *d = base;
	char buf[32];
	const char *s;
	if (!cfg_want_str(c, n, "dmarc.reports.from", buf, sizeof buf, &s))
		return;
	const char *at = strrchr(s, '@');
	bool ok = at != NULL && at > s && cfg_dns_name_ok(at + 1);
	for (const char *p = s; ok && p < at; p++)
		ok = *p > 0x20 && *p < 0x7f && strchr("<>()[]\\,;:\"", *p) == NULL;
	if (!ok) {
		cfg_node_error(c, n,
			       "dmarc.reports.from must be an address local@domain (e.g. "
			       "\"dmarc-noreply@example.com\"), not '%s'",
			       s);
		return;
	}
	cfg_set_str(c, &d->reports_from, s);
}

static const struct keydef reports_keys[] = {
	{"enabled", K_BOOL, DMC(reports_enabled), NULL, {NULL}},
	{"db", K_FN, 0, k_reports_db, {NULL}},
	{"org_name", K_FN, 0, k_reports_org_name, {NULL}},
	{"from", K_FN, 0, k_reports_from, {NULL}},
};

static void s_reports(struct ctx *c, const struct ucl_node *n, void *base)
{
	struct config_dmarc *d = base;
	cfg_walk(c, n, "dmarc.reports", reports_keys, NKEYS(reports_keys), base);
	if (d->reports_enabled)
		cfg_node_warn(c, n,
			      "dmarc.reports.enabled = true: aggregate reports (RFC 9990) are not "
			      "sent by this version; the keys are checked and kept");
}

static const struct keydef dmarc_keys[] = {
	{"enabled", K_BOOL, DMC(enabled), NULL, {NULL}},
	CHOICE("discovery", DMC(discovery), discoveries),
	{"enforce", K_BOOL, DMC(enforce), NULL, {NULL}},
	CHOICE("quarantine", DMC(quarantine), quarantines),
	CHOICE("on_temperror", DMC(on_temperror), accept_tempfail),
	{"trusted_arc_sealers", K_FN, 0, k_sealers, {NULL}},
	{"reports", K_SECTION, 0, s_reports, {NULL}},
};

void cfg_s_dmarc(struct ctx *c, const struct ucl_node *n, void *base)
{
	(void)base;
	cfg_walk(c, n, "dmarc", dmarc_keys, NKEYS(dmarc_keys), &c->cfg->dmarc);
}
