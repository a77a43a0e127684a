/* report_mail.c: rua destinations, gzip, the report message and sendmail
 * (report_mail.h). No DNS and no XML here. */
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <signet/psl.h>
#include <zlib.h>

#include "cli.h"
#include "report_mail.h"

static void why_add(char *why, size_t cap, const char *fmt, const char *a)
{
	if (why == NULL)
		return;
	size_t used = strlen(why);
	if (used < cap)
		snprintf(why + used, cap - used, fmt, a);
}

static int hexval(int c)
{
	return isdigit(c) ? c - '0' : isxdigit(c) ? tolower(c) - 'a' + 10 : -1;
}

/* "!10m": RFC 7489 6.2 size = 1*DIGIT [ "k" / "m" / "g" / "t" ] (powers of 2^10). */
static bool parse_size(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	unsigned shift = 0;
	if (!isdigit((unsigned char)*s))
		return false;
	for (; isdigit((unsigned char)*s); s++) {
		if (v > (UINT64_MAX - 9) / 10)
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	switch (tolower((unsigned char)*s)) {
	case '\0': break;
	case 'k': shift = 10; break;
	case 'm': shift = 20; break;
	case 'g': shift = 30; break;
	case 't': shift = 40; break;
	default: return false;
	}
	if (*s != '\0' && s[1] != '\0')
		return false;
	if (shift && v > (UINT64_MAX >> shift))
		return false;
	*out = v << shift;
	return true;
}

/* One URI "mailto:addr[!size]" (addr %-decoded, RFC 6068). */
static bool parse_uri(const char *uri, struct report_dest *d)
{
	size_t o = 0;
	const char *p = uri + 7;
	if (strncasecmp(uri, "mailto:", 7) != 0)
		return false;
	for (; *p && *p != '!' && *p != '?'; p++) {
		int c = (unsigned char)*p;
		if (c == '%') {
			int h = hexval((unsigned char)p[1]),
			    l = h < 0 ? -1 : hexval((unsigned char)p[2]);
			if (l < 0)
				return false;
			c = h * 16 + l;
			p += 2;
		}
		if (c <= 0x20 || c >= 0x7f || c == '<' || c == '>' || o >= REPORT_MAIL_MAX_ADDR)
			return false;
		d->addr[o++] = (char)c;
	}
	d->addr[o] = '\0';
	d->max_size = 0;
	if (*p == '!' && !parse_size(p + 1, &d->max_size))
		return false;
	const char *at = strrchr(d->addr, '@');
	if (at == NULL || at == d->addr || at[1] == '\0' || d->addr[0] == '-')
		return false;
	d->domain = at + 1;
	return true;
}

size_t report_rua_parse(const char *rua, struct report_dest *out, size_t cap, char *why,
			size_t whycap)
{
	size_t n = 0;
	char *copy = strdup(rua ? rua : "");
	if (copy == NULL)
		return 0;
	for (char *save = NULL, *u = strtok_r(copy, ",", &save); u;
	     u = strtok_r(NULL, ",", &save)) {
		while (*u == ' ' || *u == '\t')
			u++;
		char *e = u + strlen(u);
		while (e > u && (e[-1] == ' ' || e[-1] == '\t'))
			*--e = '\0';
		if (*u == '\0')
			continue;
		if (n == cap) {
			why_add(why, whycap, "%s: more than REPORT_MAIL_MAX_RUA destinations\n", u);
			continue;
		}
		if (!parse_uri(u, &out[n])) {
			why_add(why, whycap, "%s: not a usable mailto: URI\n", u);
			continue;
		}
		n++;
	}
	free(copy);
	return n;
}

/* dest is name or below it (label boundary). */
static bool at_or_below(const char *dest, const char *name)
{
	size_t ld = strlen(dest), ln = strlen(name);
	if (ld == ln)
		return strcasecmp(dest, name) == 0;
	return ld > ln && dest[ld - ln - 1] == '.' && strcasecmp(dest + ld - ln, name) == 0;
}

bool report_dest_internal(const struct signet_psl *psl, const char *policy, const char *dest)
{
	if (psl == NULL)
		return at_or_below(dest, policy);
	/* DMARC-ORG-01: one organizational domain (RFC 7489 3.2) */
	return strcasecmp(signet_psl_org_domain(psl, policy, strlen(policy)),
			  signet_psl_org_domain(psl, dest, strlen(dest))) == 0;
}

bool report_gzip(const char *inner_name, const uint8_t *p, size_t len, uint8_t **out,
		 size_t *outlen)
{
	z_stream z;
	gz_header h;
	memset(&z, 0, sizeof z);
	memset(&h, 0, sizeof h);
	*out = NULL;
	if (deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
	    Z_OK) {
		cli_err("gzip: cannot start zlib");
		return false;
	}
	h.name = (Bytef *)inner_name;
	h.os = 3; /* Unix */
	uLong cap = deflateBound(&z, (uLong)len) + 64 + strlen(inner_name);
	uint8_t *buf = malloc(cap);
	if (buf == NULL || deflateSetHeader(&z, &h) != Z_OK) {
		free(buf);
		deflateEnd(&z);
		cli_err("gzip: out of memory");
		return false;
	}
	z.next_in = (Bytef *)p;
	z.avail_in = (uInt)len;
	z.next_out = buf;
	z.avail_out = (uInt)cap;
	int rc = deflate(&z, Z_FINISH);
	*outlen = z.total_out;
	deflateEnd(&z);
	if (rc != Z_STREAM_END) {
		free(buf);
		cli_err("gzip: zlib failed (%d)", rc);
		return false;
	}
	*out = buf;
	return true;
}

static void base64_lines(FILE *f, const uint8_t *p, size_t len)
{
	unsigned char line[80];
	for (size_t k = 0; k < len; k += 57) { /* 57 bytes -> 76 characters (RFC 2045 6.8) */
		size_t n = len - k < 57 ? len - k : 57;
		int w = EVP_EncodeBlock(line, p + k, (int)n);
		fwrite(line, 1, (size_t)w, f);
		fputc('\n', f);
	}
}

char *report_mail_build(const struct report_mail *m, size_t *len)
{
	char *buf = NULL, date[64], boundary[64];
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);
	if (f == NULL) {
		cli_err("report mail: out of memory");
		return NULL;
	}
	time_t t = (time_t)m->date;
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
	/* The boundary cannot occur in base64 or in our text part ('=' and '_'). */
	snprintf(boundary, sizeof boundary, "=_signet_%lld_%lld", (long long)m->begin,
		 (long long)m->date);
	fprintf(f, "From: %s\nTo: %s\nDate: %s\n", m->from, m->to, date);
	/* RFC 9990 / RFC 7489 7.2.1.1: "Report Domain: D Submitter: S Report-ID: <id>" */
	fprintf(f, "Subject: Report Domain: %s Submitter: %s Report-ID: <%s>\n", m->domain,
		m->submitter, m->report_id);
	fprintf(f, "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"%s\"\n\n",
		boundary);
	fprintf(f, "This is a multi-part message in MIME format.\n\n--%s\n", boundary);
	fprintf(f,
		"Content-Type: text/plain; charset=us-ascii\nContent-Transfer-Encoding: 7bit\n\n");
	fprintf(f,
		"This is a DMARC aggregate report (RFC 9990) from %s\n"
		"for the domain %s, covering %lld to %lld (unix time, UTC).\n"
		"Report-ID: %s\n\n",
		m->submitter, m->domain, (long long)m->begin, (long long)m->end, m->report_id);
	fprintf(f, "--%s\nContent-Type: application/gzip; name=\"%s\"\n", boundary, m->filename);
	fprintf(f,
		"Content-Transfer-Encoding: base64\n"
		"Content-Disposition: attachment; filename=\"%s\"\n\n",
		m->filename);
	base64_lines(f, m->gz, m->gzlen);
	fprintf(f, "\n--%s--\n", boundary);
	if (fclose(f) != 0) {
		free(buf);
		cli_err("report mail: out of memory");
		return NULL;
	}
	*len = size;
	return buf;
}

