/* zonefile.c: offline DNS for the CLI (DESIGN.md "ZONEFILE"): one record a
 * line, "NAME TYPE DATA" with TYPE one of TXT, A, AAAA, MX ("PREF HOST"),
 * PTR, CNAME; "NAME TIMEOUT" makes lookups of NAME fail temporarily for
 * every type it has no record of; '#' starts a comment. In NAME and in TXT
 * data "\DDD" (three decimal digits, RFC 1035 5.1) is one byte. A name
 * absent from the file does not exist (NXDOMAIN); a name present with other
 * types has no data of the asked type.
 *
 * The KEYSFILE of `signet verify --keys` is a ZONEFILE whose lines are all
 * TXT and may leave TYPE out: a line whose second token is no TYPE is
 * "NAME VALUE" (the rest of the line, taken as written), and
 * "#!temperror NAME" is "NAME TIMEOUT". */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"

#define ZONE_CNAME_HOPS 8 /* CNAME chain followed at most (then: TIMEOUT-like error) */

struct zone_entry {
	char *name;               /* decoded, no final dot; owned */
	enum signet_rrtype type;  /* 0: TIMEOUT */
	uint8_t *data;            /* TXT value (decoded), A/AAAA bytes, MX/PTR/CNAME name; owned */
	size_t len;
	uint16_t pref;            /* MX */
};

struct zonefile {
	struct zone_entry *e;
	size_t n;
};

