/* recordcheck.c: dnscheck's checks of one published TXT record: the
 * mistakes of pasting into DNS forms (quotes, backslash escapes, strings
 * split with a space inside p=), what libsignet's key record parser says,
 * and whether the key matches a private key. Prints each finding with a fix. */
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

static void warning(struct check_report *rep, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void warning(struct check_report *rep, const char *fmt, ...)
{
	va_list ap;

	rep->warnings++;
	fputs("  warning: ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
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

/* Pasting mistakes: quotes and backslashes stored as text (DKIM-KEY-12). */
static void check_paste(const struct dns_rr *rr, struct check_report *rep)
{
	const uint8_t *s = rr->data;
	size_t len = rr->len;

	if (memmem(s, len, "\" \"", 3) != NULL || memmem(s, len, "\"\"", 2) != NULL)
		check_problem(
			rep,
			"enter the bare value (no quotes); if your DNS host wants strings, "
			"give it the zone-file form from 'signet keygen'",
			"the value contains \"...\" \"...\" with the quotes stored as text: the "
			"zone-file form was pasted into a field that takes the bare value");
	else if (len >= 2 && s[0] == '"' && s[len - 1] == '"')
		check_problem(rep, "enter the value without the surrounding quotes",
			      "the value is surrounded by double quotes, which are stored as text");
	else if (memchr(s, '"', len) != NULL)
		check_problem(rep, "remove the quotes from the value",
			      "the value contains double quotes (\"), stored as text");
	if (memchr(s, '\\', len) != NULL)
		check_problem(rep,
			      "remove the backslashes: \\; is zone-file escaping, not part of "
			      "the value",
			      "the value contains a backslash (e.g. \\;), stored as text");
}

/* Strings are joined with nothing between them (RFC 6376 3.6.2.2): a
 * space at a boundary inside p= stays in the key. */
static void check_split(const struct dns_rr *rr, struct check_report *rep)
{
	size_t ps = 0, pe = 0, pos = 0, k, i;
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
	for (i = ps; has_p && !split_space && i < pe; i++) {
		if (is_wsp(rr->data[i]) && i > ps && i + 1 < pe && !is_wsp(rr->data[i + 1])) {
			warning(rep,
				"p= contains whitespace at octet %zu: allowed by RFC 6376 "
				"3.6.1 but usually a paste error; remove it",
				i);
			break;
		}
	}
}

static void check_info(const struct signet_keyrec_info *info, struct check_report *rep)
{
	if (info->testing)
		check_problem(rep, "remove t=y when testing is over",
			      "t=y: the domain is testing DKIM; verifiers treat its signatures as "
			      "if the message were unsigned (RFC 6376 3.6.1)");
	if (!info->sha256_allowed)
		check_problem(rep, "remove h= or make it h=sha256",
			      "h= does not allow sha256, so no rsa-sha256 or ed25519-sha256 "
			      "signature can pass (RFC 8301)");
	if (!info->email_allowed)
		check_problem(rep, "remove s= or make it s=email",
			      "s= does not allow email (RFC 6376 3.6.1)");
	if (info->type == SIGNET_KEY_RSA && info->bits != 0 && info->bits < SIGNET_MIN_RSA_BITS)
		check_problem(rep, "make a 2048-bit key: signet keygen -b 2048",
			      "the RSA key has %u bits; verifiers refuse keys under 1024 (RFC "
			      "8301 3.2)",
			      info->bits);
}

static void check_parse(const struct dns_rr *rr, struct check_report *rep)
{
	struct signet_keyrec_info info;
	struct signet_error err = { 0 };

	memset(&info, 0, sizeof(info));
	if (signet_keyrec_parse(rr->data, rr->len, &info, &err) != SIGNET_OK) {
		if (info.revoked)
			check_problem(rep, "publish the record of a current key",
				      "the key is revoked (empty p=, RFC 6376 3.6.1)");
		else
			check_problem(rep, NULL, "not a valid DKIM key record: %s%s%s%s", err.msg,
				      err.spec ? " (" : "", err.spec ? err.spec : "",
				      err.spec ? ")" : "");
		return;
	}
	if (info.revoked) {
		check_problem(rep, "publish the record of a current key",
			      "the key is revoked (empty p=, RFC 6376 3.6.1)");
		return;
	}
	check_info(&info, rep);
	if (info.type == SIGNET_KEY_ED25519)
		printf("  key: k=ed25519\n");
	else
		printf("  key: k=%s, %u bits\n", info.k[0] ? info.k : "rsa", info.bits);
}

void recordcheck_run(const struct dns_rr *rr, const struct signet_key *key, const char *keyfile,
		     struct check_report *rep)
{
	struct signet_error err = { 0 };
	bool match = false;

	print_value(rr);
	check_paste(rr, rep);
	check_split(rr, rep);
	check_parse(rr, rep);
	if (key == NULL)
		return;
	if (signet_keyrec_matches(rr->data, rr->len, key, &match, &err) != SIGNET_OK)
		check_problem(rep, NULL, "cannot compare with %s: %s", keyfile, err.msg);
	else if (!match)
		check_problem(rep, "publish the record below (made from the private key)",
			      "the published key is not the public half of %s", keyfile);
	else
		printf("  key: matches the private key %s\n", keyfile);
}
