/* cmd_dmarc.c: `signet dmarc <sub>` (a small table of subcommands) and
 * `signet dmarc check DOMAIN`: finds the DMARC record the way RFC 9989
 * receivers do (libsignet's evaluator asks, a ZONEFILE or DNS answers),
 * prints it, libsignet's findings about it (signet_dmarc_answer_check) and
 * what it means in plain words, and asks whether each external rua
 * destination authorized its reports. Exit 0 record fine (warnings
 * allowed), 1 errors, 2 no record, 3 DNS failed temporarily. */
#include <arpa/nameser.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include <signet/dmarc.h>

#include "cli.h"

#define DMARC_EXIT_NONE 2
#define DMARC_EXIT_TEMPERROR 3
#define DMARC_MAX_ANSWER SIGNET_DMARC_CHECK_MAX_TXT /* TXT records kept per name */
#define DMARC_NAME_MAX 300                          /* "_dmarc." and a 253-octet name */
#define DMARC_MAX_RUA 16 /* rua= URIs whose authorization is asked; more are listed */

static const char usage[] =
	"usage: signet dmarc check DOMAIN [--zone ZONEFILE | --dns [--server IP[@PORT]]]\n"
	"                          [--json]\n"
	"       signet dmarc report (--send | --out DIR | --dry-run) --from ADDR ...\n"
	"                          (signet dmarc report --help)\n";

static const char help_text[] =
	"Find the DMARC record that applies to DOMAIN (RFC 9989 DNS tree walk), check\n"
	"it and say what it means: who is protected, what receivers do with mail that\n"
	"fails, where reports go and whether external report addresses accept them.\n\n"
	"  --zone ZONEFILE        answer DNS questions from ZONEFILE (offline; see signet(1))\n"
	"  --dns                  ask DNS (the default): the system resolver, or --server\n"
	"  --server IP[@PORT]     the DNS server to ask\n"
	"  --json                 one JSON object\n\n"
	"Exit status: 0 the record is fine (warnings allowed); 1 errors (receivers\n"
	"ignore the record or parts of it); 2 no DMARC record; 3 DNS failed\n"
	"temporarily; 4 the check could not run; 64 usage error.\n";

#define DMARC_EXIT_ERROR 4

struct check_opts {
	const char *domain, *zone, *server;
	bool json;
};

/* One TXT answer, kept for the lint after the walk. */
struct txt_answer {
	char name[DMARC_NAME_MAX];
	enum signet_dns_status st;
	struct signet_rr rr[DMARC_MAX_ANSWER];
	size_t n;
	struct dns_answer owned; /* --dns: the data rr points into */
};

struct dmarc_dns {
	struct zonefile *zone;
	struct dns_resolver *r;
	struct txt_answer a[SIGNET_DMARC_MAX_QUERIES + 1 + DMARC_MAX_RUA];
	size_t na;
};

static int parse_opts(int argc, char **argv, struct check_opts *o)
{
	static const struct option longopts[] = {
		{"zone", required_argument, NULL, 'z'},   {"dns", no_argument, NULL, 'D'},
		{"server", required_argument, NULL, 'S'}, {"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
	};
	bool dns = false;
	int c;
	memset(o, 0, sizeof *o);
	optind = 0;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (c) {
		case 'z': o->zone = optarg; break;
		case 'D': dns = true; break;
		case 'S': o->server = optarg; break;
		case 'j': o->json = true; break;
		case 'h': printf("%s\n%s", usage, help_text); return CLI_EXIT_OK;
		default: return cli_bad_option("dmarc check", usage, c, argv);
		}
	}
	if (optind + 1 != argc)
		return cli_usage_error("dmarc check", usage,
				       optind == argc ? "give one DOMAIN"
						      : "unexpected argument '%s'",
				       argv[optind + (optind < argc)]);
	o->domain = argv[optind];
	if (o->zone != NULL && (dns || o->server != NULL))
		return cli_usage_error("dmarc check", usage,
				       "--zone does not go with --dns or --server");
	return -1;
}

/* TXT at name, from the zone or DNS; kept in d->a. NULL on a local error
 * (printed). */
