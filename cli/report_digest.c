/* report_digest.c: counts the reports added (per organisation and source
 * IP, per day), judges each source once (what to fix) and renders the
 * result as text, JSON or a self-contained HTML page. It reads no file. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cli.h"
#include "report_digest.h"

struct entry {
	struct report *r;
	char *origin;
};

struct note_pair {
	char *origin, *text; /* skipped: origin, why; duplicate: origin, first */
};

struct digest {
	struct entry *e;
	size_t n, cap;
	struct note_pair *skip, *dup;
	size_t nskip, capskip, ndup, capdup;
};

/* Up to DIGEST_MAX_NAMES distinct (a, b) pairs, borrowed from the reports. */
struct names {
	const char *a[DIGEST_MAX_NAMES], *b[DIGEST_MAX_NAMES];
	size_t n;
	size_t more; /* distinct pairs beyond the first DIGEST_MAX_NAMES */
};

enum disp { DISP_NONE, DISP_QUARANTINE, DISP_REJECT, DISP_PASS, DISP_OTHER, DISP_N };
static const char *const disp_names[DISP_N] = {"none", "quarantine", "reject", "pass", "other"};

struct source {
	const char *org, *ip;
	uint64_t messages, dkim_pass, spf_pass, dmarc_pass;
	uint64_t disp[DISP_N];
	struct names from, dkim, spf;
};

/* The judgments: one finding per kind per (From domain, source IP). */
enum fix_kind { FIX_NOT_ALIGNED, FIX_UNKNOWN, FIX_SPOOF, FIX_SPF_ONLY, FIX_FORWARDED, FIX_N };
static const char *const fix_names[] = {"not-aligned", "unknown-source", "spoofing", "spf-only",
					"forwarded"};

struct fix {
	enum fix_kind kind;
	const char *domain, *ip, *p;
	uint64_t messages;
	struct names seen; /* what passed unaligned (FIX_NOT_ALIGNED), the overrides
			    * (FIX_FORWARDED) */
};

struct day {
	int64_t day; /* unix day (UTC) of a report's begin */
	uint64_t pass, fail;
};

struct view {
	struct source *src;
	size_t nsrc, norgs;
	struct fix *fix;
	size_t nfix;
	struct day *days;
	size_t ndays;
	uint64_t messages, dmarc_pass, dkim_pass, spf_pass, begin, end;
};

struct ref {
	const struct report *r;
	const struct report_record *rec;
};

static bool grow(void **p, size_t *cap, size_t n, size_t size)
{
	void *q;
	size_t c;

	if (n < *cap)
		return true;
	c = *cap ? *cap * 2 : 16;
	q = realloc(*p, c * size);
	if (q == NULL)
		return false;
	*p = q;
	*cap = c;
	return true;
}

struct digest *digest_new(void)
{
	return calloc(1, sizeof(struct digest));
}

static void free_pairs(struct note_pair *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(p[i].origin);
		free(p[i].text);
	}
	free(p);
}

void digest_free(struct digest *d)
{
	if (d == NULL)
		return;
	for (size_t i = 0; i < d->n; i++) {
		report_free(d->e[i].r);
		free(d->e[i].origin);
	}
	free(d->e);
	free_pairs(d->skip, d->nskip);
	free_pairs(d->dup, d->ndup);
	free(d);
}

static bool add_pair(struct note_pair **p, size_t *n, size_t *cap, const char *a, const char *b)
{
	char *x, *y;

	if (!grow((void **)p, cap, *n, sizeof(**p)))
		return false;
	x = strdup(a);
	y = strdup(b);
	if (x == NULL || y == NULL) {
		free(x);
		free(y);
		return false;
	}
	(*p)[*n].origin = x;
	(*p)[(*n)++].text = y;
	return true;
}

bool digest_skipped(struct digest *d, const char *origin, const char *why)
{
	return add_pair(&d->skip, &d->nskip, &d->capskip, origin, why);
}

