/* report_fill.c: a test-only program (not installed, not a signet
 * subcommand) that puts DMARC observations into a report store through
 * conf/report_store.h, the way signetd's writer does, so that
 * tests/integration/test_dmarc_report.py can run `signet dmarc report`
 * on known data.
 *
 *   report_fill DBFILE < OBS.tsv
 *
 * One observation per line, tab-separated, '-' for an absent field:
 *   day(YYYY-MM-DD) policy_domain source_ip header_from envelope_from
 *   envelope_to dkim(d:s:r[,d:s:r...]) spf_domain spf_scope spf_result
 *   dmarc_result dkim_aligned(0|1) spf_aligned(0|1) disposition
 *   override_type override_comment p sp np adkim aspf testing(y|n) pct
 *   rua count
 * Lines starting with '#' are comments. Exit 0, or 1 with the line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "report_store.h"

#define NCOLS 24

static const char *opt(char *s)
{
	return strcmp(s, "-") == 0 ? NULL : s;
}

static int64_t day_of(const char *s)
{
	struct tm tm = {0};
	if (sscanf(s, "%d-%d-%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday) != 3)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return report_store_day((int64_t)timegm(&tm));
}

static void dkim_of(char *s, struct report_obs *o)
{
	o->ndkim = 0;
	if (strcmp(s, "-") == 0)
		return;
	for (char *save = NULL, *e = strtok_r(s, ",", &save); e && o->ndkim < REPORT_STORE_MAX_DKIM;
	     e = strtok_r(NULL, ",", &save)) {
		char *c1 = strchr(e, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (c2 == NULL)
			continue;
		*c1 = *c2 = '\0';
		o->dkim[o->ndkim++] = (struct report_dkim){e, opt(c1 + 1), c2 + 1};
	}
}

static int parse_line(char *line, struct report_obs *o)
{
	char *col[NCOLS];
	size_t n = 0;
	for (char *p = line; n < NCOLS; n++) {
		col[n] = p;
		p = strchr(p, '\t');
		if (p == NULL) {
			n++;
			break;
		}
		*p++ = '\0';
	}
	if (n != NCOLS)
		return -1;
	memset(o, 0, sizeof *o);
	o->day = day_of(col[0]);
	o->policy_domain = col[1];
	o->source_ip = col[2];
	o->header_from = col[3];
	o->envelope_from = opt(col[4]);
	o->envelope_to = opt(col[5]);
	dkim_of(col[6], o);
	o->spf_domain = opt(col[7]);
	o->spf_scope = opt(col[8]);
	o->spf_result = opt(col[9]);
	o->dmarc_result = col[10];
	o->dkim_aligned_pass = strcmp(col[11], "1") == 0;
	o->spf_aligned_pass = strcmp(col[12], "1") == 0;
	o->disposition = col[13];
	o->override_type = opt(col[14]);
	o->override_comment = opt(col[15]);
	o->policy.p = opt(col[16]);
	o->policy.sp = opt(col[17]);
	o->policy.np = opt(col[18]);
	o->policy.adkim = opt(col[19]);
	o->policy.aspf = opt(col[20]);
	o->policy.testing = strcmp(col[21], "y") == 0;
	o->policy.pct = opt(col[22]) ? atoi(col[22]) : -1;
	o->policy.discovery = "treewalk";
	o->policy.rua = opt(col[23]);
	return 0;
}

int main(int argc, char **argv)
{
	char line[8192];
	struct report_store *s = NULL;
	struct signet_error err = {0};
	struct report_store_opts so = {.today = report_store_day((int64_t)time(NULL)),
				       .retention_days = REPORT_STORE_MAX_RETENTION_DAYS};
	unsigned lineno = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: report_fill DBFILE < OBS.tsv\n");
		return 2;
	}
	if (report_store_open(argv[1], &so, &s, &err) != SIGNET_OK ||
	    report_store_begin(s, &err) != SIGNET_OK) {
		fprintf(stderr, "report_fill: %s\n", err.msg);
		report_store_close(s);
		return 1;
	}
	while (fgets(line, sizeof line, stdin)) {
		struct report_obs o;
		char *count;
		lineno++;
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '#' || line[0] == '\0')
			continue;
		count = strrchr(line, '\t');
		if (count == NULL || (*count++ = '\0', parse_line(line, &o) != 0)) {
			fprintf(stderr, "report_fill: line %u: want %d columns\n", lineno,
				NCOLS + 1);
			report_store_close(s);
			return 1;
		}
		for (long k = atol(count); k > 0; k--)
			if (report_store_add(s, &o, &err) != SIGNET_OK) {
				fprintf(stderr, "report_fill: line %u: %s\n", lineno, err.msg);
				report_store_close(s);
				return 1;
			}
	}
	if (report_store_commit(s, &err) != SIGNET_OK) {
		fprintf(stderr, "report_fill: %s\n", err.msg);
		report_store_close(s);
		return 1;
	}
	report_store_close(s);
	return 0;
}
