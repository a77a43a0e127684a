/* nsupdate.c: RFC 2136 dynamic update of a DKIM key record, signed with
 * TSIG (RFC 8945), through ldns: the TSIG key file reader (BIND and Knot
 * formats), the zone lookup (SOA query), the update and the rendering of
 * the server's answer. It does not decide anything about rotation
 * (conf/rotation.c does) and writes no DNS wire format by hand. */
#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <ldns/ldns.h>

#include "cli.h"
#include "hostport.h"
#include "nsupdate.h"

#define TSIG_NAME_MAX 253 /* a domain name in text, no final dot */
#define TSIG_ALG_MAX 32
#define TSIG_SECRET_TEXT_MAX ((NSUPDATE_MAX_SECRET + 2) / 3 * 4)
#define NSUPDATE_FUDGE 300 /* seconds of clock skew (RFC 8945 10) */
#define TXT_STRING_MAX 255 /* bytes of one character-string (RFC 1035 3.3.14) */
#define ZONE_WALK_MAX 127  /* labels of a name: the SOA walk stops there */

struct tsig_key {
	char name[TSIG_NAME_MAX + 2];
	char alg[TSIG_ALG_MAX];
	char secret[TSIG_SECRET_TEXT_MAX + 1];
	unsigned line, alg_line, secret_line; /* where each was given (0: not) */
};

struct nsupdate {
	char server[128];
	ldns_rdf *addr; /* the server's address (owned) */
	uint16_t port;
	char *zone; /* NULL: found by an SOA query (owned) */
	uint32_t ttl;
	struct tsig_key key;
};

/* ---- the TSIG key file ------------------------------------------------------ */