static const struct txt_answer *txt(struct dmarc_dns *d, const char *name)
{
	for (size_t k = 0; k < d->na; k++)
		if (strcmp(d->a[k].name, name) == 0)
			return &d->a[k];
	if (d->na == sizeof d->a / sizeof d->a[0]) {
		cli_err("dmarc check: too many DNS questions");
		return NULL;
	}
	struct txt_answer *a = &d->a[d->na];
	memset(a, 0, sizeof *a);
	snprintf(a->name, sizeof a->name, "%s", name);
	if (d->zone != NULL) {
		a->st = zonefile_lookup(d->zone, name, SIGNET_RR_TXT, a->rr, DMARC_MAX_ANSWER,
					&a->n);
		if (a->n > DMARC_MAX_ANSWER)
			a->n = DMARC_MAX_ANSWER;
	} else {
		if (!dns_query(d->r, name, ns_t_txt, &a->owned))
			return NULL;
		a->st = a->owned.n == 0 ? a->owned.status : SIGNET_DNS_OK;
		for (a->n = 0; a->n < a->owned.n && a->n < DMARC_MAX_ANSWER; a->n++)
			a->rr[a->n] = (struct signet_rr){a->owned.rr[a->n].data,
							 a->owned.rr[a->n].len, 0};
	}
	d->na++;
	return a;
}

static void dmarc_dns_free(struct dmarc_dns *d)
{
	for (size_t k = 0; k < d->na; k++)
		dns_answer_free(&d->a[k].owned);
	zonefile_free(d->zone);
	dns_close(d->r);
}

/* Runs libsignet's evaluator for mail From: postmaster@DOMAIN. With no
 * authenticated identifier its questions are exactly RFC 9989 policy
 * discovery. With `aligned` (a report host) given as a passing DKIM d= (or
 * SPF domain when the record has adkim=s), the evaluator also walks for
 * the organizational domains (RFC 9989 4.10.2). The existence question
 * (np=) is answered "exists": the domain being checked is taken to be
 * real. */
static bool discover(struct dmarc_dns *d, const char *domain, const char *aligned, bool via_spf,
		     struct signet_dmarc **out)
{
	char from[DMARC_NAME_MAX + 16];
	snprintf(from, sizeof from, "<postmaster@%s>", domain);
	const uint8_t *fv[1] = {(const uint8_t *)from};
	size_t fl[1] = {strlen(from)};
	struct signet_dmarc_dkim dk = {aligned, NULL};
	struct signet_dmarc_request req = {.mode = SIGNET_DMARC_RFC9989,
					   .from = fv,
					   .from_len = fl,
					   .nfrom = 1,
					   .dkim = &dk,
					   .ndkim = aligned != NULL && !via_spf};
	if (aligned != NULL && via_spf) {
		req.spf_result = SIGNET_SPF_PASS;
		req.spf_domain = aligned;
	}
	struct signet_error err;
	if (signet_dmarc_new(&req, out, &err) != SIGNET_OK) {
		cli_err("dmarc check: %s", err.msg);
		return false;
	}
	while (!signet_dmarc_done(*out)) {
		struct signet_dmarc_query q;
		bool asked = false;
		while (signet_dmarc_next_query(*out, &q)) {
			asked = true;
			enum signet_status st;
			if (q.type == SIGNET_DMARC_Q_EXISTS) {
				st = signet_dmarc_answer(*out, q.id, SIGNET_DNS_OK, NULL, 0, &err);
			} else {
				const struct txt_answer *a = txt(d, q.name);
				if (a == NULL)
					return false;
				st = signet_dmarc_answer(*out, q.id, a->st, a->rr, a->n, &err);
			}
			if (st != SIGNET_OK) {
				cli_err("dmarc check: %s", err.msg);
				return false;
			}
		}
		if (!asked) {
			cli_err("dmarc check: the evaluator waits for an answer it did not ask "
				"for");
			return false;
		}
	}
	return true;
}

/* ---- rendering ------------------------------------------------------------- */

struct dest {
	char uri[512];
	bool parsed;
	struct signet_dmarc_dest d;
	enum signet_dmarc_auth auth; /* external only */
	char why[200];               /* not parsed: why */
};

