/* dns.c: DNS lookups for the CLI through the system resolver (glibc
 * libresolv, res_nquery). Tells "no such record" (NXDOMAIN, NODATA) from
 * temporary failure (timeout, SERVFAIL) as RFC 6376 6.1.2 needs, and keeps
 * each RR's character-strings so dnscheck can show how a record is split. */
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netdb.h>
#include <resolv.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "txt.h" /* lib/: the one TXT joiner */

#define DNS_ANSWER_MAX 65536 /* the largest DNS message */

struct dns_resolver {
	struct __res_state res;
};

/* A --server address: one of these is used (v6 says which). */
struct server_addr {
	bool v6;
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
};

static bool server_syntax(const char *server)
{
	cli_err("--server %s: give IPv4[@PORT], IPv6[@PORT], [IPv6] or [IPv6]:PORT "
		"(e.g. 127.0.0.1@5353 or [::1]:5353)",
		server);
	return false;
}

/* "IPv4[@PORT]", "IPv6[@PORT]", "[IPv6]", "[IPv6]:PORT", "[IPv6]@PORT".
 * Without brackets a ':' belongs to the address ("::1:53" is an address),
 * so IPv6 with a port needs '@' or brackets. Numeric only: no DNS lookup
 * to find the DNS server. */
static bool parse_server(const char *server, struct server_addr *sa)
{
	char host[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
	const char *h = server, *hend, *port = NULL;
	uint64_t pnum = 53;
	struct addrinfo hints = {.ai_flags = AI_NUMERICHOST, .ai_socktype = SOCK_DGRAM};
	struct addrinfo *ai = NULL;

	if (server[0] == '[') {
		hints.ai_family = AF_INET6;
		h = server + 1;
		hend = strchr(h, ']');
		if (hend == NULL || (hend[1] != '\0' && hend[1] != ':' && hend[1] != '@'))
			return server_syntax(server);
		if (hend[1] != '\0')
			port = hend + 2;
	} else {
		hints.ai_family = AF_UNSPEC;
		hend = strchr(server, '@');
		if (hend != NULL)
			port = hend + 1;
		else
			hend = server + strlen(server);
	}
	if (hend == h || (size_t)(hend - h) >= sizeof(host))
		return server_syntax(server);
	memcpy(host, h, (size_t)(hend - h));
	host[hend - h] = '\0';
	if (port != NULL && (!cli_parse_u64(port, &pnum) || pnum == 0 || pnum > 65535)) {
		cli_err("--server %s: port must be a number from 1 to 65535", server);
		return false;
	}
	if (getaddrinfo(host, NULL, &hints, &ai) != 0 || ai == NULL) {
		cli_err("--server %s: '%s' is not an %s address", server, host,
			h != server ? "IPv6" : "IPv4 or IPv6");
		return false;
	}
	memset(sa, 0, sizeof(*sa));
	sa->v6 = ai->ai_family == AF_INET6;
	if (sa->v6) {
		memcpy(&sa->sin6, ai->ai_addr, sizeof(sa->sin6));
		sa->sin6.sin6_port = htons((uint16_t)pnum);
	} else {
		memcpy(&sa->sin, ai->ai_addr, sizeof(sa->sin));
		sa->sin.sin_port = htons((uint16_t)pnum);
	}
	freeaddrinfo(ai);
	return true;
}

/* Makes the server the only one res_nsend asks. glibc keeps an IPv6
 * server in _u._ext.nsaddrs[i] (malloc'd, freed by res_nclose) with
 * nsaddr_list[i].sin_family 0, as res_ninit itself does for an IPv6
 * nameserver of /etc/resolv.conf (glibc resolv_conf.c, res_send.c
 * get_nsaddr). It copies nsaddr_list when it changes (res_send.c). */
static bool use_server(struct __res_state *res, const struct server_addr *sa)
{
	if (sa->v6) {
		struct sockaddr_in6 *copy = malloc(sizeof(*copy));

		if (copy == NULL)
			return false;
		*copy = sa->sin6;
		free(res->_u._ext.nsaddrs[0]);
		res->_u._ext.nsaddrs[0] = copy;
		memset(&res->nsaddr_list[0], 0, sizeof(res->nsaddr_list[0]));
	} else {
		res->nsaddr_list[0] = sa->sin;
	}
	res->nscount = 1;
	return true;
}

struct dns_resolver *dns_open(const char *server)
{
	struct dns_resolver *r = calloc(1, sizeof(*r));
	struct server_addr sa;

	if (r == NULL) {
		cli_err("cannot start the DNS resolver: out of memory");
		return NULL;
	}
	if (server != NULL && !parse_server(server, &sa)) {
		free(r);
		return NULL;
	}
	if (res_ninit(&r->res) != 0) {
		cli_err("cannot start the DNS resolver: check /etc/resolv.conf");
		free(r);
		return NULL;
	}
	if (server != NULL && !use_server(&r->res, &sa)) {
		cli_err("cannot start the DNS resolver: out of memory");
		res_nclose(&r->res);
		free(r);
		return NULL;
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
 * (RFC 1035 3.3.14), joined by libsignet's joiner (base/txt.c, the one
 * signetd uses), with each string's length kept for dnscheck. False if it
 * runs past rdlen or on out of memory. */
static bool txt_rdata(const uint8_t *p, size_t rdlen, struct dns_rr *rr)
{
	size_t n = 0, pos = 0;
	struct signet_span s;
	enum txt_next_result r;

	while ((r = txt_next(p, rdlen, &pos, &s)) == TXT_STRING)
		n++;
	if (r == TXT_MALFORMED)
		return false;
	rr->data = malloc(rdlen + 1);
	rr->lens = calloc(n ? n : 1, sizeof(*rr->lens));
	if (rr->data == NULL || rr->lens == NULL ||
	    txt_join(p, rdlen, rr->data, rdlen, &rr->len, &rr->nstrings, NULL) != SIGNET_OK)
		return false;
	for (pos = 0, n = 0; txt_next(p, rdlen, &pos, &s) == TXT_STRING; n++)
		rr->lens[n] = s.len;
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

/* A, AAAA: the address bytes; MX: the preference and the exchange; PTR:
 * the name (uncompressed, as text). False if the RDATA is malformed. */
static bool other_rdata(const ns_msg *msg, const ns_rr *rr, int type, struct dns_rr *out)
{
	const uint8_t *p = ns_rr_rdata(*rr);
	size_t rdlen = ns_rr_rdlen(*rr);
	char name[NS_MAXDNAME];
	if (type == ns_t_a || type == ns_t_aaaa) {
		size_t want = type == ns_t_a ? 4 : 16;
		if (rdlen != want || (out->data = malloc(want + 1)) == NULL)
			return false;
		memcpy(out->data, p, want);
		out->len = want;
		return true;
	}
	if (type == ns_t_mx) {
		if (rdlen < 3)
			return false;
		out->pref = (uint16_t)(p[0] << 8 | p[1]);
		p += 2;
	}
	if (ns_name_uncompress(ns_msg_base(*msg), ns_msg_end(*msg), p, name, sizeof name) < 0)
		return false;
	out->len = strlen(name);
	if ((out->data = (uint8_t *)strdup(name)) == NULL)
		return false;
	return true;
}

static bool parse_answer(const uint8_t *ans, int len, int type, struct dns_answer *a)
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
		if ((int)ns_rr_type(rr) != type || ns_rr_class(rr) != ns_c_in)
			continue; /* CNAMEs: the resolver followed them */
		if (type == ns_t_txt ? !txt_rdata(ns_rr_rdata(rr), ns_rr_rdlen(rr), &a->rr[a->n])
				     : !other_rdata(&msg, &rr, type, &a->rr[a->n])) {
			free(a->rr[a->n].data);
			free(a->rr[a->n].lens);
			return false;
		}
		a->n++;
	}
	if (a->n == 0)
		set_status(a, SIGNET_DNS_NXDOMAIN, "the name has no record of that type (NODATA)");
	else
		set_status(a, SIGNET_DNS_OK, "found");
	return true;
}

bool dns_txt(struct dns_resolver *r, const char *name, struct dns_answer *a)
{
	return dns_query(r, name, ns_t_txt, a);
}

bool dns_query(struct dns_resolver *r, const char *name, int type, struct dns_answer *a)
{
	uint8_t *ans = malloc(DNS_ANSWER_MAX);
	int len;
	bool ok = true;

	memset(a, 0, sizeof(*a));
	if (ans == NULL) {
		cli_err("DNS lookup of %s: out of memory", name);
		return false;
	}
	len = res_nquery(&r->res, name, ns_c_in, type, ans, DNS_ANSWER_MAX);
	if (len < 0)
		query_failed(r, a);
	else if (len > DNS_ANSWER_MAX)
		set_status(a, SIGNET_DNS_TEMPFAIL, "DNS answer larger than 64 KiB");
	else
		ok = parse_answer(ans, len, type, a);
	free(ans);
	if (!ok) {
		/* txt_rdata also fails on a string running past its RDATA */
		dns_answer_free(a);
		set_status(a, SIGNET_DNS_TEMPFAIL, "malformed or oversized record");
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

/* The resolver query type of an evaluator question (TXT for any other). */
int dns_query_type(enum signet_rrtype t)
{
	switch (t) {
	case SIGNET_RR_A: return ns_t_a;
	case SIGNET_RR_AAAA: return ns_t_aaaa;
	case SIGNET_RR_MX: return ns_t_mx;
	case SIGNET_RR_PTR: return ns_t_ptr;
	default: return ns_t_txt;
	}
}
