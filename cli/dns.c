/* dns.c: TXT lookups for the CLI through the system resolver (glibc
 * libresolv, res_nquery). Tells "no such record" (NXDOMAIN, NODATA) from
 * temporary failure (timeout, SERVFAIL) as RFC 6376 6.1.2 needs, and keeps
 * each RR's character-strings so dnscheck can show how a record is split. */
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netinet/in.h>
#include <netdb.h>
#include <resolv.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define DNS_ANSWER_MAX 65536 /* the largest DNS message */

struct dns_resolver {
	struct __res_state res;
};

/* "IPv4[@PORT]" → sockaddr_in. IPv6 would need glibc's private _ext
 * fields, so it is refused with a clear message. */
static bool parse_server(const char *server, struct sockaddr_in *sin)
{
	char host[64];
	const char *at = strchr(server, '@');
	size_t hlen = at ? (size_t)(at - server) : strlen(server);
	uint64_t port = 53;
	struct in6_addr a6;

	if (hlen == 0 || hlen >= sizeof(host)) {
		cli_err("--server %s: expected an IPv4 address, optionally @PORT", server);
		return false;
	}
	memcpy(host, server, hlen);
	host[hlen] = '\0';
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	if (inet_pton(AF_INET, host, &sin->sin_addr) != 1) {
		if (inet_pton(AF_INET6, host, &a6) == 1)
			cli_err("--server %s: IPv6 addresses are not supported here; give an IPv4 "
				"address (e.g. 127.0.0.1@5353)",
				server);
		else
			cli_err("--server %s: '%s' is not an IPv4 address", server, host);
		return false;
	}
	if (at != NULL && (!cli_parse_u64(at + 1, &port) || port == 0 || port > 65535)) {
		cli_err("--server %s: port must be a number from 1 to 65535", server);
		return false;
	}
	sin->sin_port = htons((uint16_t)port);
	return true;
}

struct dns_resolver *dns_open(const char *server)
{
	struct dns_resolver *r = calloc(1, sizeof(*r));
	struct sockaddr_in sin;

	if (r == NULL) {
		cli_err("cannot start the DNS resolver: out of memory");
		return NULL;
	}
	if (server != NULL && !parse_server(server, &sin)) {
		free(r);
		return NULL;
	}
	if (res_ninit(&r->res) != 0) {
		cli_err("cannot start the DNS resolver: check /etc/resolv.conf");
		free(r);
		return NULL;
	}
	if (server != NULL) {
		/* glibc's res_send copies nsaddr_list when it changes (res_send.c). */
		r->res.nsaddr_list[0] = sin;
		r->res.nscount = 1;
	}
	return r;
}

void dns_close(struct dns_resolver *r)
{
	if (r == NULL)
		return;
	res_nclose(&r->res);
	free(r);
}

/* One TXT RDATA: a sequence of <length><bytes> character-strings
 * (RFC 1035 3.3.14). False if it runs past rdlen. */
static bool txt_rdata(const uint8_t *p, size_t rdlen, struct dns_rr *rr)
{
	size_t i = 0, n = 0;

	while (i < rdlen) {
		if (p[i] > rdlen - i - 1)
			return false;
		i += 1u + p[i];
		n++;
	}
	rr->data = malloc(rdlen + 1);
	rr->lens = calloc(n ? n : 1, sizeof(*rr->lens));
	if (rr->data == NULL || rr->lens == NULL)
		return false;
	for (i = 0; i < rdlen; i += 1u + p[i]) {
		memcpy(rr->data + rr->len, p + i + 1, p[i]);
		rr->len += p[i];
		rr->lens[rr->nstrings++] = p[i];
	}
	rr->data[rr->len] = '\0';
	return true;
}

static void set_status(struct dns_answer *a, enum signet_dns_status st, const char *why)
{
	a->status = st;
	snprintf(a->why, sizeof(a->why), "%s", why);
}

/* After res_nquery failed: what h_errno says (glibc res_query.c maps the
 * rcode: NXDOMAIN → HOST_NOT_FOUND, NOERROR without answers → NO_DATA,
 * SERVFAIL and timeouts → TRY_AGAIN, REFUSED/FORMERR → NO_RECOVERY). */
static void query_failed(struct dns_resolver *r, struct dns_answer *a)
{
	switch (r->res.res_h_errno) {
	case HOST_NOT_FOUND:
		set_status(a, SIGNET_DNS_NXDOMAIN, "the name does not exist (NXDOMAIN)");
		break;
	case NO_DATA:
		set_status(a, SIGNET_DNS_NXDOMAIN, "the name has no TXT record (NODATA)");
		break;
	case TRY_AGAIN:
		set_status(a, SIGNET_DNS_TEMPFAIL,
			   "no answer from the DNS server (timeout or SERVFAIL)");
		break;
	default:
		set_status(a, SIGNET_DNS_TEMPFAIL, "the DNS server refused or failed the query");
		break;
	}
}

static bool parse_answer(const uint8_t *ans, int len, struct dns_answer *a)
{
	ns_msg msg;
	ns_rr rr;
	int i, count;

	if (ns_initparse(ans, len, &msg) < 0) {
		set_status(a, SIGNET_DNS_TEMPFAIL, "malformed DNS answer");
		return true;
	}
	count = ns_msg_count(msg, ns_s_an);
	a->rr = calloc(count > 0 ? (size_t)count : 1, sizeof(*a->rr));
	if (a->rr == NULL)
		return false;
	for (i = 0; i < count; i++) {
		if (ns_parserr(&msg, ns_s_an, i, &rr) < 0) {
			set_status(a, SIGNET_DNS_TEMPFAIL, "malformed DNS answer");
			return true;
		}
		if (ns_rr_type(rr) != ns_t_txt || ns_rr_class(rr) != ns_c_in)
			continue; /* CNAMEs: the resolver followed them */
		if (!txt_rdata(ns_rr_rdata(rr), ns_rr_rdlen(rr), &a->rr[a->n])) {
			free(a->rr[a->n].data);
			free(a->rr[a->n].lens);
			return false;
		}
		a->n++;
	}
	if (a->n == 0)
		set_status(a, SIGNET_DNS_NXDOMAIN, "the name has no TXT record (NODATA)");
	else
		set_status(a, SIGNET_DNS_OK, "found");
	return true;
}

bool dns_txt(struct dns_resolver *r, const char *name, struct dns_answer *a)
{
	uint8_t *ans = malloc(DNS_ANSWER_MAX);
	int len;
	bool ok = true;

	memset(a, 0, sizeof(*a));
	if (ans == NULL) {
		cli_err("DNS lookup of %s: out of memory", name);
		return false;
	}
	len = res_nquery(&r->res, name, ns_c_in, ns_t_txt, ans, DNS_ANSWER_MAX);
	if (len < 0)
		query_failed(r, a);
	else if (len > DNS_ANSWER_MAX)
		set_status(a, SIGNET_DNS_TEMPFAIL, "DNS answer larger than 64 KiB");
	else
		ok = parse_answer(ans, len, a);
	free(ans);
	if (!ok) {
		/* txt_rdata also fails on a string running past its RDATA */
		dns_answer_free(a);
		set_status(a, SIGNET_DNS_TEMPFAIL, "malformed or oversized TXT record");
	}
	return true;
}

void dns_answer_free(struct dns_answer *a)
{
	size_t i;

	if (a->rr != NULL) {
		for (i = 0; i < a->n; i++) {
			free(a->rr[i].data);
			free(a->rr[i].lens);
		}
	}
	free(a->rr);
	a->rr = NULL;
	a->n = 0;
}