static bool tsig_error(const char *path, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static bool tsig_error(const char *path, unsigned line, const char *fmt, ...)
{
	char why[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	if (line > 0)
		cli_err("TSIG key file %s:%u: %s", path, line, why);
	else
		cli_err("TSIG key file %s: %s", path, why);
	return false;
}

static bool set_field(const char *path, unsigned line, const char *what, char *dst, size_t cap,
		      const char *s, size_t len, unsigned *at)
{
	if (*at != 0)
		return tsig_error(path, line, "%s given twice (first on line %u)", what, *at);
	if (len == 0)
		return tsig_error(path, line, "%s is empty", what);
	if (len >= cap) /* the secret: NSUPDATE_MAX_SECRET bytes in base64 */
		return tsig_error(path, line, "%s is longer than %zu characters", what, cap - 1);
	memcpy(dst, s, len);
	dst[len] = '\0';
	*at = line;
	return true;
}

/* BIND (named.conf(5), as tsig-keygen and ddns-confgen write it):
 *   key "NAME" { algorithm ALG; secret "BASE64"; };
 * with #, // and C comments. One key per file. */
enum bind_tok { BT_EOF, BT_WORD, BT_LBRACE, BT_RBRACE, BT_SEMI, BT_BAD };

struct bind_lexer {
	const char *p, *end, *path;
	unsigned line;
	const char *text; /* BT_WORD: the word or the quoted string's content */
	size_t len;
};

static bool bind_skip_comment(struct bind_lexer *lx)
{
	if (*lx->p == '#' || (*lx->p == '/' && lx->p + 1 < lx->end && lx->p[1] == '/')) {
		while (lx->p < lx->end && *lx->p != '\n')
			lx->p++;
		return true;
	}
	if (*lx->p == '/' && lx->p + 1 < lx->end && lx->p[1] == '*') {
		for (lx->p += 2; lx->p + 1 < lx->end && !(lx->p[0] == '*' && lx->p[1] == '/');
		     lx->p++)
			lx->line += *lx->p == '\n';
		lx->p = lx->p + 1 < lx->end ? lx->p + 2 : lx->end;
		return true;
	}
	return false;
}

static bool bind_word_char(char c)
{
	return isalnum((unsigned char)c) || (c != '\0' && strchr("._-+/=:", c) != NULL);
}

static enum bind_tok bind_next(struct bind_lexer *lx)
{
	for (;;) {
		while (lx->p < lx->end && isspace((unsigned char)*lx->p))
			lx->line += *lx->p++ == '\n';
		if (lx->p >= lx->end)
			return BT_EOF;
		if (!bind_skip_comment(lx))
			break;
	}
	char c = *lx->p;
	if (c == '{' || c == '}' || c == ';') {
		lx->p++;
		return c == '{' ? BT_LBRACE : c == '}' ? BT_RBRACE : BT_SEMI;
	}
	if (c == '"') {
		const char *q = memchr(lx->p + 1, '"', (size_t)(lx->end - lx->p - 1));
		const char *nl = memchr(lx->p + 1, '\n', (size_t)(lx->end - lx->p - 1));
		if (q == NULL || (nl != NULL && nl < q))
			return BT_BAD;
		lx->text = lx->p + 1;
		lx->len = (size_t)(q - lx->p - 1);
		lx->p = q + 1;
		return BT_WORD;
	}
	if (!bind_word_char(c))
		return BT_BAD;
	lx->text = lx->p;
	while (lx->p < lx->end && bind_word_char(*lx->p))
		lx->p++;
	lx->len = (size_t)(lx->p - lx->text);
	return BT_WORD;
}

static bool bind_expect(struct bind_lexer *lx, enum bind_tok want, const char *what)
{
	enum bind_tok t = bind_next(lx);
	if (t == want)
		return true;
	return tsig_error(lx->path, lx->line, "expected %s%s", what,
			  t == BT_BAD ? " (an unterminated string or a stray character)" : "");
}

static bool bind_is(const struct bind_lexer *lx, const char *word)
{
	return lx->len == strlen(word) && strncasecmp(lx->text, word, lx->len) == 0;
}

/* clause := "algorithm" ALG ";" | "secret" "BASE64" ";" */
static bool bind_clause(struct bind_lexer *lx, struct tsig_key *k)
{
	unsigned line = lx->line;
	bool alg = bind_is(lx, "algorithm"), secret = bind_is(lx, "secret");
	if (!alg && !secret)
		return tsig_error(lx->path, line, "unknown clause '%.*s' in the key statement",
				  (int)(lx->len < 64 ? lx->len : 64), lx->text);
	if (!bind_expect(lx, BT_WORD, alg ? "an algorithm name" : "the secret (base64)"))
		return false;
	bool ok = alg ? set_field(lx->path, line, "algorithm", k->alg, sizeof k->alg, lx->text,
				  lx->len, &k->alg_line)
		      : set_field(lx->path, line, "secret", k->secret, sizeof k->secret, lx->text,
				  lx->len, &k->secret_line);
	return ok && bind_expect(lx, BT_SEMI, "';' after the value");
}

static bool tsig_parse_bind(const char *path, const char *data, size_t len, struct tsig_key *k)
{
	struct bind_lexer lx = {.p = data, .end = data + len, .path = path, .line = 1};
	if (bind_next(&lx) != BT_WORD || !bind_is(&lx, "key"))
		return tsig_error(path, lx.line, "expected 'key \"NAME\" {' (BIND format)");
	unsigned line = lx.line;
	if (!bind_expect(&lx, BT_WORD, "the key name after 'key'") ||
	    !set_field(path, line, "the key name", k->name, sizeof k->name, lx.text, lx.len,
		       &k->line) ||
	    !bind_expect(&lx, BT_LBRACE, "'{' after the key name"))
		return false;
	for (;;) {
		enum bind_tok t = bind_next(&lx);
		if (t == BT_RBRACE)
			break;
		if (t != BT_WORD)
			return tsig_error(path, lx.line, "expected 'algorithm', 'secret' or '}'");
		if (!bind_clause(&lx, k))
			return false;
	}
	if (!bind_expect(&lx, BT_SEMI, "';' after '}'"))
		return false;
	enum bind_tok t = bind_next(&lx);
	if (t == BT_WORD && bind_is(&lx, "key"))
		return tsig_error(path, lx.line, "a second key statement: keep one key per file");
	if (t != BT_EOF)
		return tsig_error(path, lx.line, "unexpected text after the key statement");
	return true;
}

/* Knot (`keymgr -t NAME ALG`, knot.conf(5) key section):
 *   key:
 *     - id: NAME
 *       algorithm: ALG
 *       secret: BASE64
 * with # comments. One key per file. */
static void trim(const char **s, size_t *len)
{
	while (*len > 0 && isspace((unsigned char)**s))
		(*s)++, (*len)--;
	while (*len > 0 && isspace((unsigned char)(*s)[*len - 1]))
		(*len)--;
}

static void unquote(const char **s, size_t *len)
{
	if (*len >= 2 && ((*s)[0] == '"' || (*s)[0] == '\'') && (*s)[*len - 1] == (*s)[0])
		(*s)++, *len -= 2;
}

static bool yaml_item(const char *path, unsigned line, const char *s, size_t len,
		      struct tsig_key *k)
{
	const char *colon = memchr(s, ':', len);
	if (colon == NULL)
		return tsig_error(path, line, "expected 'NAME: VALUE'");
	const char *name = s, *v = colon + 1;
	size_t nlen = (size_t)(colon - s), vlen = len - nlen - 1;
	trim(&name, &nlen);
	trim(&v, &vlen);
	unquote(&v, &vlen);
#define YAML_IS(w) (nlen == sizeof(w) - 1 && strncmp(name, w, nlen) == 0)
	if (YAML_IS("id"))
		return set_field(path, line, "the key id", k->name, sizeof k->name, v, vlen,
				 &k->line);
	if (YAML_IS("algorithm"))
		return set_field(path, line, "algorithm", k->alg, sizeof k->alg, v, vlen,
				 &k->alg_line);
	if (YAML_IS("secret"))
		return set_field(path, line, "secret", k->secret, sizeof k->secret, v, vlen,
				 &k->secret_line);
	if (YAML_IS("comment"))
		return true;
#undef YAML_IS
	return tsig_error(path, line, "unknown key option '%.*s' (id, algorithm, secret)",
			  (int)(nlen < 64 ? nlen : 64), name);
}

static bool yaml_line(const char *path, unsigned line, const char *s, size_t len, bool *in_key,
		      struct tsig_key *k)
{
	if (!isspace((unsigned char)s[0])) {
		trim(&s, &len);
		if (len == 4 && memcmp(s, "key:", 4) == 0 && !*in_key)
			return *in_key = true;
		return tsig_error(path, line, "expected 'key:' %s",
				  *in_key ? "entries only (one key per file)" : "(Knot format)");
	}
	if (!*in_key)
		return tsig_error(path, line, "expected 'key:' first");
	trim(&s, &len);
	if (len > 0 && s[0] == '-') {
		if (k->line != 0)
			return tsig_error(path, line,
					  "a second key (first on line %u): keep one key per file",
					  k->line);
		s++, len--;
		trim(&s, &len);
		if (len < 3 || memcmp(s, "id:", 3) != 0)
			return tsig_error(path, line, "a key entry starts with '- id: NAME'");
	} else if (k->line == 0) {
		return tsig_error(path, line, "a key entry starts with '- id: NAME'");
	}
	return yaml_item(path, line, s, len, k);
}

static bool tsig_parse_knot(const char *path, const char *data, size_t len, struct tsig_key *k)
{
	bool in_key = false;
	unsigned line = 0;
	for (const char *p = data, *end = data + len; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		line++;
		const char *hash = memchr(p, '#', n);
		size_t used = hash != NULL ? (size_t)(hash - p) : n;
		const char *s = p;
		size_t t = used;
		trim(&s, &t);
		if (t > 0 && !yaml_line(path, line, p, used, &in_key, k))
			return false;
		p += n + (nl != NULL);
	}
	if (k->line == 0)
		return tsig_error(path, 0, "no key entry ('key:' then '  - id: NAME')");
	return true;
}

/* ldns up to 1.8.3 (at least) misspells hmac-sha384 in its TSIG code
 * ("hmac-shac384.", NLnetLabs/ldns#306, still open), so it cannot sign
 * with it, and asking it to leaks inside ldns: refused up front with why.
 * A later ldns is tried; if it still fails, signing names ldns's error. */
static bool ldns_signs(const char *alg)
{
	unsigned a = 0, b = 0, c = 0;
	if (strcmp(alg, "hmac-sha384") != 0)
		return true;
	if (sscanf(ldns_version(), "%u.%u.%u", &a, &b, &c) < 2)
		return false;
	return a > 1 || (a == 1 && (b > 8 || (b == 8 && c > 3)));
}

/* RFC 8945 6: hmac-sha256 is RECOMMENDED; hmac-md5 MUST NOT be used and
 * hmac-sha1 is NOT RECOMMENDED. */
static bool tsig_check_alg(const char *path, struct tsig_key *k)
{
	for (char *c = k->alg; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	size_t n = strlen(k->alg);
	if (n > 0 && k->alg[n - 1] == '.')
		k->alg[n - 1] = '\0';
	static const char *const ok[] = {"hmac-sha256", "hmac-sha384", "hmac-sha512"};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		if (strcmp(k->alg, ok[i]) != 0)
			continue;
		if (ldns_signs(k->alg))
			return true;
		return tsig_error(
			path, k->alg_line,
			"this system's ldns (%s) cannot sign with %s (NLnetLabs/ldns#306); "
			"make an hmac-sha256 or hmac-sha512 key",
			ldns_version(), k->alg);
	}
	if (strncmp(k->alg, "hmac-md5", 8) == 0 || strcmp(k->alg, "hmac-sha1") == 0)
		return tsig_error(path, k->alg_line,
				  "algorithm %s is refused: RFC 8945 6 says hmac-md5 MUST NOT "
				  "be used and hmac-sha1 is NOT RECOMMENDED; make a new key: "
				  "keymgr -t NAME hmac-sha256 (or tsig-keygen -a hmac-sha256 NAME)",
				  k->alg);
	return tsig_error(path, k->alg_line,
			  "algorithm '%s' is not supported (hmac-sha256, hmac-sha384 or "
			  "hmac-sha512)",
			  k->alg);
}

static bool tsig_check(const char *path, struct tsig_key *k)
{
	if (k->alg_line == 0)
		return tsig_error(path, k->line, "key %s has no algorithm", k->name);
	if (k->secret_line == 0)
		return tsig_error(path, k->line, "key %s has no secret", k->name);
	ldns_rdf *name = NULL, *secret = NULL;
	bool ok = ldns_str2rdf_dname(&name, k->name) == LDNS_STATUS_OK;
	ldns_rdf_deep_free(name);
	if (!ok)
		return tsig_error(path, k->line, "'%s' is not a valid key name (a domain name)",
				  k->name);
	if (!tsig_check_alg(path, k))
		return false;
	ok = ldns_str2rdf_b64(&secret, k->secret) == LDNS_STATUS_OK && secret != NULL &&
	     ldns_rdf_size(secret) > 0;
	size_t bytes = secret != NULL ? ldns_rdf_size(secret) : 0;
	if (secret != NULL)
		explicit_bzero(ldns_rdf_data(secret), ldns_rdf_size(secret));
	ldns_rdf_deep_free(secret);
	if (!ok)
		return tsig_error(path, k->secret_line, "the secret is not base64");
	if (bytes > NSUPDATE_MAX_SECRET)
		return tsig_error(path, k->secret_line,
				  "the secret is %zu bytes, more than NSUPDATE_MAX_SECRET (%d)",
				  bytes, NSUPDATE_MAX_SECRET);
	return true;
}

/* Others must not read a shared secret: whoever has it may change the zone. */
static bool tsig_check_mode(const char *path, const struct stat *st)
{
	if ((st->st_mode & (S_IROTH | S_IWOTH)) == 0)
		return true;
	cli_err("TSIG key file %s is %s by others (mode %04o): whoever reads it can change the "
		"zone; run: chmod 600 %s",
		path, (st->st_mode & S_IROTH) ? "readable" : "writable",
		(unsigned)(st->st_mode & 07777), path);
	return false;
}

static bool tsig_load(const char *path, struct tsig_key *k)
{
	struct fileread_file f;
	struct fileread_error e;
	memset(k, 0, sizeof *k);
	if (fileread(path, FILEREAD_CAP(NSUPDATE_MAX_TSIG_FILE), &f, &e) != FILEREAD_OK) {
		io_fileread_error(path, "TSIG key file", &e);
		return false;
	}
	bool ok = tsig_check_mode(path, &f.st);
	if (ok && memchr(f.data, '\0', f.len) != NULL)
		ok = tsig_error(path, 0, "contains a NUL byte: not a key file");
	if (ok) {
		const char *s = (const char *)f.data;
		size_t n = f.len;
		while (n > 0 && (isspace((unsigned char)*s) || *s == '#')) {
			if (*s == '#') /* a leading comment line (keymgr writes one) */
				while (n > 0 && *s != '\n')
					s++, n--;
			else
				s++, n--;
		}
		bool knot = n >= 4 && memcmp(s, "key:", 4) == 0;
		ok = knot ? tsig_parse_knot(path, (const char *)f.data, f.len, k)
			  : tsig_parse_bind(path, (const char *)f.data, f.len, k);
	}
	fileread_free(&f); /* wipes the secret */
	return ok && tsig_check(path, k);
}

/* ---- the server and the options ------------------------------------------- */

/* A numeric address alone ("192.0.2.1", "::1", "[::1]"): port 53. */
static bool bare_address(const char *server, struct sockaddr_storage *ss)
{
	char host[64];
	size_t n = strlen(server);
	if (n >= 2 && server[0] == '[' && server[n - 1] == ']')
		server++, n -= 2;
	if (n == 0 || n >= sizeof host)
		return false;
	memcpy(host, server, n);
	host[n] = '\0';
	memset(ss, 0, sizeof *ss);
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(NSUPDATE_DEFAULT_PORT);
		return true;
	}
	if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(NSUPDATE_DEFAULT_PORT);
		return true;
	}
	return false;
}