static bool is_wsp(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* Decodes "\DDD" escapes of [p, p+len) into a new buffer; false on a
 * backslash not followed by three digits making 0..255. */
static bool unescape(const uint8_t *p, size_t len, uint8_t **out, size_t *outlen)
{
	uint8_t *o = malloc(len + 1);
	size_t n = 0;
	if (o == NULL)
		return false;
	for (size_t k = 0; k < len; k++) {
		if (p[k] != '\\') {
			o[n++] = p[k];
			continue;
		}
		unsigned v = 0;
		for (size_t d = 1; d <= 3; d++) {
			if (k + d >= len || p[k + d] < '0' || p[k + d] > '9') {
				free(o);
				return false;
			}
			v = v * 10 + (unsigned)(p[k + d] - '0');
		}
		if (v > 255) {
			free(o);
			return false;
		}
		o[n++] = (uint8_t)v;
		k += 3;
	}
	o[n] = '\0';
	*out = o;
	*outlen = n;
	return true;
}

static const struct {
	const char *word;
	enum signet_rrtype type;
} types[] = {
	{"TXT", SIGNET_RR_TXT}, {"A", SIGNET_RR_A},     {"AAAA", SIGNET_RR_AAAA},
	{"MX", SIGNET_RR_MX},   {"PTR", SIGNET_RR_PTR}, {"CNAME", ZONE_RR_CNAME},
};

static bool type_word(const uint8_t *p, size_t len, enum signet_rrtype *t, bool *timeout)
{
	*timeout = len == 7 && memcmp(p, "TIMEOUT", 7) == 0;
	if (*timeout)
		return true;
	for (size_t k = 0; k < sizeof types / sizeof types[0]; k++)
		if (strlen(types[k].word) == len && memcmp(types[k].word, p, len) == 0) {
			*t = types[k].type;
			return true;
		}
	return false;
}

/* A host name in DATA (MX, PTR, CNAME): one token, final dot dropped; "."
 * alone is the root (an MX of "." is a null MX, RFC 7505). */
static bool host_data(const uint8_t *p, size_t len, struct zone_entry *e)
{
	bool root = len == 1 && p[0] == '.';
	if (len > 0 && p[len - 1] == '.')
		len--;
	if ((len == 0 && !root) || len > 253)
		return false;
	for (size_t k = 0; k < len; k++)
		if (is_wsp(p[k]))
			return false;
	return unescape(p, len, &e->data, &e->len);
}

/* DATA for the entry's type; a message on failure. */
static const char *typed_data(const uint8_t *p, size_t len, struct zone_entry *e)
{
	char text[64];
	switch (e->type) {
	case SIGNET_RR_TXT:
		return unescape(p, len, &e->data, &e->len) ? NULL
							   : "bad \\DDD escape in TXT data";
	case SIGNET_RR_A:
	case SIGNET_RR_AAAA: {
		bool four = e->type == SIGNET_RR_A;
		if (len == 0 || len >= sizeof text)
			return four ? "A data must be an IPv4 address" : "AAAA data must be an IPv6 address";
		memcpy(text, p, len);
		text[len] = '\0';
		e->len = four ? 4 : 16;
		if ((e->data = malloc(16)) == NULL)
			return "out of memory";
		if (inet_pton(four ? AF_INET : AF_INET6, text, e->data) != 1)
			return four ? "A data must be an IPv4 address" : "AAAA data must be an IPv6 address";
		return NULL;
	}
	case SIGNET_RR_MX: {
		size_t k = 0;
		unsigned pref = 0;
		while (k < len && p[k] >= '0' && p[k] <= '9' && pref <= 65535)
			pref = pref * 10 + (unsigned)(p[k++] - '0');
		if (k == 0 || pref > 65535 || k >= len || !is_wsp(p[k]))
			return "MX data must be PREF HOST (e.g. 10 mx.example.com)";
		while (k < len && is_wsp(p[k]))
			k++;
		e->pref = (uint16_t)pref;
		return host_data(p + k, len - k, e) ? NULL : "MX data must be PREF HOST";
	}
	default:
		return host_data(p, len, e) ? NULL : "the data must be one host name";
	}
}

/* One line [p, end): an entry, or nothing (blank, comment); an error with
 * the reason. */
static const char *parse_line(const uint8_t *p, const uint8_t *end, struct zone_entry *e,
			      bool *got)
{
	static const char tag[] = "#!temperror";
	bool timeout = false;
	*got = false;
	memset(e, 0, sizeof *e);
	while (p < end && is_wsp(*p))
		p++;
	while (end > p && is_wsp(end[-1]))
		end--;
	if (p == end)
		return NULL;
	if (*p == '#') {
		size_t tl = sizeof tag - 1;
		if ((size_t)(end - p) <= tl || memcmp(p, tag, tl) != 0 || !is_wsp(p[tl]))
			return NULL;
		timeout = true;
		for (p += tl; p < end && is_wsp(*p); p++)
			;
	}
	const uint8_t *name = p;
	while (p < end && !is_wsp(*p))
		p++;
	size_t nlen = (size_t)(p - name);
	if (nlen > 0 && name[nlen - 1] == '.')
		nlen--; /* "sel._domainkey.example.com." names the same node */
	if (nlen == 0)
		return "no name";
	while (p < end && is_wsp(*p))
		p++;
	const uint8_t *word = p;
	while (p < end && !is_wsp(*p))
		p++;
	const uint8_t *data = p;
	while (data < end && is_wsp(*data))
		data++;
	*got = true;
	if (timeout || type_word(word, (size_t)(p - word), &e->type, &timeout)) {
		size_t dlen;
		if (!unescape(name, nlen, (uint8_t **)&e->name, &dlen))
			return "bad \\DDD escape in the name";
		if (timeout) {
			e->type = 0;
			return NULL;
		}
		return typed_data(data, (size_t)(end - data), e);
	}
	/* KEYSFILE: "NAME VALUE", both as written */
	if ((e->name = strndup((const char *)name, nlen)) == NULL)
		return "out of memory";
	e->type = SIGNET_RR_TXT;
	e->len = (size_t)(end - word);
	if ((e->data = malloc(e->len + 1)) == NULL)
		return "out of memory";
	memcpy(e->data, word, e->len);
	e->data[e->len] = '\0';
	return NULL;
}

static void entry_free(struct zone_entry *e)
{
	free(e->name);
	free(e->data);
}

struct zonefile *zonefile_parse(const char *path, const uint8_t *data, size_t len)
{
	struct zonefile *z = calloc(1, sizeof *z);
	size_t lines = 1, lineno = 0;
	if (z == NULL)
		goto nomem;
	for (size_t i = 0; i < len; i++)
		lines += data[i] == '\n';
	if ((z->e = calloc(lines, sizeof *z->e)) == NULL)
		goto nomem;
	for (const uint8_t *p = data, *end = data + len; p < end;) {
		const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
		const uint8_t *le = nl ? nl : end;
		bool got;
		lineno++;
		const char *why = parse_line(p, le, &z->e[z->n], &got);
		if (why != NULL) {
			entry_free(&z->e[z->n]);
			cli_err("%s line %zu: %s", path, lineno, why);
			zonefile_free(z);
			return NULL;
		}
		z->n += got;
		p = nl ? nl + 1 : end;
	}
	return z;
nomem:
	cli_err("cannot load %s: out of memory", path);
	zonefile_free(z);
	return NULL;
}

struct zonefile *zonefile_load(const char *path, const char *what)
{
	uint8_t *data = NULL;
	size_t len = 0;
	if (!io_read_file(path, what, FILEREAD_CAP(CLI_MAX_KEYSFILE), &data, &len))
		return NULL;
	struct zonefile *z = zonefile_parse(path, data, len);
	free(data);
	return z;
}

static bool same_name(const struct zone_entry *e, const char *name)
{
	size_t len = strlen(name);
	if (len > 0 && name[len - 1] == '.')
		len--;
	return len == strlen(e->name) && strncasecmp(e->name, name, len) == 0;
}

enum signet_dns_status zonefile_lookup(const struct zonefile *z, const char *name,
				       enum signet_rrtype type, struct signet_rr *out, size_t cap,
				       size_t *n)
{
	const char *at = name;
	*n = 0;
	for (int hop = 0; hop <= ZONE_CNAME_HOPS; hop++) {
		bool exists = false, timeout = false;
		const char *cname = NULL;
		for (size_t i = 0; i < z->n; i++) {
			const struct zone_entry *e = &z->e[i];
			if (!same_name(e, at))
				continue;
			exists = true;
			timeout = timeout || e->type == 0;
			if (e->type == ZONE_RR_CNAME && type != ZONE_RR_CNAME)
				cname = (const char *)e->data;
			if (e->type != type)
				continue;
			if (*n < cap)
				out[*n] = (struct signet_rr){e->data, e->len, e->pref};
			(*n)++;
		}
		if (*n > 0)
			return SIGNET_DNS_OK;
		if (cname != NULL) {
			at = cname;
			continue;
		}
		if (timeout)
			return SIGNET_DNS_TEMPFAIL;
		return exists ? SIGNET_DNS_OK : SIGNET_DNS_NXDOMAIN;
	}
	return SIGNET_DNS_TEMPFAIL; /* a CNAME loop: as a resolver gives up (SERVFAIL) */
}

void zonefile_free(struct zonefile *z)
{
	if (z == NULL)
		return;
	for (size_t i = 0; i < z->n; i++)
		entry_free(&z->e[i]);
	free(z->e);
	free(z);
}

enum signet_dns_status keysfile_lookup(const struct zonefile *z, const char *name,
				       struct signet_txt *out, size_t cap, size_t *n)
{
	struct signet_rr rr[64];
	size_t found;
	enum signet_dns_status st = zonefile_lookup(z, name, SIGNET_RR_TXT, rr, 64, &found);
	*n = found;
	for (size_t k = 0; k < found && k < cap && k < 64; k++)
		out[k] = (struct signet_txt){rr[k].p, rr[k].len};
	/* RFC 6376 6.1.2: no TXT at a name that exists is "no key" too. */
	return st == SIGNET_DNS_OK && found == 0 ? SIGNET_DNS_NXDOMAIN : st;
}
