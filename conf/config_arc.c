/* config_arc.c: the arc { } section of signetd.conf (DESIGN.md): verify
 * ARC (RFC 8617) on mail we do not sign, and seal when asked. Reads and
 * checks the keys, fills the defaults, frees and dumps them. Which key
 * seals is dkim_signing's (rspamd's arc module reuses those keys); the
 * decision per message is daemon/session_arc.c's. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "config_walk.h"

#define ARC(f) offsetof(struct config_arc, f)

static const struct cfg_choice seal_words[] = {
	{"none", CONFIG_ARC_SEAL_NONE, NULL, false, false},
	{"forwarded", CONFIG_ARC_SEAL_FORWARDED, NULL, false, false},
	{"all", CONFIG_ARC_SEAL_ALL, NULL, false, false},
	{NULL, 0, NULL, false, false},
};

const char *config_arc_seal_name(enum config_arc_seal s)
{
	switch (s) {
	case CONFIG_ARC_SEAL_NONE: return "none";
	case CONFIG_ARC_SEAL_FORWARDED: return "forwarded";
	case CONFIG_ARC_SEAL_ALL: return "all";
	}
	return "none";
}

/* arc.selector: one of dkim_signing's selectors (checked against the keys
 * when a message is sealed: a domain without it is not sealed, logged). */
static void k_selector(struct ctx *c, const struct ucl_node *n, void *base)
{
	struct config_arc *a = base;
	char buf[32];
	const char *s;
	if (!cfg_want_str(c, n, "arc.selector", buf, sizeof buf, &s))
		return;
	if (!cfg_dns_name_ok(s)) {
		cfg_node_error(c, n, "arc.selector: '%s' is not a valid selector", s);
		return;
	}
	cfg_set_str(c, &a->selector, s);
	if (a->selector != NULL)
		cfg_lower(a->selector);
}

static void add_local_domain(struct ctx *c, const struct ucl_node *n, const char *s, void *arg)
{
	struct config_arc *a = arg;
	size_t len = strlen(s);
	if (len > 0 && s[len - 1] == '.')
		len--;
	char name[256];
	if (len == 0 || len >= sizeof name) {
		cfg_node_error(c, n, "arc.local_domains: '%s' is not a domain name", s);
		return;
	}
	memcpy(name, s, len);
	name[len] = '\0';
	if (!cfg_dns_name_ok(name)) {
		cfg_node_error(c, n, "arc.local_domains: '%s' is not a domain name", s);
		return;
	}
	char **v = realloc(a->local_domains, (a->n_local_domains + 1) * sizeof *v);
	if (v == NULL) {
		cfg_node_error(c, n, "out of memory");
		return;
	}
	a->local_domains = v;
	if ((v[a->n_local_domains] = cfg_xstrdup(c, name)) == NULL)
		return;
	cfg_lower(v[a->n_local_domains++]);
}

static void k_local_domains(struct ctx *c, const struct ucl_node *n, void *base)
{
	cfg_each_str(c, n, "arc.local_domains", base, add_local_domain);
}

static const struct keydef arc_keys[] = {
	{"enabled", K_BOOL, ARC(enabled), NULL, {NULL}},
	CHOICE("seal", ARC(seal), seal_words),
	{"selector", K_FN, 0, k_selector, {NULL}},
	{"local_domains", K_FN, 0, k_local_domains, {NULL}},
};

void cfg_s_arc(struct ctx *c, const struct ucl_node *n, void *base)
{
	(void)base;
	cfg_walk(c, n, "arc", arc_keys, NKEYS(arc_keys), &c->cfg->arc);
}

void cfg_arc_defaults(struct config_arc *a)
{
	a->enabled = true;
	/* signetd.conf(5): a seal vouches for what we saw; only forwarders and
	 * lists need one, and the IETF is moving ARC to Historic. */
	a->seal = CONFIG_ARC_SEAL_NONE;
}

void cfg_arc_free(struct config_arc *a)
{
	free(a->selector);
	for (size_t k = 0; k < a->n_local_domains; k++)
		free(a->local_domains[k]);
	free(a->local_domains);
	memset(a, 0, sizeof *a);
}

/* Names are checked DNS names: nothing to escape. */
void cfg_arc_dump(const struct config_arc *a, FILE *f)
{
	fprintf(f, "arc {\n  enabled = %s;\n  seal = \"%s\";\n", a->enabled ? "true" : "false",
		config_arc_seal_name(a->seal));
	if (a->selector != NULL)
		fprintf(f, "  selector = \"%s\";\n", a->selector);
	else
		fputs("  # selector: not set (each domain's first dkim_signing key seals)\n", f);
	fputs("  local_domains = [", f);
	for (size_t k = 0; k < a->n_local_domains; k++)
		fprintf(f, "%s\"%s\"", k ? ", " : "", a->local_domains[k]);
	fputs("];\n", f);
	if (a->n_local_domains == 0)
		fputs("  # local_domains []: dkim_signing's domains are ours\n", f);
	fputs("}\n", f);
}

bool config_arc_local_domain(const struct config_arc *a, const char *domain)
{
	size_t len = strlen(domain);
	if (len > 0 && domain[len - 1] == '.')
		len--;
	for (size_t k = 0; k < a->n_local_domains; k++) {
		const char *d = a->local_domains[k];
		size_t dl = strlen(d);
		if (len == dl && strncasecmp(domain, d, len) == 0)
			return true;
		/* below it: "lists.example.org" for "example.org" */
		if (len > dl && domain[len - dl - 1] == '.' &&
		    strncasecmp(domain + len - dl, d, dl) == 0)
			return true;
	}
	return false;
}