/* "ADDRESS:PORT", "[IPV6]:PORT" (conf/hostport.c), or a bare address. */
static bool parse_server(struct nsupdate *ns, const char *server)
{
	struct sockaddr_storage ss;
	socklen_t len;
	uint16_t port = NSUPDATE_DEFAULT_PORT;
	if (!hostport_sockaddr(server, &ss, &len) && !bare_address(server, &ss)) {
		cli_err("--nsupdate %s: give a numeric ADDRESS[:PORT] or [IPV6]:PORT "
			"(e.g. 192.0.2.1, 127.0.0.1:5353, [::1]:53)",
			server);
		return false;
	}
	ns->addr = ldns_sockaddr_storage2rdf(&ss, &port);
	ns->port = port;
	snprintf(ns->server, sizeof ns->server, "%s", server);
	if (ns->addr == NULL)
		cli_err("out of memory");
	return ns->addr != NULL;
}

static bool parse_ttl(struct nsupdate *ns, const char *ttl)
{
	uint64_t v = NSUPDATE_DEFAULT_TTL;
	if (ttl != NULL && (!cli_parse_u64(ttl, &v) || v < 1 || v > NSUPDATE_MAX_TTL)) {
		cli_err("--ttl %s: give seconds, 1 to %u (NSUPDATE_MAX_TTL: signetd waits at most "
			"that long before it switches)",
			ttl, NSUPDATE_MAX_TTL);
		return false;
	}
	ns->ttl = (uint32_t)v;
	return true;
}