struct verdict {
	const struct signet_dmarc_outcome *o;
	const struct txt_answer *at;      /* the answer holding the record checked */
	struct signet_dmarc_check *c;     /* its check */
	const struct txt_answer *own;     /* _dmarc.DOMAIN, when it is not `at` */
	struct signet_dmarc_check *own_c; /* its check when it has findings */
	struct dest rua[DMARC_MAX_RUA];
	size_t nrua, rua_more;
	char org[SIGNET_DMARC_REPORT_NAME_MAX]; /* the policy domain's org. domain, once known */
	size_t nasked;                          /* answers of policy discovery (d->a[0..]) */
	unsigned errors, warnings, unauthorized, auth_tempfail;
	bool temperror;
};

/* Record bytes on the terminal: printable ASCII as is, anything else (and
 * '\\') as \DDD, the ZONEFILE escape, so hostile TXT data cannot move
 * the cursor or change colours. */
static void print_safe(const char *p, size_t len)
{
	for (size_t k = 0; k < len; k++) {
		unsigned char c = (unsigned char)p[k];
		if (c < 0x20 || c > 0x7e || c == '\\')
			printf("\\%03u", c);
		else
			putchar(c);
	}
}

static void print_safe_str(const char *s)
{
	print_safe(s, strlen(s));
}

static const char *meaning(enum signet_dmarc_policy p)
{
	switch (p) {
	case SIGNET_DMARC_POLICY_REJECT: return "rejected";
	case SIGNET_DMARC_POLICY_QUARANTINE:
		return "treated as suspicious (quarantine, spam folder)";
	case SIGNET_DMARC_POLICY_NONE:
		return "delivered as usual (the owner only asks for reports)";
	case SIGNET_DMARC_POLICY_UNSET: break;
	}
	return "not judged by DMARC (receivers ignore the record)";
}

static const char *answer_word(const struct txt_answer *a)
{
	size_t nd = 0;
	if (a->st == SIGNET_DNS_TEMPFAIL)
		return "temporary failure";
	if (a->st == SIGNET_DNS_NXDOMAIN)
		return "no such name";
	for (size_t k = 0; k < a->n; k++)
		nd += signet_dmarc_is_record(a->rr[k].p, a->rr[k].len);
	return nd == 0 ? "no DMARC record" : nd == 1 ? "a DMARC record" : "several DMARC records";
}

static void count(struct verdict *v, const struct signet_dmarc_check *c)
{
	for (size_t k = 0; c != NULL && k < c->n; k++) {
		v->errors += c->f[k].severity == SIGNET_DMARC_SEV_ERROR;
		v->warnings += c->f[k].severity == SIGNET_DMARC_SEV_WARNING;
	}
}

/* The policy domain's organizational domain (RFC 9989 4.10.2), from a
 * second evaluation in which host is an identifier that passed: the
 * evaluator walks for both organizational domains. Left empty when the
 * record aligns strictly both ways (no walk is made then). */
static bool org_domain(struct dmarc_dns *d, struct verdict *v, const char *host)
{
	const struct signet_dmarc_record *r = &v->c->record;
	if (r->adkim == SIGNET_DMARC_STRICT && r->aspf == SIGNET_DMARC_STRICT)
		return true;
	struct signet_dmarc *ev = NULL;
	bool ok = discover(d, v->o->policy_domain, host, r->adkim == SIGNET_DMARC_STRICT, &ev);
	if (ok) {
		const struct signet_dmarc_outcome *o = signet_dmarc_outcome(ev);
		v->auth_tempfail += o->result == SIGNET_DMARC_TEMPERROR;
		if (o->org_domain != NULL)
			snprintf(v->org, sizeof v->org, "%s", o->org_domain);
	}
	signet_dmarc_free(ev);
	return ok;
}

