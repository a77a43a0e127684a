/* verify_render_dkim.c: how `signet verify` shows one DKIM signature's
 * result: a line of text or a JSON object, and with --explain the steps,
 * the header hash input, where the body changed and the z= differences.
 * (Moved from cmd_verify.c unchanged; the other checks are in
 * verify_render.c.) */
#include <string.h>

#include "verify_render.h"

/* --explain: the header hash input with line ends and control bytes shown,
 * one output line per input line. */
static void print_hash_input(const uint8_t *p, size_t len)
{
	size_t i;
	bool bol = true;

	printf("  header hash input (%zu bytes; CR LF shown as \\r\\n):\n", len);
	for (i = 0; i < len; i++) {
		if (bol)
			fputs("    ", stdout);
		bol = false;
		if (p[i] == '\r' && i + 1 < len && p[i + 1] == '\n') {
			fputs("\\r\\n\n", stdout);
			i++;
			bol = true;
		} else if (p[i] == '\t') {
			fputs("\\t", stdout);
		} else if (p[i] == '\\') {
			fputs("\\\\", stdout);
		} else if (p[i] < 0x20 || p[i] == 0x7f) {
			printf("\\x%02x", p[i]);
		} else {
			putchar(p[i]);
		}
	}
	if (!bol)
		fputs("\n    (no final CRLF: the DKIM-Signature field is hashed without it)\n",
		      stdout);
}

/* One canonical line for humans: control bytes as \xNN. */
static void print_line(const char *prefix, const struct signet_explain_line *l)
{
	size_t i;

	fputs(prefix, stdout);
	for (i = 0; i < l->len; i++) {
		if (l->p[i] == '\t')
			fputs("\\t", stdout);
		else if (l->p[i] < 0x20 || l->p[i] == 0x7f)
			printf("\\x%02x", l->p[i]);
		else
			putchar(l->p[i]);
	}
	puts(l->cut ? " [...]" : "");
}

static unsigned long long ull(uint64_t v)
{
	return (unsigned long long)v;
}

/* Where the body changed (struct signet_body_explain). */
static void print_body_change(const struct signet_body_explain *b)
{
	size_t i;

	if (b->prefix_found && b->prefix_lines == b->total_lines) {
		printf("  body change: all %llu %s bh= but the body hash differs\n",
		       ull(b->total_lines),
		       cli_plural(b->total_lines, "line matches", "lines match"));
	} else if (b->prefix_found) {
		printf("  body change: the first %llu %s (%llu %s) match%s the signature; "
		       "%llu %s added after signing\n",
		       ull(b->prefix_lines), cli_plural(b->prefix_lines, "line", "lines"),
		       ull(b->prefix_bytes), cli_plural(b->prefix_bytes, "byte", "bytes"),
		       b->prefix_lines == 1 ? "es" : "", ull(b->total_lines - b->prefix_lines),
		       cli_plural(b->total_lines - b->prefix_lines, "line was", "lines were"));
		if (b->nadded > 0)
			printf("  first added lines:\n");
	} else {
		printf("  body change: no prefix of the %llu canonical %s matches bh=: the body "
		       "was changed, not only added to\n",
		       ull(b->total_lines), cli_plural(b->total_lines, "line", "lines"));
		if (b->nadded > 0)
			printf("  first lines received:\n");
	}
	for (i = 0; i < b->nadded && i < SIGNET_EXPLAIN_LINES; i++)
		print_line("    | ", &b->added[i]);
	if (b->transform != NULL)
		printf("  relay change: the body hash matches after this change: %s\n",
		       b->transform);
	else
		printf("  relay change: none of the changes tried (trailing whitespace, tabs, bare "
		       "CRs, dot-stuffing) restores bh=\n");
}

static void print_zdiff(const struct signet_sig_explain *r)
{
	size_t i;

	size_t ndiff = r->nzdiff + r->zdiff_more;

	printf("  z= copied %zu header %s; %zu %s from the received ones%s\n", r->nz_fields,
	       cli_plural(r->nz_fields, "field", "fields"), ndiff,
	       cli_plural(ndiff, "differs", "differ"), r->nzdiff ? ":" : "");
	for (i = 0; i < r->nzdiff && i < SIGNET_EXPLAIN_ZDIFFS; i++) {
		const struct signet_zdiff *z = &r->zdiff[i];

		printf("    %s: signed:   %s\n", z->name, z->signed_value);
		if (z->missing)
			printf("    %s: received: (no such field)\n", z->name);
		else
			printf("    %s: received: %s\n", z->name, z->received);
	}
	if (r->zdiff_more > 0)
		printf("    (%zu more)\n", r->zdiff_more);
}