enum digest_added digest_add(struct digest *d, struct report *r, const char *origin,
			     const char **first)
{
	char *o;

	for (size_t i = 0; i < d->n; i++) {
		const struct report *s = d->e[i].r;
		if (strcmp(s->org_name, r->org_name) == 0 &&
		    strcmp(s->report_id, r->report_id) == 0) {
			*first = d->e[i].origin;
			report_free(r);
			return add_pair(&d->dup, &d->ndup, &d->capdup, origin, *first)
				       ? DIGEST_DUPLICATE
				       : DIGEST_NOMEM;
		}
	}
	o = strdup(origin);
	if (o == NULL || !grow((void **)&d->e, &d->cap, d->n, sizeof(*d->e))) {
		free(o);
		report_free(r);
		return DIGEST_NOMEM;
	}
	d->e[d->n].r = r;
	d->e[d->n++].origin = o;
	return DIGEST_ADDED;
}

/* ---- counting ---- */

static int cmp_str(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "");
}

static void names_add(struct names *ns, const char *a, const char *b)
{
	if (a == NULL || a[0] == '\0')
		return;
	for (size_t i = 0; i < ns->n; i++)
		if (strcasecmp(ns->a[i], a) == 0 && cmp_str(ns->b[i], b) == 0)
			return;
	if (ns->n == DIGEST_MAX_NAMES) {
		ns->more++;
		return;
	}
	ns->a[ns->n] = a;
	ns->b[ns->n++] = b;
}

static enum disp disp_of(const char *s)
{
	for (int i = 0; i < DISP_OTHER; i++)
		if (s != NULL && strcasecmp(s, disp_names[i]) == 0)
			return (enum disp)i;
	return DISP_OTHER;
}

static const char *from_domain(const struct ref *x)
{
	return x->rec->header_from && x->rec->header_from[0] ? x->rec->header_from : x->r->domain;
}

static int cmp_org_ip(const void *a, const void *b)
{
	const struct ref *x = a, *y = b;
	int c = strcmp(x->r->org_name, y->r->org_name);
	return c ? c : strcmp(x->rec->source_ip, y->rec->source_ip);
}

static int cmp_domain_ip(const void *a, const void *b)
{
	const struct ref *x = a, *y = b;
	int c = strcasecmp(from_domain(x) ? from_domain(x) : "",
			   from_domain(y) ? from_domain(y) : "");
	return c ? c : strcmp(x->rec->source_ip, y->rec->source_ip);
}

static bool dmarc_pass(const struct report_record *rec)
{
	return rec->dkim_aligned || rec->spf_aligned;
}

static void source_add(struct source *s, const struct report_record *rec)
{
	s->messages += rec->count;
	s->dkim_pass += rec->dkim_aligned ? rec->count : 0;
	s->spf_pass += rec->spf_aligned ? rec->count : 0;
	s->dmarc_pass += dmarc_pass(rec) ? rec->count : 0;
	s->disp[disp_of(rec->disposition)] += rec->count;
	names_add(&s->from, rec->header_from, NULL);
	for (size_t i = 0; i < rec->nauth; i++) {
		const struct report_auth *a = &rec->auth[i];
		if (a->is_dkim)
			names_add(&s->dkim, a->domain, a->selector);
		else
			names_add(&s->spf, a->domain, NULL);
	}
}

static bool count_sources(struct view *v, struct ref *refs, size_t n)
{
	qsort(refs, n, sizeof(*refs), cmp_org_ip);
	v->src = calloc(n ? n : 1, sizeof(*v->src));
	if (v->src == NULL)
		return false;
	for (size_t i = 0; i < n; i++) {
		struct source *s = v->nsrc ? &v->src[v->nsrc - 1] : NULL;
		if (s == NULL || strcmp(s->org, refs[i].r->org_name) != 0 ||
		    strcmp(s->ip, refs[i].rec->source_ip) != 0) {
			if (s == NULL || strcmp(s->org, refs[i].r->org_name) != 0)
				v->norgs++;
			s = &v->src[v->nsrc++];
			s->org = refs[i].r->org_name;
			s->ip = refs[i].rec->source_ip;
		}
		source_add(s, refs[i].rec);
	}
	return true;
}

/* The policy the domain's owner published, from the newest report about it. */
static const char *policy_of(const struct digest *d, const char *domain)
{
	const struct report *best = NULL;

	for (size_t i = 0; i < d->n; i++) {
		const struct report *r = d->e[i].r;
		if (r->p && r->domain && domain && strcasecmp(r->domain, domain) == 0 &&
		    (best == NULL || r->begin >= best->begin))
			best = r;
	}
	return best ? best->p : NULL;
}

/* RFC 7489 Appendix C PolicyOverrideType: the receiver says the failure
 * comes from forwarding, which the domain's owner cannot fix. */
