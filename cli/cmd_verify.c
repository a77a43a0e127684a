/* cmd_verify.c: `signet verify`: streams a message through a libsignet
 * verifier, answers its key queries from a KEYSFILE or DNS, and prints one
 * result per DKIM-Signature (text, JSON lines, or step by step with
 * --explain). The exit code sums the results up. */
#include <errno.h>
#include <getopt.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <signet/message.h>
#include <signet/psl.h>
#include <signet/verifier.h>

#include <signet/ar.h>

#include "cli.h"

static const char usage[] =
	"usage: signet verify [--keys KEYSFILE | --dns [--server IP[@PORT]]] [--time UNIX]\n"
	"                     [--json] [--explain] [--l-policy unsigned|honour] [--ar ID]\n"
	"                     [--psl FILE] [FILE]\n";

static const char help_text[] =
	"Verify every DKIM-Signature of a message (FILE or standard input).\n\n"
	"  -K, --keys KEYSFILE      take key records from KEYSFILE instead of DNS\n"
	"      --dns                look keys up in DNS (the default)\n"
	"      --server IP[@PORT]   ask this DNS server instead of /etc/resolv.conf's\n"
	"                           (IPv6: ::1, ::1@5353, [::1] or [::1]:5353)\n"
	"      --time UNIX          verification time for t= and x= (default: now)\n"
	"      --json               one JSON object per signature per line\n"
	"      --explain            show each step, the header hash input and the body hash;\n"
	"                           on a body hash mismatch, where the body changed; with\n"
	"                           --json, the same as an \"explain\" object\n"
	"      --l-policy POLICY    unsigned (default, as signetd): content after l= makes\n"
	"                           the result policy; honour: verify the first l= octets\n"
	"      --ar ID              also print the Authentication-Results field signetd\n"
	"                           would add, with authserv-id ID (RFC 8601)\n"
	"      --psl FILE           public suffix list: a d= that is a public suffix (co.uk)\n"
	"                           gets the note \"d= is a public suffix\" (default\n"
	"                           " SIGNET_PSL_DEFAULT_FILE ";\n"
	"                           \"\" turns the check off)\n\n"
	"Exit status: 0 a signature passes, 1 none passes, 2 no signature,\n"
	"3 none passes and one had a temporary DNS error, 4 error, 64 usage error.\n";

#define VERIFY_EXIT_NOSIG 2
#define VERIFY_EXIT_TEMPERROR 3
#define VERIFY_EXIT_ERROR 4
#define VERIFY_MAX_RECORDS 16 /* TXT records handed to the verifier per name */

struct verify_opts {
	const char *keys, *server, *file, *ar_id, *psl;
	bool dns, json, explain;
	struct signet_verify_options vo;
};

struct verify_run {
	struct signet_verifier *v;
	struct zonefile *kf;
	struct dns_resolver *r;
};

static int parse_opt(int c, struct verify_opts *o, char **argv)
{
	switch (c) {
	case 'K': o->keys = optarg; break;
	case 'D': o->dns = true; break;
	case 'S':
		o->server = optarg;
		o->dns = true;
		break;
	case 'J': o->json = true; break;
	case 'E': o->explain = true; break;
	case 'T':
		if (!cli_parse_time(optarg, &o->vo.now))
			return cli_usage_error("verify", usage,
					       "--time %s: give unix seconds from 0 to %llu (RFC "
					       "6376 3.5: t= and x= have at most 12 digits)",
					       optarg, CLI_MAX_TIME);
		break;
	case 'L':
		if (strcmp(optarg, "honour") == 0 || strcmp(optarg, "honor") == 0)
			o->vo.l_policy = SIGNET_L_HONOUR;
		else if (strcmp(optarg, "unsigned") == 0 ||
			 strcmp(optarg, "unsigned-content-is-policy") == 0)
			o->vo.l_policy = SIGNET_L_POLICY_UNSIGNED;
		else
			return cli_usage_error("verify", usage,
					       "--l-policy %s: give honour or unsigned", optarg);
		break;
	case 'A':
		if (!signet_ar_authserv_id_valid(optarg))
			return cli_usage_error("verify", usage,
					       "--ar %s: an authserv-id is a host name (letters, "
					       "digits, '.', '-')", optarg);
		o->ar_id = optarg;
		break;
	case 'P': o->psl = optarg; break;
	case 'h': printf("%s\n%s", usage, help_text); return CLI_EXIT_OK;
	default: return cli_bad_option("verify", usage, c, argv);
	}
	return -1;
}