static bool parse_zone(struct nsupdate *ns, const char *zone)
{
	if (zone == NULL)
		return true;
	if (!cli_valid_dns_name("zone", zone))
		return false;
	ns->zone = strdup(zone);
	if (ns->zone == NULL)
		cli_err("out of memory");
	return ns->zone != NULL;
}

struct nsupdate *nsupdate_new(const char *server, const char *tsig_path, const char *zone,
			      const char *ttl)
{
	struct nsupdate *ns = calloc(1, sizeof *ns);
	if (ns == NULL) {
		cli_err("out of memory");
		return NULL;
	}
	if (!parse_server(ns, server) || !parse_ttl(ns, ttl) || !parse_zone(ns, zone) ||
	    !tsig_load(tsig_path, &ns->key)) {
		nsupdate_free(ns);
		return NULL;
	}
	return ns;
}

void nsupdate_free(struct nsupdate *ns)
{
	if (ns == NULL)
		return;
	ldns_rdf_deep_free(ns->addr);
	free(ns->zone);
	explicit_bzero(&ns->key, sizeof ns->key);
	free(ns);
}

const char *nsupdate_server(const struct nsupdate *ns)
{
	return ns->server;
}

/* ---- talking to the server ------------------------------------------------ */

/* One server, TCP (an RSA record and its TSIG pass 512 bytes), one try,
 * NSUPDATE_TIMEOUT_S for the connection and for the answer. */