static bool forwarded(const struct report_record *rec, struct names *seen)
{
	static const char *const kinds[] = {"forwarded", "mailing_list", "trusted_forwarder"};

	for (size_t i = 0; rec->override && i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strcasecmp(rec->override, kinds[i]) == 0) {
			names_add(seen, rec->override, NULL);
			return true;
		}
	return false;
}

static bool any_pass(const struct report_record *rec, struct names *seen)
{
	bool yes = false;

	for (size_t i = 0; i < rec->nauth; i++)
		if (rec->auth[i].result && strcasecmp(rec->auth[i].result, "pass") == 0) {
			names_add(seen, rec->auth[i].domain, rec->auth[i].is_dkim ? "dkim" : "spf");
			yes = true;
		}
	return yes;
}

/* One group (From domain, IP): counts each kind of finding. */
static void judge_group(const struct digest *d, struct view *v, const struct ref *g, size_t n)
{
	struct fix f[FIX_N] = {{0}};

	for (int k = 0; k < FIX_N; k++) {
		f[k].kind = (enum fix_kind)k;
		f[k].domain = from_domain(&g[0]);
		f[k].ip = g[0].rec->source_ip;
		f[k].p = policy_of(d, f[k].domain);
	}
	for (size_t i = 0; i < n; i++) {
		const struct report_record *rec = g[i].rec;
		if (rec->spf_aligned && !rec->dkim_aligned)
			f[FIX_SPF_ONLY].messages += rec->count;
		else if (!dmarc_pass(rec) && forwarded(rec, &f[FIX_FORWARDED].seen))
			f[FIX_FORWARDED].messages += rec->count;
		else if (!dmarc_pass(rec) && any_pass(rec, &f[FIX_NOT_ALIGNED].seen))
			f[FIX_NOT_ALIGNED].messages += rec->count;
		else if (!dmarc_pass(rec))
			f[FIX_UNKNOWN].messages += rec->count;
	}
	/* Failing both with nothing passing, in volume: not a source of yours. */
	if (f[FIX_UNKNOWN].messages >= DIGEST_SPOOF_MIN_MESSAGES) {
		f[FIX_SPOOF].messages = f[FIX_UNKNOWN].messages;
		f[FIX_UNKNOWN].messages = 0;
	}
	for (int k = 0; k < FIX_N; k++)
		if (f[k].messages > 0)
			v->fix[v->nfix++] = f[k];
}

static int cmp_fix(const void *a, const void *b)
{
	const struct fix *x = a, *y = b;

	if (x->messages != y->messages)
		return x->messages > y->messages ? -1 : 1;
	return x->kind != y->kind ? (int)x->kind - (int)y->kind : strcmp(x->ip, y->ip);
}

static bool judge(const struct digest *d, struct view *v, struct ref *refs, size_t n)
{
	size_t i = 0;

	qsort(refs, n, sizeof(*refs), cmp_domain_ip);
	v->fix = calloc(FIX_N * n + 1, sizeof(*v->fix));
	if (v->fix == NULL)
		return false;
	while (i < n) {
		size_t j = i + 1;
		while (j < n && cmp_domain_ip(&refs[i], &refs[j]) == 0)
			j++;
		judge_group(d, v, &refs[i], j - i);
		i = j;
	}
	qsort(v->fix, v->nfix, sizeof(*v->fix), cmp_fix);
	return true;
}

static int cmp_day(const void *a, const void *b)
{
	const struct day *x = a, *y = b;
	return x->day < y->day ? -1 : x->day > y->day;
}

/* Each report's messages go to the UTC day its date range begins. */
static bool count_days(const struct digest *d, struct view *v)
{
	v->days = calloc(d->n + 1, sizeof(*v->days));
	if (v->days == NULL)
		return false;
	for (size_t i = 0; i < d->n; i++) {
		const struct report *r = d->e[i].r;
		int64_t day = (int64_t)(r->begin / 86400);
		size_t k = 0;
		while (k < v->ndays && v->days[k].day != day)
			k++;
		if (k == v->ndays)
			v->days[v->ndays++].day = day;
		for (size_t j = 0; j < r->nrecords; j++) {
			uint64_t c = r->records[j].count;
			if (dmarc_pass(&r->records[j]))
				v->days[k].pass += c;
			else
				v->days[k].fail += c;
		}
	}
	qsort(v->days, v->ndays, sizeof(*v->days), cmp_day);
	return true;
}