static int parse_opts(int argc, char **argv, struct verify_opts *o)
{
	static const struct option longopts[] = {
		{ "keys", required_argument, NULL, 'K' },
		{ "dns", no_argument, NULL, 'D' },
		{ "server", required_argument, NULL, 'S' },
		{ "time", required_argument, NULL, 'T' },
		{ "json", no_argument, NULL, 'J' },
		{ "explain", no_argument, NULL, 'E' },
		{ "l-policy", required_argument, NULL, 'L' },
		{ "ar", required_argument, NULL, 'A' },
		{ "psl", required_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c, rc;

	memset(o, 0, sizeof(*o));
	o->vo.now = (uint64_t)time(NULL);
	/* The daemon's default (verify.l_policy): unsigned content after l= is
	 * the l= attack (RFC 6376 8.2). */
	o->vo.l_policy = SIGNET_L_POLICY_UNSIGNED;
	o->psl = SIGNET_PSL_DEFAULT_FILE; /* DKIM-VER-17, as signetd's default */
	optind = 0;
	while ((c = getopt_long(argc, argv, ":K:h", longopts, NULL)) != -1)
		if ((rc = parse_opt(c, o, argv)) >= 0)
			return rc;
	if (optind < argc)
		o->file = argv[optind++];
	if (optind < argc)
		return cli_usage_error("verify", usage, "unexpected argument '%s'", argv[optind]);
	if (o->keys != NULL && o->dns)
		return cli_usage_error("verify", usage, "give either --keys or --dns, not both");
	o->vo.explain = o->explain;
	return -1;
}

static enum signet_status answer_dns(struct verify_run *run, const struct signet_query *q,
				     struct signet_error *err)
{
	struct signet_txt txt[VERIFY_MAX_RECORDS];
	struct dns_answer a;
	enum signet_status st;
	size_t i, n;

	if (!dns_txt(run->r, q->name, &a))
		return SIGNET_ERR_NOMEM;
	n = a.n < VERIFY_MAX_RECORDS ? a.n : VERIFY_MAX_RECORDS;
	for (i = 0; i < n; i++) {
		txt[i].p = a.rr[i].data;
		txt[i].len = a.rr[i].len;
	}
	st = signet_verifier_answer(run->v, q->id, a.status, txt, n, err);
	dns_answer_free(&a);
	return st;
}

static enum signet_status answer_queries(struct verify_run *run, struct signet_error *err)
{
	struct signet_txt txt[VERIFY_MAX_RECORDS];
	struct signet_query q;
	enum signet_dns_status st;
	size_t n;

	while (signet_verifier_next_query(run->v, &q)) {
		if (run->kf == NULL) {
			if (answer_dns(run, &q, err) != SIGNET_OK)
				return err->code ? err->code : SIGNET_ERR_NOMEM;
			continue;
		}
		st = keysfile_lookup(run->kf, q.name, txt, VERIFY_MAX_RECORDS, &n);
		if (n > VERIFY_MAX_RECORDS)
			n = VERIFY_MAX_RECORDS;
		if (signet_verifier_answer(run->v, q.id, st, txt, n, err) != SIGNET_OK)
			return err->code;
	}
	return SIGNET_OK;
}

static enum signet_status on_header(void *ctx, const uint8_t *name, size_t nlen,
				    const uint8_t *value, size_t vlen, struct signet_error *err)
{
	struct verify_run *run = ctx;

	return signet_verifier_header(run->v, name, nlen, value, vlen, err);
}

/* Keys are fetched as soon as the header is complete (DESIGN: lookups
 * overlap the body in the daemon; here they simply come first). */
static enum signet_status on_eoh(void *ctx, struct signet_error *err)
{
	struct verify_run *run = ctx;
	enum signet_status st = signet_verifier_end_of_headers(run->v, err);

	return st != SIGNET_OK ? st : answer_queries(run, err);
}

static enum signet_status on_body(void *ctx, const uint8_t *p, size_t len, struct signet_error *err)
{
	struct verify_run *run = ctx;

	return signet_verifier_body(run->v, p, len, err);
}

/* Reads the message in chunks: memory does not grow with its size. A FILE
 * is a regular file of at most CLI_MAX_MESSAGE bytes (fileread_open); one
 * that grows past that while read is refused. Standard input has no cap. */
static bool feed_file(struct signet_message *m, const char *file, struct signet_error *err)
{
	uint8_t chunk[65536];
	int fd = io_open(file, "message", FILEREAD_CAP(CLI_MAX_MESSAGE));
	bool ok = fd >= 0;
	size_t total = 0;

	while (ok) {
		ssize_t r = read(fd, chunk, sizeof(chunk));

		if (r > 0 && fd != STDIN_FILENO && (total += (size_t)r) > CLI_MAX_MESSAGE) {
			cli_err("cannot read message %s: it grew while it was read, past "
				"CLI_MAX_MESSAGE (%u bytes)",
				file, CLI_MAX_MESSAGE);
			ok = false;
			break;
		}

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			cli_err("cannot read message %s: %s", file ? file : "(standard input)",
				strerror(errno));
			ok = false;
		} else if (r == 0) {
			break;
		} else if (signet_message_feed(m, chunk, (size_t)r, err) != SIGNET_OK) {
			cli_err("cannot verify: %s", err->msg);
			ok = false;
		}
	}
	if (fd > STDIN_FILENO)
		close(fd);
	return ok;
}

static bool run_verifier(struct verify_run *run, const struct verify_opts *o)
{
	static const struct signet_message_handler h = { on_header, on_eoh, on_body };
	struct signet_error err = { 0 };
	struct signet_message *m = NULL;
	bool ok;

	if (signet_verifier_new(&o->vo, &run->v, &err) != SIGNET_OK ||
	    signet_message_new(&h, run, &m, &err) != SIGNET_OK) {
		cli_err("cannot verify: %s", err.msg);
		return false;
	}
	ok = feed_file(m, o->file, &err);
	if (ok && (signet_message_finish(m, &err) != SIGNET_OK ||
		   signet_verifier_finish(run->v, &err) != SIGNET_OK)) {
		cli_err("cannot verify: %s", err.msg);
		ok = false;
	}
	signet_message_free(m);
	return ok;
}

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
		       ull(b->total_lines), cli_plural(b->total_lines, "line matches", "lines match"));
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