static ldns_resolver *resolver_new(const struct nsupdate *ns, bool tsig)
{
	ldns_resolver *r = ldns_resolver_new();
	if (r == NULL || ldns_resolver_push_nameserver(r, ns->addr) != LDNS_STATUS_OK) {
		ldns_resolver_deep_free(r);
		cli_err("out of memory");
		return NULL;
	}
	ldns_resolver_set_port(r, ns->port);
	ldns_resolver_set_usevc(r, true);
	ldns_resolver_set_recursive(r, false);
	ldns_resolver_set_retry(r, 1);
	ldns_resolver_set_retrans(r, 0);
	ldns_resolver_set_fail(r, true);
	ldns_resolver_set_random(r, false);
	ldns_resolver_set_timeout(r, (struct timeval){.tv_sec = NSUPDATE_TIMEOUT_S});
	if (tsig) {
		char alg[TSIG_ALG_MAX + 1];
		snprintf(alg, sizeof alg, "%s.", ns->key.alg);
		ldns_resolver_set_tsig_keyname(r, ns->key.name);
		ldns_resolver_set_tsig_algorithm(r, alg);
		ldns_resolver_set_tsig_keydata(r, ns->key.secret);
	}
	return r;
}

static void resolver_free(ldns_resolver *r)
{
	if (r == NULL)
		return;
	/* ldns keeps copies of the TSIG strings: wipe the secret before it frees */
	char *data = (char *)ldns_resolver_tsig_keydata(r);
	if (data != NULL)
		explicit_bzero(data, strlen(data));
	ldns_resolver_deep_free(r);
}