static bool write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		p += w;
		len -= (size_t)w;
	}
	return true;
}

bool report_mail_send(const char *sendmail, const char *from, const char *rcpt, const char *msg,
		      size_t len)
{
	int fds[2];
	if (pipe(fds) != 0) {
		cli_err("cannot run %s: %s", sendmail, strerror(errno));
		return false;
	}
	pid_t pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		cli_err("cannot run %s: %s", sendmail, strerror(errno));
		return false;
	}
	if (pid == 0) {
		dup2(fds[0], 0);
		close(fds[0]);
		close(fds[1]);
		execl(sendmail, sendmail, "-i", "-f", from, "--", rcpt, (char *)NULL);
		fprintf(stderr, "signet: cannot run %s: %s\n", sendmail, strerror(errno));
		_exit(127);
	}
	close(fds[0]);
	void (*old)(int) = signal(SIGPIPE, SIG_IGN);
	bool wrote = write_all(fds[1], msg, len);
	close(fds[1]);
	signal(SIGPIPE, old);
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		cli_err("%s -f %s -- %s failed (%s %d)", sendmail, from, rcpt,
			WIFEXITED(status) ? "exit status" : "signal",
			WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
		return false;
	}
	if (!wrote) {
		cli_err("%s -- %s did not read the whole message", sendmail, rcpt);
		return false;
	}
	return true;
}
