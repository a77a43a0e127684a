/* cmd_dmarc_report.c: `signet dmarc report`: for each policy domain with
 * data in the report store for a day, the RFC 9990 aggregate report (XML,
 * gzip, mail) sent to its rua= destinations, safely: external destinations
 * only when authorized (RFC 7489 7.1), only domains that sent us mail that
 * passed aligned SPF or DKIM (unless --all-domains), a daily cap per
 * destination, the !size limit, and each report id sent at most once per
 * destination (the state is in the store; failures are retried). */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <signet/dmarc.h>
#include <signet/psl.h>

#include "cli.h"
#include "config.h"
#include "psl_load.h"
#include "redis_client.h"
#include "report_mail.h"
#include "report_redis.h"
#include "report_store.h"
#include "report_xml.h"

#define REPORT_DEFAULT_DB REPORT_STORE_DEFAULT_PATH /* dmarc.reports.db */
#define REPORT_DAILY_CAP 100 /* reports per destination address per day (--max-per-destination) */
#define REPORT_MAX_DAILY_CAP 100000
#define REPORT_MAX_ANSWER 32 /* TXT records looked at in one authorization answer */

static const char usage[] =
	"usage: signet dmarc report [-c signetd.conf] [--db FILE | --redis URL]\n"
	"                           (--send | --out DIR | --dry-run)\n"
	"                           [--from ADDR] [--org-name NAME] [--day YYYY-MM-DD]\n"
	"                           [--zone ZONEFILE | --dns [--server IP[@PORT]]]\n"
	"                           [--max-per-destination N] [--all-domains]\n"
	"                           [--psl FILE] [--format rfc9990|rfc7489] [--sendmail PATH]\n";

static const char help_text[] =
	"Send the DMARC aggregate reports (RFC 9990) for one day of signetd's\n"
	"report store to the rua= addresses of each domain.\n\n"
	"  -c, --config FILE      signetd.conf: dmarc.reports { enabled; db; from; org_name }\n"
	"                         (reports off there: nothing is done, exit 0); options\n"
	"                         given on the command line win\n"
	"  --db FILE              the report store (default " REPORT_DEFAULT_DB ")\n"
	"  --redis URL            read the observations from Redis (redis://ADDRESS:PORT;\n"
	"                         default with -c: the first of redis.servers); the sent\n"
	"                         state of --send is kept in --db FILE\n"
	"  --send                 mail the reports through sendmail(1)\n"
	"  --out DIR              write each report (.xml.gz) and each message (.eml) to DIR\n"
	"  --dry-run              print what would be sent to whom, and why not to others\n"
	"  --from ADDR            the reports' sender and contact address (dmarc.reports.from)\n"
	"  --org-name NAME        the reporting organisation (default: the domain of --from)\n"
	"  --day YYYY-MM-DD       the UTC day to report (default: yesterday)\n"
	"  --zone ZONEFILE        answer the authorization lookups from ZONEFILE\n"
	"  --dns                  ask DNS (the default; the system resolver, or --server)\n"
	"  --server IP[@PORT]     the DNS server to ask\n"
	"  --max-per-destination N\n"
	"                         reports one address gets per day (default 100)\n"
	"  --all-domains          also report on domains with no aligned SPF or DKIM pass\n"
	"  --psl FILE             public suffix list: which destinations belong to the\n"
	"                         domain's organization (\"\": none, then only the domain\n"
	"                         and its subdomains do)\n"
	"  --format rfc7489       the RFC 7489 Appendix C form instead of RFC 9990's\n"
	"  --sendmail PATH        the sendmail program (default " REPORT_MAIL_SENDMAIL ")\n\n"
	"Exit status: 0 done (skipped destinations are not errors); 1 a report could\n"
	"not be sent or written (it is retried on the next run); 64 usage error.\n";

enum mode { MODE_NONE, MODE_SEND, MODE_OUT, MODE_DRY };