/* The IANA names (RFC 1035 4.1.1, RFC 2136 2.2). */
static const char *rcode_name(unsigned rcode)
{
	static const char *const names[] = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN",
					    "NOTIMP",  "REFUSED", "YXDOMAIN", "YXRRSET",
					    "NXRRSET", "NOTAUTH", "NOTZONE"};
	return rcode < sizeof names / sizeof names[0] ? names[rcode] : "an unknown RCODE";
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* No answer at all. ldns does not keep errno; the time taken tells a
 * refused connection from a server that stayed silent. */
static void no_answer(const struct nsupdate *ns, const char *what, double started)
{
	double took = now_s() - started;
	if (took < NSUPDATE_TIMEOUT_S - 0.5)
		cli_err("%s: cannot reach %s over TCP after %.1f s (connection refused or failed): "
			"check that the server runs and listens on TCP port %u of that address",
			what, ns->server, took, (unsigned)ns->port);
	else
		cli_err("%s: no answer from %s within NSUPDATE_TIMEOUT_S (%d s): check that the "
			"server runs, listens on TCP port %u, and that no firewall drops the "
			"packets",
			what, ns->server, NSUPDATE_TIMEOUT_S, (unsigned)ns->port);
}

/* The SOA that answers for name: in the answer (name is the zone apex) or
 * the authority section (a name inside the zone). */
static ldns_rdf *soa_owner(const ldns_pkt *p)
{
	ldns_rr_list *l = ldns_pkt_rr_list_by_type(p, LDNS_RR_TYPE_SOA, LDNS_SECTION_ANSWER);
	if (l == NULL)
		l = ldns_pkt_rr_list_by_type(p, LDNS_RR_TYPE_SOA, LDNS_SECTION_AUTHORITY);
	ldns_rdf *owner = l != NULL ? ldns_rdf_clone(ldns_rr_owner(ldns_rr_list_rr(l, 0))) : NULL;
	ldns_rr_list_deep_free(l);
	return owner;
}

static ldns_rdf *zone_ask(const struct nsupdate *ns, ldns_resolver *r, ldns_rdf *name,
			  const char *owner, bool *stop)
{
	ldns_pkt *reply = NULL;
	double started = now_s();
	ldns_status st = ldns_resolver_send(&reply, r, name, LDNS_RR_TYPE_SOA, LDNS_RR_CLASS_IN, 0);
	*stop = true;
	if (reply == NULL || st != LDNS_STATUS_OK) {
		char what[700];
		snprintf(what, sizeof what, "finding the zone of %s", owner);
		ldns_pkt_free(reply);
		no_answer(ns, what, started);
		return NULL;
	}
	ldns_rdf *zone = soa_owner(reply);
	unsigned rc = ldns_pkt_get_rcode(reply);
	if (zone == NULL && rc != LDNS_RCODE_NOERROR && rc != LDNS_RCODE_NXDOMAIN)
		cli_err("finding the zone of %s: %s answered the SOA query with %s: it does not "
			"serve that name; give --zone ZONE, or the zone's primary server",
			owner, ns->server, rcode_name(rc));
	else if (zone == NULL && ldns_pkt_aa(reply) == false)
		cli_err("finding the zone of %s: %s is not authoritative for it (a referral or a "
			"cached answer); give the zone's primary server, or --zone ZONE",
			owner, ns->server);
	else
		*stop = zone != NULL;
	ldns_pkt_free(reply);
	return zone;
}

/* The zone of owner: the SOA owner the server names, walking up a label at
 * a time while it answers without one (a minimal-responses server). */
static ldns_rdf *zone_find(const struct nsupdate *ns, const char *owner)
{
	if (ns->zone != NULL) {
		ldns_rdf *z = ldns_dname_new_frm_str(ns->zone);
		if (z == NULL)
			cli_err("--zone %s is not a domain name", ns->zone);
		return z;
	}
	ldns_resolver *r = resolver_new(ns, false); /* SOA records are public */
	ldns_rdf *name = ldns_dname_new_frm_str(owner), *zone = NULL;
	bool stop = false;
	for (int i = 0; r != NULL && name != NULL && !stop && i < ZONE_WALK_MAX; i++) {
		zone = zone_ask(ns, r, name, owner, &stop);
		ldns_rdf *up = stop ? NULL : ldns_dname_left_chop(name);
		if (!stop && (up == NULL || ldns_dname_label_count(up) == 0)) {
			cli_err("finding the zone of %s: %s names no SOA for it or any name above; "
				"give --zone ZONE",
				owner, ns->server);
			ldns_rdf_deep_free(up);
			up = NULL, stop = true;
		}
		if (!stop) {
			ldns_rdf_deep_free(name);
			name = up;
		}
	}
	ldns_rdf_deep_free(name);
	resolver_free(r);
	return zone;
}