/* Each rua URI: its host, and for an external one the authorization. */
static bool destinations(struct dmarc_dns *d, struct verdict *v)
{
	const struct signet_dmarc_record *r = &v->c->record;
	const char *pd = v->o->policy_domain;
	size_t start = 0;
	for (size_t k = 0; k <= r->rua.len; k++) {
		if (k < r->rua.len && r->rua.p[k] != ',')
			continue;
		const char *u = r->rua.p + start;
		size_t len = k - start;
		start = k + 1;
		while (len > 0 && (*u == ' ' || *u == '\t'))
			u++, len--;
		while (len > 0 && (u[len - 1] == ' ' || u[len - 1] == '\t'))
			len--;
		if (len == 0)
			continue;
		if (v->nrua == DMARC_MAX_RUA) {
			v->rua_more++;
			continue;
		}
		struct dest *x = &v->rua[v->nrua++];
		struct signet_error err;
		snprintf(x->uri, sizeof x->uri, "%.*s", (int)(len > 500 ? 500 : len), u);
		x->parsed =
			signet_dmarc_report_dest(pd, v->org[0] ? v->org : NULL, (const uint8_t *)u,
						 len, &x->d, &err) == SIGNET_OK;
		if (!x->parsed) {
			snprintf(x->why, sizeof x->why, "%s", err.msg);
			continue;
		}
		if (x->d.external && v->org[0] == '\0') { /* outside pd: is it outside the org? */
			if (!org_domain(d, v, x->d.host))
				return false;
			if (v->org[0] != '\0' &&
			    signet_dmarc_report_dest(pd, v->org, (const uint8_t *)u, len, &x->d,
						     &err) != SIGNET_OK)
				return false; /* not reached: it parsed the first time */
		}
		if (!x->d.external)
			continue;
		const struct txt_answer *a = txt(d, x->d.auth_name);
		if (a == NULL)
			return false;
		x->auth = signet_dmarc_report_auth(a->st, a->rr, a->n);
		v->unauthorized += x->auth == SIGNET_DMARC_AUTH_NO;
		v->auth_tempfail += x->auth == SIGNET_DMARC_AUTH_TEMPERROR;
	}
	return true;
}

static void print_findings(const struct signet_dmarc_check *c)
{
	for (size_t k = 0; k < c->n; k++) {
		const struct signet_dmarc_finding *f = &c->f[k];
		printf("  %s: %s%s%s%s\n", signet_dmarc_severity_name(f->severity), f->msg,
		       f->spec ? " (" : "", f->spec ? f->spec : "", f->spec ? ")" : "");
		if (f->fix != NULL)
			printf("    fix: %s\n", f->fix);
	}
}

static void print_reports(const struct verdict *v)
{
	const struct signet_dmarc_record *r = &v->c->record;
	if (r->nrua == 0)
		printf("  aggregate reports: none requested (no valid rua=)\n");
	for (size_t k = 0; k < v->nrua; k++) {
		const struct dest *x = &v->rua[k];
		bool bad = x->parsed && x->d.external && x->auth == SIGNET_DMARC_AUTH_NO;
		printf("  %saggregate reports to ", bad ? "error: " : "");
		print_safe_str(x->uri);
		if (!x->parsed)
			printf(": not usable: %s\n", x->why);
		else if (!x->d.external)
			printf(" (%s, inside %s: no authorization needed)\n", x->d.host,
			       v->org[0] ? v->org : v->o->policy_domain);
		else if (x->auth == SIGNET_DMARC_AUTH_YES)
			printf(" (external: %s authorizes them, v=DMARC1 at %s)\n", x->d.host,
			       x->d.auth_name);
		else if (bad)
			printf(" are NOT sent: %s is external and publishes no v=DMARC1 TXT record "
			       "at %s (RFC 9990 3)\n"
			       "    fix: ask the operator of %s to publish \"v=DMARC1\" at %s\n",
			       x->d.host, x->d.auth_name, x->d.host, x->d.auth_name);
		else
			printf(": external; the authorization lookup of %s failed temporarily\n",
			       x->d.auth_name);
	}
	if (v->rua_more > 0)
		printf("  (%zu more rua= %s not checked: the CLI checks %d)\n", v->rua_more,
		       cli_plural(v->rua_more, "URI", "URIs"), DMARC_MAX_RUA);
	if (r->nruf > 0) {
		printf("  failure reports (ruf=): ");
		print_safe(r->ruf.p, r->ruf.len);
		printf(" (fo=");
		print_safe(r->fo.len ? r->fo.p : "0", r->fo.len ? r->fo.len : 1);
		printf(")\n");
	}
}