static void print_explain(const struct signet_sig_result *r, const struct signet_sig_explain *x)
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
static void print_result(size_t idx, const struct signet_sig_result *r,
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

/* --ar: the field signetd would add (one line per fold, LF line ends). */
static bool print_ar(const struct signet_verifier *v, const char *id)
{
	const struct signet_sig_result *res[SIGNET_MAX_SIGNATURES];
	size_t n = signet_verifier_count(v), len;
	char ar[8192];
	struct signet_error err = { 0 };

	for (size_t i = 0; i < n; i++)
		res[i] = signet_verifier_result(v, i);
	if (signet_ar_format(id, res, n, ar, sizeof(ar), &len, &err) != SIGNET_OK) {
		cli_err("cannot format Authentication-Results: %s", err.msg);
		return false;
	}
	fputs("Authentication-Results:", stdout);
	for (const char *p = ar; *p != '\0'; p++)
		if (*p != '\r')
			putchar(*p);
	putchar('\n');
	return true;
}

static int report(const struct signet_verifier *v, const struct verify_opts *o)
{
	size_t n = signet_verifier_count(v), i, unchecked = signet_verifier_unchecked(v);
	bool pass = false, temp = false;

	for (i = 0; i < n; i++) {
		const struct signet_sig_result *r = signet_verifier_result(v, i);
		const struct signet_sig_explain *x = signet_verifier_explain(v, i);

		print_result(i, r, x, o->json);
		if (x != NULL && !o->json)
			print_explain(r, x);
		pass |= r->result == SIGNET_RESULT_PASS;
		temp |= r->result == SIGNET_RESULT_TEMPERROR;
	}
	/* DKIM-VER-04: never drop the signatures over the limit silently; in
	 * JSON mode stdout holds results only, so the note goes to stderr. */
	if (unchecked > 0)
		fprintf(o->json ? stderr : stdout,
			"%s%zu more DKIM-Signature %s not checked (limit %d)\n",
			o->json ? "signet: note: " : "", unchecked,
			cli_plural(unchecked, "field", "fields"), SIGNET_MAX_SIGNATURES);
	if (n == 0 && unchecked == 0 && !o->json)
		printf("no DKIM-Signature\n");
	if (o->ar_id != NULL && !print_ar(v, o->ar_id))
		return VERIFY_EXIT_ERROR;
	if (!cli_flush_stdout())
		return VERIFY_EXIT_ERROR;
	if (pass)
		return CLI_EXIT_OK;
	if (n == 0)
		return VERIFY_EXIT_NOSIG;
	return temp ? VERIFY_EXIT_TEMPERROR : CLI_EXIT_FAIL;
}

int cmd_verify(int argc, char **argv)
{
	struct verify_opts o;
	struct verify_run run = { 0 };
	struct signet_psl *psl;
	int rc = parse_opts(argc, argv, &o);

	if (rc >= 0)
		return rc;
	if (o.keys != NULL)
		run.kf = zonefile_load(o.keys, "keys file");
	else
		run.r = dns_open(o.server);
	if (run.kf == NULL && run.r == NULL)
		return VERIFY_EXIT_ERROR;
	psl = psl_load(o.psl);
	o.vo.psl = psl;
	rc = run_verifier(&run, &o) ? report(run.v, &o) : VERIFY_EXIT_ERROR;
	signet_verifier_free(run.v);
	signet_psl_free(psl);
	zonefile_free(run.kf);
	dns_close(run.r);
	return rc;
}