/* ---- the update ------------------------------------------------------------ */

/* RFC 2136 2.5.2 "Delete An RRset": CLASS ANY, TTL 0, no RDATA. */
static ldns_rr *txt_delete_rrset(const ldns_rdf *owner)
{
	ldns_rr *rr = ldns_rr_new();
	ldns_rdf *o = ldns_rdf_clone(owner);
	if (rr == NULL || o == NULL) {
		ldns_rr_free(rr);
		ldns_rdf_deep_free(o);
		return NULL;
	}
	ldns_rr_set_owner(rr, o);
	ldns_rr_set_ttl(rr, 0);
	ldns_rr_set_class(rr, LDNS_RR_CLASS_ANY);
	ldns_rr_set_type(rr, LDNS_RR_TYPE_TXT);
	return rr;
}

/* RFC 2136 2.5.1 "Add To An RRset": the value as character-strings of at
 * most 255 bytes (RFC 6376 3.6.2.2: a verifier joins them). */
static ldns_rr *txt_add(const ldns_rdf *owner, uint32_t ttl, const char *value)
{
	ldns_rr *rr = txt_delete_rrset(owner);
	if (rr == NULL)
		return NULL;
	ldns_rr_set_ttl(rr, ttl);
	ldns_rr_set_class(rr, LDNS_RR_CLASS_IN);
	size_t len = strlen(value), off = 0;
	do {
		uint8_t s[TXT_STRING_MAX + 1];
		size_t n = len - off < TXT_STRING_MAX ? len - off : TXT_STRING_MAX;
		s[0] = (uint8_t)n;
		memcpy(s + 1, value + off, n);
		ldns_rdf *rdf = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_STR, n + 1, s);
		if (rdf == NULL || !ldns_rr_push_rdf(rr, rdf)) {
			ldns_rdf_deep_free(rdf);
			ldns_rr_free(rr);
			return NULL;
		}
		off += n;
	} while (off < len);
	return rr;
}

/* One update message: zone section, no prerequisites, delete then add. */
static ldns_pkt *update_pkt(const struct nsupdate *ns, ldns_rdf *zone, const ldns_rdf *owner,
			    const char *value)
{
	ldns_rr_list *up = ldns_rr_list_new();
	ldns_rr *del = txt_delete_rrset(owner), *add = txt_add(owner, ns->ttl, value);
	ldns_pkt *p = NULL;
	if (up != NULL && del != NULL && add != NULL && ldns_rr_list_push_rr(up, del)) {
		del = NULL; /* the list owns it */
		if (ldns_rr_list_push_rr(up, add)) {
			add = NULL;
			p = ldns_update_pkt_new(zone, LDNS_RR_CLASS_IN, NULL, up, NULL);
			zone = NULL; /* ldns_update_pkt_new took it */
		}
	}
	ldns_rr_free(del);
	ldns_rr_free(add);
	ldns_rr_list_deep_free(up); /* ldns_update_pkt_new cloned the list */
	ldns_rdf_deep_free(zone);
	if (p != NULL) {
		ldns_pkt_set_rd(p, false); /* RFC 2136 2.2: only the opcode is set */
		ldns_pkt_set_random_id(p);
	}
	return p;
}

/* RFC 8945 5.3.2: the error of the answer's TSIG (BADSIG, BADKEY, ...). */
static unsigned tsig_error_of(const ldns_pkt *reply)
{
	const ldns_rr *t = ldns_pkt_tsig(reply);
	if (t == NULL || ldns_rr_rd_count(t) < 6)
		return 0;
	return ldns_rdf2native_int16(ldns_rr_rdf(t, 5));
}

#define TSIG_BADSIG 16  /* RFC 8945 */
#define TSIG_BADKEY 17  /* RFC 8945 */
#define TSIG_BADTIME 18 /* RFC 8945 */

static const char *tsig_error_name(unsigned e)
{
	return e == TSIG_BADSIG    ? "BADSIG"
	       : e == TSIG_BADKEY  ? "BADKEY"
	       : e == TSIG_BADTIME ? "BADTIME"
				   : rcode_name(e);
}