static void print_meaning(const struct verdict *v, const char *domain)
{
	const struct signet_dmarc_check *c = v->c;
	const struct signet_dmarc_record *r = &c->record;
	const char *pd = v->o->policy_domain;
	printf("what it means:\n");
	if (strcmp(pd, domain) != 0)
		printf("  %s has no record of its own; the record of %s covers it as a "
		       "subdomain\n",
		       domain, pd);
	printf("  mail From: %s that fails DMARC is %s (p=%s)\n", pd, meaning(c->domain),
	       signet_dmarc_policy_name(c->domain));
	printf("  mail From: an existing subdomain of %s that fails is %s (%s)\n", pd,
	       meaning(c->subdomains), r->sp ? "sp=" : "p=, no sp=");
	printf("  mail From: a subdomain of %s that does not exist is %s (%s)\n", pd,
	       meaning(c->nonexistent),
	       r->np   ? "np="
	       : r->sp ? "sp=, no np="
		       : "p=, no np= or sp=");
	if (r->t)
		printf("  t=y: receivers are asked not to apply this yet (testing)\n");
	printf("  DMARC passes when DKIM (d=) or SPF (MAIL FROM) passes for %s the From "
	       "domain (DKIM %s, SPF %s)\n",
	       r->adkim == SIGNET_DMARC_STRICT && r->aspf == SIGNET_DMARC_STRICT
		       ? "exactly"
		       : "a domain aligned with",
	       r->adkim == SIGNET_DMARC_STRICT ? "strict" : "relaxed",
	       r->aspf == SIGNET_DMARC_STRICT ? "strict" : "relaxed");
	print_reports(v);
}

static void print_text(const struct verdict *v, const char *domain, const struct dmarc_dns *d)
{
	printf("DMARC for %s\n", domain);
	for (size_t k = 0; k < v->nasked; k++)
		if (strncmp(d->a[k].name, "_dmarc.", 7) == 0)
			printf("  asked %s: %s\n", d->a[k].name, answer_word(&d->a[k]));
	if (v->own_c != NULL) {
		printf("at %s:\n", v->own->name);
		print_findings(v->own_c);
	}
	if (v->at == NULL)
		return;
	printf("record at %s%s:\n  ", v->at->name,
	       strcmp(v->o->policy_domain, domain) == 0 ? " (the domain's own)" : "");
	print_safe((const char *)v->at->rr[v->c->which].p, v->at->rr[v->c->which].len);
	putchar('\n');
	if (v->c->n > 0) {
		printf("findings:\n");
		print_findings(v->c);
	}
	if (v->c->ndmarc == 1 && v->c->record.usable)
		print_meaning(v, domain);
}

/* ---- JSON -------------------------------------------------------------------- */

static void json_findings(const struct signet_dmarc_check *c, bool *first)
{
	for (size_t k = 0; c != NULL && k < c->n; k++) {
		const struct signet_dmarc_finding *f = &c->f[k];
		printf("%s{\"code\":\"%s\",\"severity\":\"%s\",\"message\":", *first ? "" : ",",
		       signet_dmarc_check_code_name(f->code),
		       signet_dmarc_severity_name(f->severity));
		json_string(stdout, f->msg);
		fputs(",\"fix\":", stdout);
		if (f->fix)
			json_string(stdout, f->fix);
		else
			fputs("null", stdout);
		fputs(",\"spec\":", stdout);
		if (f->spec)
			json_string(stdout, f->spec);
		else
			fputs("null", stdout);
		fputc('}', stdout);
		*first = false;
	}
}

static void json_rua(const struct verdict *v)
{
	fputs(",\"rua\":[", stdout);
	for (size_t k = 0; k < v->nrua; k++) {
		const struct dest *x = &v->rua[k];
		printf("%s{\"uri\":", k ? "," : "");
		json_string(stdout, x->uri);
		if (!x->parsed) {
			fputs(",\"host\":null,\"external\":null,\"authorized\":null,\"why\":",
			      stdout);
			json_string(stdout, x->why);
		} else {
			fputs(",\"host\":", stdout);
			json_string(stdout, x->d.host);
			printf(",\"external\":%s,\"authorized\":%s",
			       x->d.external ? "true" : "false",
			       !x->d.external || x->auth == SIGNET_DMARC_AUTH_YES ? "true"
			       : x->auth == SIGNET_DMARC_AUTH_NO                  ? "false"
										  : "null");
			if (x->d.external) {
				fputs(",\"auth_name\":", stdout);
				json_string(stdout, x->d.auth_name);
			}
		}
		fputc('}', stdout);
	}
	printf("],\"rua_unchecked\":%zu", v->rua_more);
}

