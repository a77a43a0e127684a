/* recordcheck.c: dnscheck's checks of one published TXT record. The record
 * is judged by libsignet (signet_keyrec_check, the same judgment signetd's
 * DNS check renders); this file prints its findings with their fixes and
 * adds the one check that needs the DNS layout: how the strings are split. */
#include <stdarg.h>
#include <string.h>

#include <signet/keyrec.h>

#include "cli.h"

void check_problem(struct check_report *rep, const char *fix, const char *fmt, ...)
{
	va_list ap;

	rep->problems++;
	fputs("  problem: ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	if (fix != NULL)
		printf("\n    fix: %s", fix);
	putchar('\n');
}

static void warning(struct check_report *rep, const char *fix, const char *msg)
{
	rep->warnings++;
	printf("  warning: %s", msg);
	if (fix != NULL)
		printf("\n    fix: %s", fix);
	putchar('\n');
}

static bool is_wsp(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* The span of the p= value in a tag-list (RFC 6376 3.2), by a plain scan
 * that survives the broken records this module is for. */
static bool find_p(const uint8_t *s, size_t len, size_t *start, size_t *end)
{
	size_t i = 0;

	while (i < len) {
		size_t t = i, e;

		while (t < len && is_wsp(s[t]))
			t++;
		e = t;
		while (e < len && s[e] != ';')
			e++;
		if (t < e && s[t] == 'p') {
			size_t k = t + 1;

			while (k < e && is_wsp(s[k]))
				k++;
			if (k < e && s[k] == '=') {
				*start = k + 1;
				*end = e;
				return true;
			}
		}
		i = e + 1;
	}
	return false;
}

static void print_value(const struct dns_rr *rr)
{
	size_t i;

	fputs(rr->len ? "    " : "    (empty)", stdout);
	for (i = 0; i < rr->len; i++) {
		if (rr->data[i] >= 0x20 && rr->data[i] < 0x7f)
			putchar(rr->data[i]);
		else
			printf("\\x%02x", rr->data[i]);
	}
	putchar('\n');
}

/* Strings are joined with nothing between them (RFC 6376 3.6.2.2): a
 * space at a boundary inside p= stays in the key. True when that was
 * reported (the white space inside p= is then explained already). */
static bool check_split(const struct dns_rr *rr, struct check_report *rep)
{
	size_t ps = 0, pe = 0, pos = 0, k;
	bool has_p = find_p(rr->data, rr->len, &ps, &pe), split_space = false;

	for (k = 0; k + 1 < rr->nstrings; k++) {
		pos += rr->lens[k];
		if (pos > 0 &&
		    (rr->data[pos - 1] == '"' || (pos < rr->len && rr->data[pos] == '"')))
			check_problem(rep, "store the value without quotes",
				      "strings %zu and %zu meet at a quote: the record was split "
				      "with the quotes kept as text",
				      k + 1, k + 2);
		if (has_p && pos > ps && pos < pe &&
		    (is_wsp(rr->data[pos - 1]) || (pos < rr->len && is_wsp(rr->data[pos])))) {
			split_space = true;
			check_problem(rep,
				      "split the value without adding spaces (each string "
				      "holds up to 255 octets and they are joined as is)",
				      "strings %zu and %zu are split inside p= with a space at the "
				      "boundary; verifiers join strings with nothing between them",
				      k + 1, k + 2);
		}
	}
	return split_space;
}

/* One finding of signet_keyrec_check, printed. */
static void render(const struct signet_keyrec_finding *f, const char *keyfile,
		   struct check_report *rep)
{
	if (f->code == SIGNET_KEYREC_MISMATCH)
		check_problem(rep, "publish the record below (made from the private key)",
			      "the published key is not the public half of %s", keyfile);
	else if (f->code == SIGNET_KEYREC_MATCH)
		printf("  key: matches the private key %s\n", keyfile);
	else if (f->code == SIGNET_KEYREC_KEY)
		printf("  key: %s\n", f->msg);
	else if (f->severity == SIGNET_KEYREC_PROBLEM)
		check_problem(rep, f->fix, "%s", f->msg);
	else if (f->severity == SIGNET_KEYREC_WARNING)
		warning(rep, f->fix, f->msg);
	else
		printf("  info: %s\n", f->msg);
}

void recordcheck_run(const struct dns_rr *rr, const struct signet_key *key, const char *keyfile,
		     struct check_report *rep)
{
	struct signet_keyrec_report kr;
	struct signet_error err = {0};
	bool split_space;
	size_t i;

	print_value(rr);
	split_space = check_split(rr, rep);
	if (signet_keyrec_check(rr->data, rr->len, key, &kr, &err) != SIGNET_OK) {
		check_problem(rep, NULL, "cannot check the record: %s", err.msg);
		return;
	}
	for (i = 0; i < kr.n; i++)
		if (!(split_space && kr.f[i].code == SIGNET_KEYREC_P_SPACE))
			render(&kr.f[i], keyfile, rep);
}