struct rpt_opts {
	const char *redis;    /* --redis URL, or redis.servers[0] of -c; NULL: SQLite */
	double redis_timeout; /* redis.timeout of -c, or its default */
	const struct redis_auth *redis_auth; /* redis.password etc. of -c with its servers */
	struct redis_auth config_auth;
	const char *db, *out_dir, *day, *zone, *server, *org_name, *from, *sendmail, *psl;
	const char *config;         /* -c: signetd.conf */
	struct signetd_config *cfg; /* owned: loaded from config */
	bool db_given, reports_off;
	enum mode mode;
	bool dns, all_domains;
	unsigned cap;
	enum report_format fmt;
};

static int set_mode(struct rpt_opts *o, enum mode m)
{
	if (o->mode != MODE_NONE && o->mode != m)
		return cli_usage_error("dmarc report", usage,
				       "give one of --send, --out DIR and --dry-run");
	o->mode = m;
	return -1;
}

static int check_opts(struct rpt_opts *o)
{
	if (o->mode == MODE_NONE)
		return cli_usage_error("dmarc report", usage,
				       "give one of --send, --out DIR and --dry-run");
	if (o->from == NULL || strchr(o->from, '@') == NULL || o->from[0] == '-')
		return cli_usage_error("dmarc report", usage,
				       "--from ADDR (the reports' sender) is required");
	if (o->zone != NULL && o->dns)
		return cli_usage_error("dmarc report", usage, "give one of --zone and --dns");
	if (o->server != NULL && o->zone != NULL)
		return cli_usage_error("dmarc report", usage, "--server goes with --dns");
	if (o->cap == 0)
		o->cap = REPORT_DAILY_CAP;
	return -1;
}

/* -c signetd.conf: dmarc.reports { enabled; db; from; org_name } (the
 * systemd timer runs `signet dmarc report --send -c /etc/signet/signetd.conf`,
 * so one file says whether and as whom reports go). A value given on the
 * command line wins. */
static bool apply_config(struct rpt_opts *o)
{
	struct diags d;
	diags_init(&d);
	bool ok = config_load(o->config, &o->cfg, &d) == SIGNET_OK;
	diags_print(&d, stderr, "signet: ");
	diags_free(&d);
	if (!ok) {
		cli_err("%s: configuration not usable (see above)", o->config);
		return false;
	}
	const struct config_dmarc *dm = &o->cfg->dmarc;
	o->reports_off = !dm->reports_enabled;
	if (!o->db_given && dm->reports_db != NULL)
		o->db = dm->reports_db;
	if (o->redis == NULL && o->cfg->redis.n_servers > 0) {
		o->redis = o->cfg->redis.servers[0];
		o->config_auth = redis_client_auth_of(&o->cfg->redis);
		o->redis_auth = &o->config_auth;
	}
	o->redis_timeout = o->cfg->redis.timeout;
	if (o->from == NULL)
		o->from = dm->reports_from;
	if (o->org_name == NULL)
		o->org_name = dm->reports_org_name;
	if (!dm->reports_only_authenticated)
		o->all_domains = true;
	return true;
}