static void print_json(const struct verdict *v, const char *domain, const struct dmarc_dns *d,
		       const char *result)
{
	fputs("{\"domain\":", stdout);
	json_string(stdout, domain);
	printf(",\"result\":\"%s\",\"asked\":[", result);
	bool first = true;
	for (size_t k = 0; k < v->nasked; k++) {
		if (strncmp(d->a[k].name, "_dmarc.", 7) != 0)
			continue;
		printf("%s{\"name\":", first ? "" : ",");
		json_string(stdout, d->a[k].name);
		fputs(",\"answer\":", stdout);
		json_string(stdout, answer_word(&d->a[k]));
		fputc('}', stdout);
		first = false;
	}
	fputs("],\"found_at\":", stdout);
	if (v->at != NULL) {
		json_string(stdout, v->at->name);
		fputs(",\"record\":", stdout);
		json_bytes(stdout, v->at->rr[v->c->which].p, v->at->rr[v->c->which].len);
	} else {
		fputs("null,\"record\":null", stdout);
	}
	fputs(",\"findings\":[", stdout);
	first = true;
	json_findings(v->own_c, &first);
	json_findings(v->c, &first);
	fputc(']', stdout);
	if (v->at != NULL && v->c->ndmarc == 1 && v->c->record.usable) {
		const struct signet_dmarc_record *r = &v->c->record;
		printf(",\"policy\":{\"domain\":\"%s\",\"subdomains\":\"%s\",\"nonexistent\":\"%"
		       "s\"}"
		       ",\"testing\":%s,\"adkim\":\"%s\",\"aspf\":\"%s\"",
		       signet_dmarc_policy_name(v->c->domain),
		       signet_dmarc_policy_name(v->c->subdomains),
		       signet_dmarc_policy_name(v->c->nonexistent), r->t ? "true" : "false",
		       r->adkim == SIGNET_DMARC_STRICT ? "s" : "r",
		       r->aspf == SIGNET_DMARC_STRICT ? "s" : "r");
		json_rua(v);
	}
	printf(",\"errors\":%u,\"warnings\":%u}\n", v->errors, v->warnings);
}

/* ---- the command ------------------------------------------------------------ */

static const struct txt_answer *find_answer(const struct dmarc_dns *d, const char *domain)
{
	char name[DMARC_NAME_MAX];
	snprintf(name, sizeof name, "_dmarc.%s", domain);
	for (size_t k = 0; k < d->na; k++)
		if (strcmp(d->a[k].name, name) == 0)
			return &d->a[k];
	return NULL;
}

/* Checks the answers that matter: the policy record's name, and the
 * domain's own name when it held something receivers discard. */
static bool judge(struct dmarc_dns *d, const char *domain, struct verdict *v)
{
	struct signet_error err;
	const char *pd = v->o->policy_domain;
	v->own = find_answer(d, v->o->author_domain ? v->o->author_domain : domain);
	if (pd != NULL && (v->at = find_answer(d, pd)) != NULL) {
		if (signet_dmarc_answer_check(v->at->rr, v->at->n, SIGNET_DMARC_RFC9989, v->c,
					      &err) != SIGNET_OK) {
			cli_err("dmarc check: %s", err.msg);
			return false;
		}
		if (v->c->ndmarc == 0)
			v->at = NULL; /* not reached: the evaluator found a record there */
	}
	if (v->own != NULL && v->own != v->at && v->own->st == SIGNET_DNS_OK) {
		if (signet_dmarc_answer_check(v->own->rr, v->own->n, SIGNET_DMARC_RFC9989, v->own_c,
					      &err) != SIGNET_OK) {
			cli_err("dmarc check: %s", err.msg);
			return false;
		}
		if (v->own_c->n == 0)
			v->own_c = NULL;
	} else {
		v->own_c = NULL;
	}
	count(v, v->own_c);
	if (v->at != NULL) {
		count(v, v->c);
		if (v->c->ndmarc == 1 && v->c->record.usable && !destinations(d, v))
			return false;
		v->errors += v->unauthorized;
	}
	return true;
}

static int exit_code(const struct verdict *v, const char **word)
{
	if (v->temperror) {
		*word = "temperror";
		return DMARC_EXIT_TEMPERROR;
	}
	if (v->errors > 0) {
		*word = "errors";
		return CLI_EXIT_FAIL;
	}
	if (v->at == NULL) {
		*word = "no-record";
		return DMARC_EXIT_NONE;
	}
	if (v->auth_tempfail > 0) {
		*word = "temperror";
		return DMARC_EXIT_TEMPERROR;
	}
	*word = "ok";
	return CLI_EXIT_OK;
}