/* What to fix, by RCODE (RFC 2136 2.2, RFC 8945 5.3). */
static const char *rcode_fix(unsigned rc, unsigned tsig_err)
{
	switch (rc) {
	case LDNS_RCODE_FORMERR: return "the server could not parse the update; see its log";
	case LDNS_RCODE_SERVFAIL:
		return "the server failed to apply it (a secondary that cannot forward it, or a "
		       "server error); see its log";
	case LDNS_RCODE_NOTIMPL: return "the server does not accept dynamic updates (RFC 2136)";
	case LDNS_RCODE_REFUSED:
		return "the server's policy refuses it: allow updates of this name with this key "
		       "(Knot: an acl with the key and action: update on the zone; BIND: "
		       "update-policy or allow-update)";
	case LDNS_RCODE_NOTZONE: return "the name is not inside the zone: fix --zone";
	case LDNS_RCODE_NOTAUTH:
		switch (tsig_err) {
		case TSIG_BADKEY:
			return "the server does not know this key (its name and algorithm), or no "
			       "rule lets this key update this zone (Knot answers so when no acl "
			       "allows it): add the key to the server, and allow it updates of the "
			       "zone";
		case TSIG_BADSIG:
			return "the server knows this key name but the secret differs: use the "
			       "same key file on both sides";
		case TSIG_BADTIME:
			return "the clocks of this host and the server differ by more than 300 s: "
			       "set both with NTP";
		default:
			return "the server is not authoritative for the zone: give its primary "
			       "server, or fix --zone";
		}
	default: return "see the server's log";
	}
}

static bool update_result(const struct nsupdate *ns, ldns_status st, const ldns_pkt *reply,
			  const char *owner, const char *zone, double started)
{
	if (reply == NULL) {
		char what[700];
		snprintf(what, sizeof what, "updating %s", owner);
		no_answer(ns, what, started);
		return false;
	}
	unsigned rc = ldns_pkt_get_rcode(reply), terr = tsig_error_of(reply);
	if (rc != LDNS_RCODE_NOERROR) {
		char tsig[64] = "";
		if (terr != 0)
			snprintf(tsig, sizeof tsig, ", TSIG error %s", tsig_error_name(terr));
		cli_err("updating %s in zone %s at %s with key %s: %s%s: %s", owner, zone,
			ns->server, ns->key.name, rcode_name(rc), tsig, rcode_fix(rc, terr));
		return false;
	}
	/* ldns_send verified the answer's TSIG with ldns_pkt_tsig_verify */
	if (st != LDNS_STATUS_OK || ldns_pkt_tsig(reply) == NULL) {
		cli_err("updating %s in zone %s at %s: the answer says NOERROR but its TSIG does "
			"not verify with key %s (%s), so it may not come from the server: check "
			"the record with signet dnscheck --server",
			owner, zone, ns->server, ns->key.name,
			st != LDNS_STATUS_OK ? ldns_get_errorstr_by_id(st)
					     : "no TSIG in the answer");
		return false;
	}
	return true;
}

static bool send_update(const struct nsupdate *ns, ldns_pkt *p, const char *owner, const char *zone)
{
	ldns_resolver *r = resolver_new(ns, true);
	if (r == NULL)
		return false;
	bool ok = false;
	ldns_status st = ldns_update_pkt_tsig_add(p, r);
	if (st != LDNS_STATUS_OK) {
		cli_err("cannot sign the update with key %s (%s): %s", ns->key.name, ns->key.alg,
			ldns_get_errorstr_by_id(st));
	} else {
		ldns_pkt *reply = NULL;
		double started = now_s();
		st = ldns_send(&reply, r, p);
		ok = update_result(ns, st, reply, owner, zone, started);
		ldns_pkt_free(reply);
	}
	resolver_free(r);
	return ok;
}

bool nsupdate_dkim_record(struct nsupdate *ns, const char *domain, const char *selector,
			  const char *value)
{
	char owner[600];
	if ((size_t)snprintf(owner, sizeof owner, "%s._domainkey.%s.", selector, domain) >=
	    sizeof owner) {
		cli_err("%s._domainkey.%s: name too long", selector, domain);
		return false;
	}
	ldns_rdf *name = ldns_dname_new_frm_str(owner);
	ldns_rdf *zone = name != NULL ? zone_find(ns, owner) : NULL;
	if (name == NULL) {
		cli_err("%s is not a valid domain name", owner);
		return false;
	}
	bool ok = false;
	if (zone != NULL) {
		char *ztext = ldns_rdf2str(zone);
		ldns_pkt *p = update_pkt(ns, zone, name, value); /* takes zone */
		if (p == NULL || ztext == NULL)
			cli_err("out of memory");
		else
			ok = send_update(ns, p, owner, ztext);
		ldns_pkt_free(p);
		free(ztext);
	}
	ldns_rdf_deep_free(name);
	return ok;
}