static void view_free(struct view *v)
{
	free(v->src);
	free(v->fix);
	free(v->days);
}

static bool view_make(const struct digest *d, struct view *v)
{
	size_t n = 0, k = 0;
	struct ref *refs;
	bool ok;

	memset(v, 0, sizeof(*v));
	for (size_t i = 0; i < d->n; i++)
		n += d->e[i].r->nrecords;
	refs = calloc(n ? n : 1, sizeof(*refs));
	if (refs == NULL)
		return false;
	for (size_t i = 0; i < d->n; i++) {
		const struct report *r = d->e[i].r;
		v->begin = i == 0 || r->begin < v->begin ? r->begin : v->begin;
		v->end = i == 0 || r->end > v->end ? r->end : v->end;
		for (size_t j = 0; j < r->nrecords; j++) {
			const struct report_record *rec = &r->records[j];
			refs[k].r = r;
			refs[k++].rec = rec;
			v->messages += rec->count;
			v->dkim_pass += rec->dkim_aligned ? rec->count : 0;
			v->spf_pass += rec->spf_aligned ? rec->count : 0;
			v->dmarc_pass += dmarc_pass(rec) ? rec->count : 0;
		}
	}
	ok = count_sources(v, refs, n) && judge(d, v, refs, n) && count_days(d, v);
	free(refs);
	if (!ok)
		view_free(v);
	return ok;
}

/* ---- words ---- */

static const char *date(uint64_t t, char buf[static 32])
{
	time_t tt = (time_t)(t > (uint64_t)INT64_MAX / 2 ? (uint64_t)INT64_MAX / 2 : t);
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL || strftime(buf, 32, "%Y-%m-%d", &tm) == 0)
		snprintf(buf, 32, "%llu", (unsigned long long)t);
	return buf;
}

static void names_text(FILE *f, const struct names *ns, const char *sep)
{
	if (ns->n == 0)
		fputs("-", f);
	for (size_t i = 0; i < ns->n; i++) {
		fprintf(f, "%s%s", i ? ", " : "", ns->a[i]);
		if (ns->b[i] && ns->b[i][0])
			fprintf(f, "%s%s", sep, ns->b[i]);
	}
	if (ns->more)
		fprintf(f, " (+%zu more)", ns->more);
}

/* The plain-words advice of one finding (same text in every rendering). */
static void fix_words(FILE *f, const struct fix *x)
{
	const char *p = x->p ? x->p : "unknown";
	unsigned long long m = (unsigned long long)x->messages;
	const char *ms = cli_plural(x->messages, "message", "messages");

	switch (x->kind) {
	case FIX_NOT_ALIGNED:
		fprintf(f,
			"%s sends as %s and fails DMARC (%llu %s); it passes only unaligned "
			"(",
			x->ip, x->domain, m, ms);
		names_text(f, &x->seen, " ");
		fprintf(f,
			"): if it is yours, add it to SPF or sign its mail with d=%s; if it is "
			"a forwarder or mailing list, there is nothing to fix",
			x->domain);
		break;
	case FIX_UNKNOWN:
		fprintf(f,
			"%s sends as %s and fails SPF and DKIM (%llu %s): if it is yours, "
			"add "
			"it to SPF or sign its mail; if not, it is spoofing",
			x->ip, x->domain, m, ms);
		break;
	case FIX_SPOOF:
		if (strcasecmp(p, "reject") == 0)
			fprintf(f,
				"%s looks like spoofing of %s (%llu %s fail SPF and DKIM): "
				"nothing to fix, your policy is working (p=reject)",
				x->ip, x->domain, m, ms);
		else
			fprintf(f,
				"%s looks like spoofing of %s (%llu %s fail SPF and DKIM): "
				"once your own sources pass, p=reject stops it (now p=%s)",
				x->ip, x->domain, m, ms, p);
		break;
	case FIX_FORWARDED:
		fprintf(f,
			"%s sends as %s and fails DMARC (%llu %s), but the receiver judged it "
			"forwarded (",
			x->ip, x->domain, m, ms);
		names_text(f, &x->seen, "");
		fputs("): nothing to fix", f);
		break;
	case FIX_N: break;
	case FIX_SPF_ONLY:
		fprintf(f,
			"%s passes SPF but does not sign aligned (%llu %s): sign its mail "
			"with DKIM (d=%s); SPF alone fails when mail is forwarded",
			x->ip, m, ms, x->domain);
		break;
	}
}