static int parse_opts(int argc, char **argv, struct rpt_opts *o)
{
	static const struct option longopts[] = {
		{"db", required_argument, NULL, 'b'},
		{"redis", required_argument, NULL, 'R'},
		{"send", no_argument, NULL, 's'},
		{"out", required_argument, NULL, 'o'},
		{"dry-run", no_argument, NULL, 'n'},
		{"from", required_argument, NULL, 'f'},
		{"org-name", required_argument, NULL, 'O'},
		{"day", required_argument, NULL, 'd'},
		{"zone", required_argument, NULL, 'z'},
		{"dns", no_argument, NULL, 'D'},
		{"server", required_argument, NULL, 'S'},
		{"max-per-destination", required_argument, NULL, 'x'},
		{"config", required_argument, NULL, 'c'},
		{"all-domains", no_argument, NULL, 'a'},
		{"format", required_argument, NULL, 'F'},
		{"sendmail", required_argument, NULL, 'M'},
		{"psl", required_argument, NULL, 'P'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c, rc;
	uint64_t v;
	memset(o, 0, sizeof *o);
	o->db = REPORT_DEFAULT_DB;
	o->redis_timeout = CONFIG_DEFAULT_REDIS_TIMEOUT;
	o->sendmail = REPORT_MAIL_SENDMAIL;
	o->psl = SIGNET_PSL_DEFAULT_FILE;
	optind = 0;
	while ((c = getopt_long(argc, argv, ":hc:", longopts, NULL)) != -1) {
		rc = -1;
		switch (c) {
		case 'b': o->db = optarg, o->db_given = true; break;
		case 'R': o->redis = optarg; break;
		case 's': rc = set_mode(o, MODE_SEND); break;
		case 'o':
			o->out_dir = optarg;
			rc = set_mode(o, MODE_OUT);
			break;
		case 'n': rc = set_mode(o, MODE_DRY); break;
		case 'f': o->from = optarg; break;
		case 'O': o->org_name = optarg; break;
		case 'd': o->day = optarg; break;
		case 'z': o->zone = optarg; break;
		case 'D': o->dns = true; break;
		case 'S': o->server = optarg; break;
		case 'c': o->config = optarg; break;
		case 'x':
			if (!cli_parse_u64(optarg, &v) || v == 0 || v > REPORT_MAX_DAILY_CAP)
				return cli_usage_error("dmarc report", usage,
						       "--max-per-destination must be 1..%d",
						       REPORT_MAX_DAILY_CAP);
			o->cap = (unsigned)v;
			break;
		case 'a': o->all_domains = true; break;
		case 'F':
			if (strcmp(optarg, "rfc9990") == 0)
				o->fmt = REPORT_FORMAT_RFC9990;
			else if (strcmp(optarg, "rfc7489") == 0)
				o->fmt = REPORT_FORMAT_RFC7489;
			else
				return cli_usage_error("dmarc report", usage,
						       "--format is rfc9990 or rfc7489");
			break;
		case 'M': o->sendmail = optarg; break;
		case 'P': o->psl = optarg; break;
		case 'h': printf("%s\n%s", usage, help_text); return CLI_EXIT_OK;
		default: return cli_bad_option("dmarc report", usage, c, argv);
		}
		if (rc >= 0)
			return rc;
	}
	if (optind < argc)
		return cli_usage_error("dmarc report", usage, "unexpected argument '%s'",
				       argv[optind]);
	if (o->config != NULL && !apply_config(o))
		return CLI_EXIT_FAIL;
	if (o->reports_off)
		return -1;
	return check_opts(o);
}

/* "YYYY-MM-DD" (a real date) -> UTC day number. */
static bool parse_day(const char *s, int64_t *day)
{
	int y, m, d, n = 0;
	if (strlen(s) != 10 || sscanf(s, "%4d-%2d-%2d%n", &y, &m, &d, &n) != 3 || n != 10)
		return false;
	struct tm tm = {.tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d};
	time_t t = timegm(&tm);
	if (t == (time_t)-1 || tm.tm_year != y - 1900 || tm.tm_mon != m - 1 || tm.tm_mday != d)
		return false;
	*day = report_store_day((int64_t)t);
	return true;
}

/* ---- one run ------------------------------------------------------------ */

struct planned {
	char addr[REPORT_MAIL_MAX_ADDR + 1];
	unsigned n;
};

struct run {
	const struct rpt_opts *o;
	struct report_store *store; /* the rows */
	struct report_store *state; /* the sent states: store, or --db with --redis --send */
	char tmpdir[64];            /* --redis: the day's rows, copied ("": none) */
	struct zonefile *zone;
	struct dns_resolver *r;
	struct signet_psl *psl; /* NULL: none (only the domain and below are internal) */
	int64_t day;
	char ymd[16];
	const char *submitter;
	const char *org_name;
	unsigned failures;
	struct planned *planned; /* --out / --dry-run: this run's count per address */
	size_t nplanned;
};

/* The rows of one domain as XML, and what the checks need from them. */
struct built {
	FILE *f;
	const struct rpt_opts *o;
	struct report_meta meta;
	bool head_done, authenticated, too_big;
	uint64_t messages;
	char rua[2100];
	size_t bytes;
};

static int row_cb(void *arg, const struct report_obs *r)
{
	struct built *b = arg;
	if (!b->head_done) {
		report_xml_head(b->f, b->o->fmt, &b->meta, &r->policy);
		snprintf(b->rua, sizeof b->rua, "%s", r->policy.rua ? r->policy.rua : "");
		b->head_done = true;
	}
	report_xml_record(b->f, b->o->fmt, r);
	/* DMARC-RPT-10: "authenticated mail" is an aligned SPF or DKIM pass. */
	if (r->dkim_aligned_pass || r->spf_aligned_pass)
		b->authenticated = true;
	b->messages += r->count;
	if (ftell(b->f) > (long)REPORT_MAIL_MAX_XML) {
		b->too_big = true;
		return 1;
	}
	return 0;
}

/* Domain names for ids and file names: what the store holds came from the
 * evaluator (A-labels), but a file name must never get a '/'. */
static bool safe_name(const char *s)
{
	if (*s == '\0' || *s == '.')
		return false;
	for (; *s; s++)
		if (!(isalnum((unsigned char)*s) || *s == '-' || *s == '.' || *s == '_'))
			return false;
	return true;
}

enum auth { AUTH_FOUND, AUTH_NOT_FOUND, AUTH_TEMPERROR };

/* RFC 7489 7.1 / RFC 9990: <policy-domain>._report._dmarc.<dest-domain>
 * TXT "v=DMARC1..." authorizes an external destination. */
static enum auth authorized(struct run *run, const char *domain, const char *dest, char *name,
			    size_t cap)
{
	snprintf(name, cap, "%s._report._dmarc.%s", domain, dest);
	if (run->zone != NULL) {
		struct signet_rr rrs[REPORT_MAX_ANSWER];
		size_t n = 0;
		enum signet_dns_status st =
			zonefile_lookup(run->zone, name, SIGNET_RR_TXT, rrs, REPORT_MAX_ANSWER, &n);
		if (st == SIGNET_DNS_TEMPFAIL)
			return AUTH_TEMPERROR;
		for (size_t k = 0; st == SIGNET_DNS_OK && k < n; k++)
			if (signet_dmarc_is_record(rrs[k].p, rrs[k].len))
				return AUTH_FOUND;
		return AUTH_NOT_FOUND;
	}
	struct dns_answer a;
	memset(&a, 0, sizeof a);
	if (!dns_txt(run->r, name, &a))
		return AUTH_TEMPERROR;
	enum auth res = a.status == SIGNET_DNS_TEMPFAIL ? AUTH_TEMPERROR : AUTH_NOT_FOUND;
	for (size_t k = 0; a.status == SIGNET_DNS_OK && k < a.n; k++)
		if (signet_dmarc_is_record(a.rr[k].data, a.rr[k].len))
			res = AUTH_FOUND;
	dns_answer_free(&a);
	return res;
}

static unsigned *planned_for(struct run *run, const char *addr)
{
	for (size_t k = 0; k < run->nplanned; k++)
		if (strcasecmp(run->planned[k].addr, addr) == 0)
			return &run->planned[k].n;
	struct planned *p = realloc(run->planned, (run->nplanned + 1) * sizeof *p);
	if (p == NULL)
		return NULL;
	run->planned = p;
	snprintf(p[run->nplanned].addr, sizeof p->addr, "%s", addr);
	p[run->nplanned].n = 0;
	return &p[run->nplanned++].n;
}

static bool write_file(const char *dir, const char *name, const void *p, size_t len)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0640);
	FILE *f = fd >= 0 ? fdopen(fd, "wb") : NULL;
	if (f == NULL) {
		cli_err("cannot write %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return false;
	}
	bool ok = fwrite(p, 1, len, f) == len;
	ok = (fclose(f) == 0) && ok;
	if (!ok)
		cli_err("cannot write %s: %s", path, strerror(errno));
	return ok;
}

struct report {
	const char *domain;
	char id[600];
	char file[700];
	uint8_t *gz;
	size_t gzlen;
	int64_t begin, end;
};

/* Is one destination due (state, cap)? Prints why not. */
static bool due(struct run *run, const struct report *rp, const struct report_dest *d)
{
	struct signet_error err = {0};
	enum report_state st = REPORT_STATE_NONE;
	unsigned sent = 0, *planned = planned_for(run, d->addr);

	if (planned == NULL ||
	    report_store_state(run->state, rp->id, d->addr, &st, &err) != SIGNET_OK ||
	    report_store_sent_count(run->state, run->day, d->addr, &sent, &err) != SIGNET_OK) {
		cli_err("%s", planned ? err.msg : "out of memory");
		run->failures++;
		return false;
	}
	if (st == REPORT_STATE_SENT) {
		printf("skip %s -> %s: report %s already sent\n", rp->domain, d->addr, rp->id);
		return false;
	}
	/* DMARC-RPT-12: a daily cap per destination. */
	if (sent + *planned >= run->o->cap) {
		printf("skip %s -> %s: %u reports today reach the cap per destination "
		       "(--max-per-destination %u)\n",
		       rp->domain, d->addr, sent + *planned, run->o->cap);
		return false;
	}
	return true;
}

static void deliver(struct run *run, const struct report *rp, const struct report_dest *d)
{
	struct report_mail m = {
		.from = run->o->from,
		.to = d->addr,
		.submitter = run->submitter,
		.domain = rp->domain,
		.report_id = rp->id,
		.filename = rp->file,
		.gz = rp->gz,
		.gzlen = rp->gzlen,
		.date = (int64_t)time(NULL),
		.begin = rp->begin,
		.end = rp->end,
	};
	struct signet_error err = {0};
	size_t len = 0;
	char *msg = report_mail_build(&m, &len);
	if (msg == NULL) {
		run->failures++;
		return;
	}
	/* DMARC-RPT-13: rua "!size": a bigger report is not sent. */
	if (d->max_size != 0 && len > d->max_size) {
		printf("skip %s -> %s: the report message is %zu bytes, over the destination's "
		       "limit of %llu (rua !size)\n",
		       rp->domain, d->addr, len, (unsigned long long)d->max_size);
		free(msg);
		return;
	}
	unsigned *planned = planned_for(run, d->addr);
	if (run->o->mode == MODE_DRY) {
		printf("send %s -> %s: report %s (%zu bytes, %s)\n", rp->domain, d->addr, rp->id,
		       len, rp->file);
		*planned += 1;
	} else if (run->o->mode == MODE_OUT) {
		char name[4096];
		int n = snprintf(name, sizeof name, "%.*s!%s.eml", (int)(strlen(rp->file) - 7),
				 rp->file, d->addr);
		if (n > 0 && (size_t)n < sizeof name &&
		    write_file(run->o->out_dir, name, msg, len)) {
			printf("wrote %s/%s\n", run->o->out_dir, name);
			*planned += 1;
		} else {
			run->failures++;
		}
	} else {
		bool ok = report_mail_send(run->o->sendmail, run->o->from, d->addr, msg, len);
		/* DMARC-RPT-14: the state goes in the store either way: a failed
		 * one is retried on the next run, a sent one never again. */
		if (report_store_set_state(run->state, rp->id, run->day, d->addr,
					   ok ? REPORT_STATE_SENT : REPORT_STATE_FAILED,
					   &err) != SIGNET_OK) {
			cli_err("%s", err.msg);
			run->failures++;
		}
		if (ok)
			printf("sent %s -> %s: report %s (%zu bytes)\n", rp->domain, d->addr,
			       rp->id, len);
		else
			run->failures++;
	}
	free(msg);
}

static void destination(struct run *run, const struct report *rp, const struct report_dest *d)
{
	char name[600];
	/* DMARC-RPT-11 (RFC 7489 7.1): external destinations need authorization. */
	if (!report_dest_internal(run->psl, rp->domain, d->domain)) {
		switch (authorized(run, rp->domain, d->domain, name, sizeof name)) {
		case AUTH_FOUND: break;
		case AUTH_NOT_FOUND:
			printf("skip %s -> %s: %s has not authorized reports for %s (no v=DMARC1 "
			       "record at %s, RFC 7489 7.1)\n",
			       rp->domain, d->addr, d->domain, rp->domain, name);
			return;
		case AUTH_TEMPERROR:
			printf("skip %s -> %s: temporary DNS error looking up %s; retried on the "
			       "next run\n",
			       rp->domain, d->addr, name);
			return;
		}
	}
	if (due(run, rp, d))
		deliver(run, rp, d);
}

static bool build_xml(struct run *run, const char *domain, struct built *b, char **xml, size_t *len)
{
	struct signet_error err = {0};
	b->f = open_memstream(xml, len);
	if (b->f == NULL) {
		cli_err("out of memory");
		return false;
	}
	enum signet_status st = report_store_rows(run->store, run->day, domain, row_cb, b, &err);
	if (b->head_done)
		report_xml_tail(b->f);
	if (fclose(b->f) != 0 || st != SIGNET_OK) {
		cli_err("%s", st != SIGNET_OK ? err.msg : "out of memory");
		free(*xml);
		*xml = NULL;
		return false;
	}
	return true;
}

static void one_domain(struct run *run, const char *domain)
{
	struct report rp = {.domain = domain};
	struct built b = {.o = run->o};
	char *xml = NULL;
	size_t xmllen = 0;

	if (!safe_name(domain)) {
		printf("skip %s: not a domain name\n", domain);
		return;
	}
	rp.begin = report_store_day_start(run->day);
	rp.end = rp.begin + 86399;
	/* DMARC-RPT-09: one id per domain and day, so a re-run is the same report. */
	snprintf(rp.id, sizeof rp.id, "%s.%s@%s", run->ymd, domain, run->submitter);
	snprintf(rp.file, sizeof rp.file, "%s!%s!%lld!%lld.xml.gz", run->submitter, domain,
		 (long long)rp.begin, (long long)rp.end);
	b.meta = (struct report_meta){run->org_name, run->o->from, rp.id, rp.begin, rp.end, domain};
	if (!build_xml(run, domain, &b, &xml, &xmllen)) {
		run->failures++;
		return;
	}
	if (b.too_big) {
		printf("skip %s: the report is over REPORT_MAIL_MAX_XML bytes\n", domain);
		goto out;
	}
	/* DMARC-RPT-10 (reports.only_authenticated) */
	if (!b.authenticated && !run->o->all_domains) {
		printf("skip %s: no mail that passed SPF or DKIM aligned with it on %s (report "
		       "only on authenticated domains; --all-domains reports on all)\n",
		       domain, run->ymd);
		goto out;
	}
	char inner[720];
	snprintf(inner, sizeof inner, "%.*s", (int)(strlen(rp.file) - 3), rp.file);
	if (!report_gzip(inner, (const uint8_t *)xml, xmllen, &rp.gz, &rp.gzlen)) {
		run->failures++;
		goto out;
	}
	if (run->o->mode == MODE_OUT) {
		if (!write_file(run->o->out_dir, rp.file, rp.gz, rp.gzlen))
			run->failures++;
		else
			printf("wrote %s/%s (%llu messages)\n", run->o->out_dir, rp.file,
			       (unsigned long long)b.messages);
	}
	struct report_dest dests[REPORT_MAIL_MAX_RUA];
	char why[1024] = "";
	size_t nd = report_rua_parse(b.rua, dests, REPORT_MAIL_MAX_RUA, why, sizeof why);
	for (char *save = NULL, *l = strtok_r(why, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		printf("skip %s -> %s\n", domain, l);
	if (nd == 0)
		printf("skip %s: its DMARC record has no usable rua= destination\n", domain);
	for (size_t k = 0; k < nd; k++)
		destination(run, &rp, &dests[k]);
out:
	free(rp.gz);
	free(xml);
}

struct domain_list {
	char **v;
	size_t n;
	bool nomem;
};

static int domain_cb(void *arg, const char *d)
{
	struct domain_list *l = arg;
	char **v = realloc(l->v, (l->n + 1) * sizeof *v);
	char *s = strdup(d);
	if (v == NULL || s == NULL) {
		free(s);
		if (v != NULL)
			l->v = v;
		l->nomem = true;
		return 1;
	}
	l->v = v;
	l->v[l->n++] = s;
	return 0;
}

static int run_day(struct run *run)
{
	struct domain_list l = {0};
	struct signet_error err = {0};
	if (report_store_domains(run->store, run->day, domain_cb, &l, &err) != SIGNET_OK ||
	    l.nomem) {
		cli_err("%s", l.nomem ? "out of memory" : err.msg);
		run->failures++;
	}
	struct redis_url u; /* the server, never the URL: it may hold a password */
	if (l.n == 0 && !l.nomem && run->o->redis && redis_client_parse_url(run->o->redis, &u))
		printf("no DMARC data for %s in redis://%s/%d\n", run->ymd, u.server,
		       run->o->redis_auth ? run->o->redis_auth->db : u.db);
	else if (l.n == 0 && !l.nomem)
		printf("no DMARC data for %s in %s\n", run->ymd, run->o->db);
	explicit_bzero(&u, sizeof u);
	for (size_t k = 0; k < l.n; k++) {
		one_domain(run, l.v[k]);
		free(l.v[k]);
	}
	free(l.v);
	return run->failures ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}

/* --redis: the day's rows copied into a store in a private temporary
 * directory; with --send the sent states go in --db (created if missing:
 * with Redis, signetd does not write it). */
static bool open_redis(struct run *run, const struct rpt_opts *o)
{
	char path[96], why[512];
	uint64_t rows = 0;
	struct signet_error err = {0};
	struct report_store_opts so = {.today = report_store_day((int64_t)time(NULL)),
				       .retention_days = REPORT_STORE_MAX_RETENTION_DAYS};
	snprintf(run->tmpdir, sizeof run->tmpdir, "/tmp/signet-report-XXXXXX");
	if (mkdtemp(run->tmpdir) == NULL) {
		cli_err("cannot create a temporary directory: %s", strerror(errno));
		run->tmpdir[0] = '\0';
		return false;
	}
	snprintf(path, sizeof path, "%s/redis.db", run->tmpdir);
	if (report_store_open(path, &so, &run->store, &err) != SIGNET_OK) {
		cli_err("%s", err.msg);
		return false;
	}
	if (!report_redis_load(o->redis, o->redis_auth, o->redis_timeout, run->day, run->store,
			       &rows, why, sizeof why)) {
		cli_err("%s", why);
		return false;
	}
	run->state = run->store;
	if (o->mode != MODE_SEND)
		return true;
	if (report_store_open(o->db, &so, &run->state, &err) != SIGNET_OK) {
		run->state = NULL;
		cli_err("%s", err.msg);
		return false;
	}
	return true;
}

static void close_stores(struct run *run)
{
	char path[96];
	if (run->state != run->store)
		report_store_close(run->state);
	report_store_close(run->store);
	if (run->tmpdir[0] == '\0')
		return;
	static const char *const files[] = {"redis.db", "redis.db-wal", "redis.db-shm"};
	for (size_t k = 0; k < sizeof files / sizeof *files; k++) {
		snprintf(path, sizeof path, "%s/%s", run->tmpdir, files[k]);
		(void)unlink(path);
	}
	(void)rmdir(run->tmpdir);
}

static bool open_store(struct run *run, const struct rpt_opts *o)
{
	if (o->redis != NULL)
		return open_redis(run, o);
	struct stat st;
	struct signet_error err = {0};
	/* Pruning is signetd's (reports.retention_days): keep everything here. */
	struct report_store_opts so = {.today = report_store_day((int64_t)time(NULL)),
				       .retention_days = REPORT_STORE_MAX_RETENTION_DAYS,
				       .read_only = o->mode != MODE_SEND};
	/* The store is signetd's: never create an empty one here. */
	if (stat(o->db, &st) != 0) {
		cli_err("no report store at %s: %s (signetd writes it when dmarc.reports.enabled "
			"is true)",
			o->db, strerror(errno));
		return false;
	}
	if (report_store_open(o->db, &so, &run->store, &err) != SIGNET_OK) {
		cli_err("%s", err.msg);
		return false;
	}
	run->state = run->store;
	return true;
}

/* Without a list, destinations above the domain (its organizational
 * domain's addresses) need an authorization record too: stricter, never
 * laxer. */
static struct signet_psl *load_psl(const char *path)
{
	char why[PATH_MAX + 128];
	bool unreadable;
	if (path == NULL || path[0] == '\0')
		return NULL;
	struct signet_psl *psl = conf_psl_load(path, &unreadable, why, sizeof why);
	if (psl == NULL)
		cli_warn("public suffix list %s: %s; only the policy domain and its subdomains "
			 "count as its own destinations",
			 path, why);
	return psl;
}

static int report_run(struct rpt_opts *o_);

int cmd_dmarc_report(int argc, char **argv)
{
	struct rpt_opts o;
	int rc = parse_opts(argc, argv, &o);
	if (rc >= 0) {
		config_free(o.cfg);
		return rc;
	}
	if (o.reports_off) {
		printf("DMARC reports are off (dmarc.reports.enabled is false in %s): nothing to "
		       "do\n",
		       o.config);
		config_free(o.cfg);
		return cli_flush_stdout() ? CLI_EXIT_OK : CLI_EXIT_FAIL;
	}
	rc = report_run(&o);
	config_free(o.cfg);
	return rc;
}

static int report_run(struct rpt_opts *o_)
{
	struct rpt_opts o = *o_;
	int rc;
	struct run run = {.o = o_};
	if (o.day != NULL && !parse_day(o.day, &run.day))
		return cli_usage_error("dmarc report", usage, "--day '%s' is not a YYYY-MM-DD date",
				       o.day);
	if (o.day == NULL)
		run.day = report_store_day((int64_t)time(NULL)) - 1;
	time_t t = (time_t)report_store_day_start(run.day);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(run.ymd, sizeof run.ymd, "%Y-%m-%d", &tm);
	run.submitter = strrchr(o.from, '@') + 1;
	run.org_name = o.org_name ? o.org_name : run.submitter;
	if (!safe_name(run.submitter))
		return cli_usage_error("dmarc report", usage,
				       "--from '%s': the domain is not a "
				       "domain name",
				       o.from);
	if (o.zone != NULL && (run.zone = zonefile_load(o.zone, "zone file")) == NULL)
		return CLI_EXIT_FAIL;
	if (o.zone == NULL && (run.r = dns_open(o.server)) == NULL)
		return CLI_EXIT_FAIL;
	run.psl = load_psl(o.psl);
	rc = CLI_EXIT_FAIL;
	if (open_store(&run, &o))
		rc = run_day(&run);
	close_stores(&run);
	zonefile_free(run.zone);
	signet_psl_free(run.psl);
	if (run.r)
		dns_close(run.r);
	free(run.planned);
	if (!cli_flush_stdout())
		rc = CLI_EXIT_FAIL;
	return rc;
}
