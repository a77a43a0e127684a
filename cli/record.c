/* record.c: printing a DKIM key record for publication: the zone-file form
 * (quoted strings of at most 255 octets) and the bare value. Used by keygen
 * and by dnscheck's "publish this record" advice. */
#include <string.h>

#include "cli.h"

/* RFC 1035 5.1: a <character-string> holds at most 255 octets. */
#define TXT_STRING_MAX 255

/* Verifiers join the strings with nothing between them (RFC 6376
 * 3.6.2.2), so the split is before "p=" (readability) and then inside the
 * base64 every 255 octets, where nothing is lost. */
void record_print_zone(FILE *f, const char *selector, const char *domain, const char *rec)
{
	const char *p = strstr(rec, "p=");
	size_t len = strlen(rec), head = p ? (size_t)(p - rec) : 0, off;

	fprintf(f, "%s._domainkey.%s. IN TXT (", selector, domain);
	if (head > 0 && head <= TXT_STRING_MAX)
		fprintf(f, " \"%.*s\"", (int)head, rec);
	else
		head = 0;
	for (off = head; off < len; off += TXT_STRING_MAX) {
		size_t n = len - off < TXT_STRING_MAX ? len - off : TXT_STRING_MAX;

		fprintf(f, "%s\"%.*s\"", len - head > TXT_STRING_MAX ? "\n\t" : " ", (int)n,
			rec + off);
	}
	fprintf(f, " )\n");
}

bool record_for_key(const struct signet_key *key, char *out, size_t cap)
{
	struct signet_error err = {0};
	size_t len = 0;

	if (signet_key_dns_record(key, out, cap, &len, &err) != SIGNET_OK) {
		cli_err("cannot make the DNS record: %s", err.msg);
		return false;
	}
	return true;
}