/* ---- text ---- */

static void text_source(FILE *f, const struct source *s)
{
	fprintf(f,
		"  %s: %llu %s; DKIM aligned %llu pass, %llu fail; SPF aligned %llu pass, "
		"%llu fail; disposition",
		s->ip, (unsigned long long)s->messages,
		cli_plural(s->messages, "message", "messages"), (unsigned long long)s->dkim_pass,
		(unsigned long long)(s->messages - s->dkim_pass), (unsigned long long)s->spf_pass,
		(unsigned long long)(s->messages - s->spf_pass));
	for (int i = 0; i < DISP_N; i++)
		if (s->disp[i])
			fprintf(f, " %s %llu", disp_names[i], (unsigned long long)s->disp[i]);
	fputs("\n    From ", f);
	names_text(f, &s->from, "");
	fputs("; DKIM ", f);
	names_text(f, &s->dkim, " s=");
	fputs("; SPF ", f);
	names_text(f, &s->spf, "");
	fputc('\n', f);
}

static size_t reports_of(const struct digest *d, const char *org)
{
	size_t n = 0;

	for (size_t i = 0; i < d->n; i++)
		n += strcmp(d->e[i].r->org_name, org) == 0;
	return n;
}

bool digest_text(const struct digest *d, FILE *f)
{
	struct view v;
	char b1[32], b2[32];

	if (!view_make(d, &v))
		return false;
	fprintf(f, "%zu %s from %zu %s", d->n, cli_plural(d->n, "report", "reports"), v.norgs,
		cli_plural(v.norgs, "organisation", "organisations"));
	if (d->n)
		fprintf(f, ", %s to %s (UTC)", date(v.begin, b1), date(v.end, b2));
	fprintf(f,
		": %llu messages, DMARC pass %llu, fail %llu (DKIM aligned pass %llu, SPF "
		"aligned pass %llu)\n",
		(unsigned long long)v.messages, (unsigned long long)v.dmarc_pass,
		(unsigned long long)(v.messages - v.dmarc_pass), (unsigned long long)v.dkim_pass,
		(unsigned long long)v.spf_pass);
	if (d->ndup)
		fprintf(f, "%zu duplicate %s counted once\n", d->ndup,
			cli_plural(d->ndup, "report", "reports"));
	if (d->nskip)
		fprintf(f, "%zu %s skipped (see the messages above)\n", d->nskip,
			cli_plural(d->nskip, "input", "inputs"));
	for (size_t i = 0; i < v.nsrc; i++) {
		if (i == 0 || strcmp(v.src[i].org, v.src[i - 1].org) != 0) {
			size_t nr = reports_of(d, v.src[i].org);
			fprintf(f, "\n%s (%zu %s)\n", v.src[i].org, nr,
				cli_plural(nr, "report", "reports"));
		}
		text_source(f, &v.src[i]);
	}
	fputs("\nWhat to fix\n", f);
	if (v.nsrc == 0)
		fputs("  nothing to judge: no report was read\n", f);
	else if (v.nfix == 0)
		fputs("  nothing: every source passes DKIM aligned\n", f);
	for (size_t i = 0; i < v.nfix; i++) {
		fputs("  - ", f);
		fix_words(f, &v.fix[i]);
		fputc('\n', f);
	}
	view_free(&v);
	return true;
}

/* ---- JSON ---- */

static void json_names(FILE *f, const struct names *ns, const char *ka, const char *kb)
{
	fputc('[', f);
	for (size_t i = 0; i < ns->n; i++) {
		fputs(i ? "," : "", f);
		if (kb == NULL) {
			json_string(f, ns->a[i]);
			continue;
		}
		fprintf(f, "{\"%s\":", ka);
		json_string(f, ns->a[i]);
		fprintf(f, ",\"%s\":", kb);
		if (ns->b[i])
			json_string(f, ns->b[i]);
		else
			fputs("null", f);
		fputc('}', f);
	}
	fputc(']', f);
}