static int run_check(const struct check_opts *o, struct dmarc_dns *d, struct verdict *v)
{
	struct signet_dmarc *ev = NULL;
	int rc = DMARC_EXIT_ERROR;
	if (!discover(d, o->domain, NULL, false, &ev))
		goto out;
	v->o = signet_dmarc_outcome(ev);
	v->nasked = d->na; /* the discovery walk; later questions are for reports */
	if (v->o->from != SIGNET_DMARC_FROM_OK) {
		cli_err("dmarc check: '%s' is not a domain DMARC can check (%s)", o->domain,
			v->o->reason);
		rc = CLI_EXIT_USAGE;
		goto out;
	}
	const char *dom = v->o->author_domain; /* lower-case A-labels */
	v->temperror = v->o->result == SIGNET_DMARC_TEMPERROR;
	if (!v->temperror && !judge(d, dom, v))
		goto out;
	const char *word = "";
	rc = exit_code(v, &word);
	if (o->json)
		print_json(v, dom, d, word);
	else if (v->temperror)
		printf("DMARC for %s\n  cannot tell: %s\n  try again later; if it persists, check "
		       "the DNS servers of %s\n",
		       dom, v->o->reason, dom);
	else {
		print_text(v, dom, d);
		if (v->at == NULL)
			printf("no DMARC record applies to %s: receivers apply no DMARC policy\n"
			       "  publish one at _dmarc.%s, e.g. \"v=DMARC1; p=none; "
			       "rua=mailto:dmarc-reports@%s\"\n",
			       dom, dom, dom);
		printf("%s: %u error%s, %u warning%s\n", word, v->errors, v->errors == 1 ? "" : "s",
		       v->warnings, v->warnings == 1 ? "" : "s");
	}
	if (!cli_flush_stdout())
		rc = DMARC_EXIT_ERROR;
out:
	signet_dmarc_free(ev);
	return rc;
}

static int cmd_dmarc_check(int argc, char **argv)
{
	struct check_opts o;
	int rc = parse_opts(argc, argv, &o);
	if (rc >= 0)
		return rc;
	/* U-labels are for the evaluator to convert (RFC 9989 5.3.1); ASCII
	 * names get the CLI's usual check and its message. */
	bool ascii = true;
	for (const char *p = o.domain; *p; p++)
		ascii = ascii && (unsigned char)*p < 0x80;
	if (ascii && !cli_valid_dns_name("domain", o.domain))
		return CLI_EXIT_USAGE;
	struct dmarc_dns *d = calloc(1, sizeof *d);
	struct verdict *v = calloc(1, sizeof *v);
	struct signet_dmarc_check *c = calloc(2, sizeof *c);
	rc = DMARC_EXIT_ERROR;
	if (d == NULL || v == NULL || c == NULL) {
		cli_err("out of memory");
		goto out;
	}
	v->c = &c[0];
	v->own_c = &c[1];
	if (o.zone != NULL && (d->zone = zonefile_load(o.zone, "zone file")) == NULL)
		goto out;
	if (o.zone == NULL && (d->r = dns_open(o.server)) == NULL)
		goto out;
	rc = run_check(&o, d, v);
out:
	if (d != NULL)
		dmarc_dns_free(d);
	free(c);
	free(v);
	free(d);
	return rc;
}

/* ---- signet dmarc <sub> ----------------------------------------------------- */

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
} subcommands[] = {
	{"check", cmd_dmarc_check},
	{"report", cmd_dmarc_report},
};

int cmd_dmarc(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "signet dmarc: give a subcommand\n%s", usage);
		return CLI_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		printf("%s\n%s", usage, help_text);
		return cli_flush_stdout() ? CLI_EXIT_OK : CLI_EXIT_FAIL;
	}
	for (size_t k = 0; k < sizeof subcommands / sizeof subcommands[0]; k++)
		if (strcmp(argv[1], subcommands[k].name) == 0)
			return subcommands[k].run(argc - 1, argv + 1);
	fprintf(stderr, "signet dmarc: unknown subcommand '%s'\n%s", argv[1], usage);
	return CLI_EXIT_USAGE;
}
