/* zonefile.c: the KEYSFILE of `signet verify --keys`: one TXT record a
 * line, "<name> <value>" (first token the name, the rest of the line the
 * value, trimmed); '#' starts a comment line; "#!temperror <name>" makes
 * lookups of name fail temporarily; absent names do not exist. Several
 * lines with one name are several TXT records at that name. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"

struct keysfile_entry {
	const char *name; /* into kf->data, nlen bytes (not NUL-terminated) */
	size_t nlen;
	const uint8_t *value; /* into kf->data */
	size_t vlen;
	bool temperror;
};

struct keysfile {
	uint8_t *data;
	struct keysfile_entry *e;
	size_t n;
};

static bool is_wsp(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* Splits one line [p, end) into an entry; false for blank/comment lines. */
static bool parse_line(uint8_t *p, uint8_t *end, struct keysfile_entry *e)
{
	static const char tag[] = "#!temperror";
	uint8_t *name;

	while (p < end && is_wsp(*p))
		p++;
	while (end > p && is_wsp(end[-1]))
		end--;
	memset(e, 0, sizeof(*e));
	if (p == end)
		return false;
	if (*p == '#') {
		if ((size_t)(end - p) <= sizeof(tag) - 1 || memcmp(p, tag, sizeof(tag) - 1) != 0 ||
		    !is_wsp(p[sizeof(tag) - 1]))
			return false;
		e->temperror = true;
		p += sizeof(tag) - 1;
		while (p < end && is_wsp(*p))
			p++;
	}
	name = p;
	while (p < end && !is_wsp(*p))
		p++;
	e->name = (const char *)name;
	e->nlen = (size_t)(p - name);
	while (p < end && is_wsp(*p))
		p++;
	e->value = p;
	e->vlen = (size_t)(end - p);
	if (e->nlen > 0 && name[e->nlen - 1] == '.')
		e->nlen--; /* "sel._domainkey.example.com." names the same node */
	return e->nlen > 0;
}

static struct keysfile *parse(uint8_t *data, size_t len)
{
	struct keysfile *kf = calloc(1, sizeof(*kf));
	size_t lines = 1, i;
	uint8_t *p = data, *end = data + len;

	if (kf == NULL)
		return NULL;
	for (i = 0; i < len; i++)
		lines += data[i] == '\n';
	kf->e = calloc(lines, sizeof(*kf->e));
	if (kf->e == NULL) {
		free(kf);
		return NULL;
	}
	kf->data = data;
	while (p < end) {
		uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
		uint8_t *le = nl ? nl : end;

		if (parse_line(p, le, &kf->e[kf->n]))
			kf->n++;
		p = nl ? nl + 1 : end;
	}
	return kf;
}

struct keysfile *keysfile_load(const char *path)
{
	struct keysfile *kf;
	uint8_t *data = NULL;
	size_t len = 0;

	if (!io_read_file(path, "keys file", FILEREAD_CAP(CLI_MAX_KEYSFILE), &data, &len))
		return NULL;
	kf = parse(data, len);
	if (kf == NULL) {
		cli_err("cannot load keys file %s: out of memory", path);
		free(data);
	}
	return kf;
}

static bool same_name(const struct keysfile_entry *e, const char *name)
{
	size_t len = strlen(name);

	if (len > 0 && name[len - 1] == '.')
		len--;
	return len == e->nlen && strncasecmp(e->name, name, len) == 0;
}

enum signet_dns_status keysfile_lookup(const struct keysfile *kf, const char *name,
				       struct signet_txt *out, size_t cap, size_t *n)
{
	size_t i;

	*n = 0;
	for (i = 0; i < kf->n; i++)
		if (kf->e[i].temperror && same_name(&kf->e[i], name))
			return SIGNET_DNS_TEMPFAIL;
	for (i = 0; i < kf->n; i++) {
		if (kf->e[i].temperror || !same_name(&kf->e[i], name))
			continue;
		if (*n < cap) {
			out[*n].p = kf->e[i].value;
			out[*n].len = kf->e[i].vlen;
		}
		(*n)++;
	}
	return *n > 0 ? SIGNET_DNS_OK : SIGNET_DNS_NXDOMAIN;
}

void keysfile_free(struct keysfile *kf)
{
	if (kf == NULL)
		return;
	free(kf->data);
	free(kf->e);
	free(kf);
}