static void json_report(FILE *f, const struct entry *e)
{
	const struct report *r = e->r;

	fputs("{\"file\":", f);
	json_string(f, e->origin);
	fputs(",\"org\":", f);
	json_string(f, r->org_name);
	fputs(",\"report_id\":", f);
	json_string(f, r->report_id);
	fputs(",\"domain\":", f);
	json_string(f, r->domain ? r->domain : "");
	fputs(",\"p\":", f);
	json_string(f, r->p ? r->p : "");
	fprintf(f,
		",\"format\":\"%s\",\"begin\":%llu,\"end\":%llu,\"records\":%zu,\"messages\":%llu,"
		"\"notes\":[",
		r->format == REPORT_RFC9990 ? "rfc9990" : "rfc7489", (unsigned long long)r->begin,
		(unsigned long long)r->end, r->nrecords, (unsigned long long)r->messages);
	for (size_t i = 0; i < r->nnotes; i++) {
		fputs(i ? "," : "", f);
		json_string(f, r->notes[i]);
	}
	fputs("]}", f);
}

static void json_source(FILE *f, const struct source *s)
{
	fputs("{\"org\":", f);
	json_string(f, s->org);
	fputs(",\"ip\":", f);
	json_string(f, s->ip);
	fprintf(f,
		",\"messages\":%llu,\"dmarc_pass\":%llu,\"dkim_pass\":%llu,\"dkim_fail\":%llu,"
		"\"spf_pass\":%llu,\"spf_fail\":%llu,\"dispositions\":{",
		(unsigned long long)s->messages, (unsigned long long)s->dmarc_pass,
		(unsigned long long)s->dkim_pass, (unsigned long long)(s->messages - s->dkim_pass),
		(unsigned long long)s->spf_pass, (unsigned long long)(s->messages - s->spf_pass));
	for (int i = 0, k = 0; i < DISP_N; i++)
		if (s->disp[i])
			fprintf(f, "%s\"%s\":%llu", k++ ? "," : "", disp_names[i],
				(unsigned long long)s->disp[i]);
	fputs("},\"header_from\":", f);
	json_names(f, &s->from, NULL, NULL);
	fputs(",\"dkim\":", f);
	json_names(f, &s->dkim, "domain", "selector");
	fputs(",\"spf\":", f);
	json_names(f, &s->spf, NULL, NULL);
	fprintf(f, ",\"names_not_listed\":%zu}", s->from.more + s->dkim.more + s->spf.more);
}

static void json_fix(FILE *f, const struct fix *x)
{
	char *words = NULL;
	size_t wlen = 0;
	FILE *m = open_memstream(&words, &wlen);

	if (m != NULL) {
		fix_words(m, x);
		fclose(m);
	}
	fprintf(f, "{\"kind\":\"%s\",\"domain\":", fix_names[x->kind]);
	json_string(f, x->domain ? x->domain : "");
	fputs(",\"ip\":", f);
	json_string(f, x->ip);
	fprintf(f, ",\"messages\":%llu,\"p\":", (unsigned long long)x->messages);
	json_string(f, x->p ? x->p : "");
	fputs(",\"advice\":", f);
	json_string(f, words ? words : "");
	fputc('}', f);
	free(words);
}

static void json_pairs(FILE *f, const struct note_pair *p, size_t n, const char *kb)
{
	fputc('[', f);
	for (size_t i = 0; i < n; i++) {
		fputs(i ? ",{\"file\":" : "{\"file\":", f);
		json_string(f, p[i].origin);
		fprintf(f, ",\"%s\":", kb);
		json_string(f, p[i].text);
		fputc('}', f);
	}
	fputc(']', f);
}

bool digest_json(const struct digest *d, FILE *f)
{
	struct view v;

	if (!view_make(d, &v))
		return false;
	fprintf(f,
		"{\"reports_read\":%zu,\"organisations\":%zu,\"messages\":%llu,\"dmarc_pass\":%llu,"
		"\"dkim_pass\":%llu,\"spf_pass\":%llu,\"begin\":%llu,\"end\":%llu,\"reports\":[",
		d->n, v.norgs, (unsigned long long)v.messages, (unsigned long long)v.dmarc_pass,
		(unsigned long long)v.dkim_pass, (unsigned long long)v.spf_pass,
		(unsigned long long)v.begin, (unsigned long long)v.end);
	for (size_t i = 0; i < d->n; i++) {
		fputs(i ? "," : "", f);
		json_report(f, &d->e[i]);
	}
	fputs("],\"sources\":[", f);
	for (size_t i = 0; i < v.nsrc; i++) {
		fputs(i ? "," : "", f);
		json_source(f, &v.src[i]);
	}
	fputs("],\"days\":[", f);
	for (size_t i = 0; i < v.ndays; i++) {
		char b[32];
		fprintf(f, "%s{\"day\":\"%s\",\"pass\":%llu,\"fail\":%llu}", i ? "," : "",
			date((uint64_t)v.days[i].day * 86400, b),
			(unsigned long long)v.days[i].pass, (unsigned long long)v.days[i].fail);
	}
	fputs("],\"fix\":[", f);
	for (size_t i = 0; i < v.nfix; i++) {
		fputs(i ? "," : "", f);
		json_fix(f, &v.fix[i]);
	}
	fputs("],\"duplicates\":", f);
	json_pairs(f, d->dup, d->ndup, "first");
	fputs(",\"skipped\":", f);
	json_pairs(f, d->skip, d->nskip, "why");
	fputs("}\n", f);
	view_free(&v);
	return true;
}