void render_dkim_explain(const struct signet_sig_result *r, const struct signet_sig_explain *x)
{
	bool bh_shown = false;
	size_t i;

	printf("  c=%s/%s", signet_canon_name(r->hdr_canon), signet_canon_name(r->body_canon));
	if (r->key_bits)
		printf(" key=%u bits", r->key_bits);
	if (r->has_l)
		printf(" l=%llu", (unsigned long long)r->l);
	printf(" body=%llu canonical octets%s\n", (unsigned long long)r->body_length,
	       r->testing ? " (key in test mode t=y)" : "");
	for (i = 0; i < x->nsteps && i < SIGNET_MAX_STEPS; i++) {
		printf("  %-11s %-6s %s\n", x->steps[i].name ? x->steps[i].name : "?",
		       x->steps[i].ok ? "ok" : "FAILED", x->steps[i].detail);
		if (x->steps[i].name != NULL && strcmp(x->steps[i].name, "body hash") == 0)
			bh_shown = true;
	}
	if (r->bh_computed[0] != '\0' && !bh_shown)
		printf("  body hash: bh= %s\n             computed %s: %s\n", r->bh, r->bh_computed,
		       strcmp(r->bh, r->bh_computed) == 0 ? "match" : "MISMATCH");
	if (x->body.searched)
		print_body_change(&x->body);
	if (x->hash_input != NULL)
		print_hash_input(x->hash_input, x->hash_input_len);
	if (x->has_z)
		print_zdiff(x);
}

static void json_body_change(const struct signet_body_explain *b)
{
	size_t i;

	printf(",\"body\":{\"prefix_found\":%s,\"prefix_lines\":%llu,\"prefix_bytes\":%llu,"
	       "\"total_lines\":%llu,\"total_bytes\":%llu,\"added_lines\":%llu,\"lines\":[",
	       b->prefix_found ? "true" : "false", ull(b->prefix_lines), ull(b->prefix_bytes),
	       ull(b->total_lines), ull(b->total_bytes),
	       ull(b->prefix_found ? b->total_lines - b->prefix_lines : 0));
	for (i = 0; i < b->nadded && i < SIGNET_EXPLAIN_LINES; i++) {
		fputs(i ? "," : "", stdout);
		json_bytes(stdout, b->added[i].p, b->added[i].len);
	}
	fputs("],\"transform\":", stdout);
	if (b->transform != NULL)
		json_string(stdout, b->transform);
	else
		fputs("null", stdout);
	putchar('}');
}

static void json_zdiff(const struct signet_sig_explain *r)
{
	size_t i;

	printf(",\"z\":{\"fields\":%zu,\"more\":%zu,\"differ\":[", r->nz_fields, r->zdiff_more);
	for (i = 0; i < r->nzdiff && i < SIGNET_EXPLAIN_ZDIFFS; i++) {
		fputs(i ? ",{\"name\":" : "{\"name\":", stdout);
		json_string(stdout, r->zdiff[i].name);
		fputs(",\"signed\":", stdout);
		json_string(stdout, r->zdiff[i].signed_value);
		fputs(",\"received\":", stdout);
		if (r->zdiff[i].missing)
			fputs("null", stdout);
		else
			json_string(stdout, r->zdiff[i].received);
		putchar('}');
	}
	fputs("]}", stdout);
}

/* --json --explain: the steps, the body change, the header hash input, z=. */
static void json_explain(const struct signet_sig_result *r, const struct signet_sig_explain *x)
{
	size_t i;

	fputs(",\"explain\":{\"steps\":[", stdout);
	for (i = 0; i < x->nsteps && i < SIGNET_MAX_STEPS; i++) {
		fputs(i ? ",{\"name\":" : "{\"name\":", stdout);
		json_string(stdout, x->steps[i].name ? x->steps[i].name : "?");
		printf(",\"ok\":%s,\"detail\":", x->steps[i].ok ? "true" : "false");
		json_string(stdout, x->steps[i].detail);
		putchar('}');
	}
	fputs("],\"bh\":", stdout);
	json_string(stdout, r->bh);
	fputs(",\"bh_computed\":", stdout);
	json_string(stdout, r->bh_computed);
	if (x->body.searched)
		json_body_change(&x->body);
	if (x->hash_input != NULL) {
		fputs(",\"header_hash_input\":", stdout);
		json_bytes(stdout, x->hash_input, x->hash_input_len);
	}
	if (x->has_z)
		json_zdiff(x);
	putchar('}');
}

/* x: the explain data (signet_verifier_explain), NULL without --explain. */
void render_dkim_result(size_t idx, const struct signet_sig_result *r,
			const struct signet_sig_explain *x, bool json)
{
	if (json) {
		fputs("{\"d\":", stdout);
		json_string(stdout, r->d);
		fputs(",\"i\":", stdout);
		json_string(stdout, r->i);
		fputs(",\"s\":", stdout);
		json_string(stdout, r->s);
		fputs(",\"a\":", stdout);
		json_string(stdout, r->a);
		printf(",\"result\":\"%s\",\"reason\":", signet_result_name(r->result));
		json_string(stdout, r->reason);
		if (x != NULL)
			json_explain(r, x);
		fputs("}\n", stdout);
		return;
	}
	printf("signature %zu: d=%s s=%s a=%s: %s", idx + 1, r->d, r->s, r->a,
	       signet_result_name(r->result));
	if (r->reason[0] != '\0')
		printf(" (%s)", r->reason);
	if (r->notes[0] != '\0')
		printf(" [%s]", r->notes);
	putchar('\n');
}