/* ---- HTML ---- */

static void html_esc(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&#39;", f); break;
		default: fputc(*s, f);
		}
	}
}

static void html_names(FILE *f, const struct names *ns, const char *sep)
{
	char *t = NULL;
	size_t tl = 0;
	FILE *m = open_memstream(&t, &tl);

	if (m == NULL)
		return;
	names_text(m, ns, sep);
	fclose(m);
	html_esc(f, t);
	free(t);
}

static const char html_head[] =
	"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
	"<title>DMARC aggregate reports</title>\n<style>\n"
	"body{font-family:sans-serif;margin:2em;color:#222;background:#fff}\n"
	"table{border-collapse:collapse;font-size:90%}\n"
	"th,td{border:1px solid #bbb;padding:3px 6px;text-align:left;vertical-align:top}\n"
	"th{background:#e8e8f0}td.n{text-align:right}\n"
	".pass{fill:#2e8b3d;color:#2e8b3d}.fail{fill:#c62828;color:#c62828}\n"
	"li{margin:.3em 0}\n</style></head><body>\n";

/* A stacked bar per day with data: pass (green) below fail (red). */
static void html_chart(FILE *f, const struct view *v)
{
	size_t first = v->ndays > DIGEST_CHART_MAX_DAYS ? v->ndays - DIGEST_CHART_MAX_DAYS : 0;
	size_t n = v->ndays - first;
	uint64_t max = 1;
	const int w = 960, h = 220, top = 10, base = 230;
	double bw = n ? (double)(w - 40) / (double)n : 0;

	bw = bw > 48 ? 48 : bw; /* a few days: bars, not blocks */
	char b[32];

	for (size_t i = first; i < v->ndays; i++)
		max = v->days[i].pass + v->days[i].fail > max ? v->days[i].pass + v->days[i].fail
							      : max;
	fprintf(f,
		"<h2>Pass and fail per day</h2>\n<svg xmlns=\"http://www.w3.org/2000/svg\" "
		"width=\"%d\" height=\"%d\" role=\"img\">\n",
		w, base + 40);
	fprintf(f, "<line x1=\"30\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#444\"/>\n", base, w,
		base);
	fprintf(f, "<text x=\"0\" y=\"%d\" font-size=\"11\">%llu</text>\n", top + 10,
		(unsigned long long)max);
	for (size_t i = first; i < v->ndays; i++) {
		const struct day *d = &v->days[i];
		double x = 35 + bw * (double)(i - first);
		double hp = (double)h * (double)d->pass / (double)max;
		double hf = (double)h * (double)d->fail / (double)max;
		date((uint64_t)d->day * 86400, b);
		fprintf(f,
			"<g><title>%s: %llu pass, %llu fail</title>"
			"<rect class=\"pass\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
			"height=\"%.1f\"/>"
			"<rect class=\"fail\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
			"height=\"%.1f\"/>"
			"</g>\n",
			b, (unsigned long long)d->pass, (unsigned long long)d->fail, x, base - hp,
			bw * 0.8, hp, x, base - hp - hf, bw * 0.8, hf);
		if (i == first)
			fprintf(f, "<text x=\"%.1f\" y=\"%d\" font-size=\"11\">%s</text>\n", x,
				base + 15, b);
		else if (i + 1 == v->ndays) /* right-aligned: stays inside the chart */
			fprintf(f,
				"<text x=\"%.1f\" y=\"%d\" font-size=\"11\" "
				"text-anchor=\"end\">%s</text>\n",
				x + bw * 0.8, base + 30, b);
	}
	if (first > 0)
		fprintf(f, "<p>The last %d days with data are shown (%zu in all).</p>\n",
			DIGEST_CHART_MAX_DAYS, v->ndays);
	fputs("</svg>\n<p><span class=\"pass\">&#9632; DMARC pass</span> "
	      "<span class=\"fail\">&#9632; DMARC fail</span> (messages per report day, UTC)</p>\n",
	      f);
}

static void html_sources(FILE *f, const struct view *v)
{
	fputs("<h2>Sources</h2>\n<table><tr><th>Reporter</th><th>Source IP</th><th>Messages</th>"
	      "<th>DKIM aligned pass/fail</th><th>SPF aligned pass/fail</th><th>Disposition</th>"
	      "<th>From</th><th>DKIM domains (selector)</th><th>SPF domains</th></tr>\n",
	      f);
	for (size_t i = 0; i < v->nsrc; i++) {
		const struct source *s = &v->src[i];
		fputs("<tr><td>", f);
		html_esc(f, s->org);
		fputs("</td><td>", f);
		html_esc(f, s->ip);
		fprintf(f,
			"</td><td class=\"n\">%llu</td><td class=\"n\">%llu / %llu</td>"
			"<td class=\"n\">%llu / %llu</td><td>",
			(unsigned long long)s->messages, (unsigned long long)s->dkim_pass,
			(unsigned long long)(s->messages - s->dkim_pass),
			(unsigned long long)s->spf_pass,
			(unsigned long long)(s->messages - s->spf_pass));
		for (int k = 0; k < DISP_N; k++)
			if (s->disp[k])
				fprintf(f, "%s %llu ", disp_names[k],
					(unsigned long long)s->disp[k]);
		fputs("</td><td>", f);
		html_names(f, &s->from, "");
		fputs("</td><td>", f);
		html_names(f, &s->dkim, " s=");
		fputs("</td><td>", f);
		html_names(f, &s->spf, "");
		fputs("</td></tr>\n", f);
	}
	fputs("</table>\n", f);
}

static void html_fixes(FILE *f, const struct digest *d, const struct view *v)
{
	fputs("<h2>What to fix</h2>\n<ul>\n", f);
	if (v->nsrc == 0)
		fputs("<li>Nothing to judge: no report was read.</li>\n", f);
	else if (v->nfix == 0)
		fputs("<li>Nothing: every source passes DKIM aligned.</li>\n", f);
	for (size_t i = 0; i < v->nfix; i++) {
		char *t = NULL;
		size_t tl = 0;
		FILE *m = open_memstream(&t, &tl);
		if (m == NULL)
			continue;
		fix_words(m, &v->fix[i]);
		fclose(m);
		fputs("<li>", f);
		html_esc(f, t);
		fputs("</li>\n", f);
		free(t);
	}
	fputs("</ul>\n", f);
	if (d->nskip == 0)
		return;
	fputs("<h2>Not read</h2>\n<ul>\n", f);
	for (size_t i = 0; i < d->nskip; i++) {
		fputs("<li>", f);
		html_esc(f, d->skip[i].origin);
		fputs(": ", f);
		html_esc(f, d->skip[i].text);
		fputs("</li>\n", f);
	}
	fputs("</ul>\n", f);
}

bool digest_html(const struct digest *d, FILE *f)
{
	struct view v;
	char b1[32], b2[32];

	if (!view_make(d, &v))
		return false;
	fputs(html_head, f);
	fprintf(f, "<h1>DMARC aggregate reports</h1>\n<p>%zu %s from %zu %s", d->n,
		cli_plural(d->n, "report", "reports"), v.norgs,
		cli_plural(v.norgs, "organisation", "organisations"));
	if (d->n)
		fprintf(f, ", %s to %s (UTC)", date(v.begin, b1), date(v.end, b2));
	fprintf(f,
		": %llu messages, <span class=\"pass\">%llu pass</span>, "
		"<span class=\"fail\">%llu fail</span> DMARC.</p>\n",
		(unsigned long long)v.messages, (unsigned long long)v.dmarc_pass,
		(unsigned long long)(v.messages - v.dmarc_pass));
	html_chart(f, &v);
	html_fixes(f, d, &v);
	html_sources(f, &v);
	fputs("</body></html>\n", f);
	view_free(&v);
	return true;
}
