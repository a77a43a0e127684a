/* cidr.c: CIDR lists (local_addrs, sign_networks): parsing "ADDR/LEN" and
 * matching a client address, IPv4 and IPv6 (an IPv4-mapped IPv6 address
 * matches as IPv4). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

/* ---- CIDR --------------------------------------------------------------- */

bool cidr_parse(const char *s, struct cidr *out)
{
	char buf[INET6_ADDRSTRLEN + 8];
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	if (alen == 0 || alen >= sizeof buf)
		return false;
	memcpy(buf, s, alen);
	buf[alen] = '\0';
	memset(out, 0, sizeof *out);
	unsigned max;
	if (inet_pton(AF_INET, buf, out->addr) == 1) {
		out->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, buf, out->addr) == 1) {
		out->family = AF_INET6;
		max = 128;
	} else {
		return false;
	}
	out->prefix = max;
	if (slash != NULL) {
		const char *p = slash + 1;
		unsigned v = 0;
		if (*p == '\0' || strlen(p) > 3)
			return false;
		for (; *p; p++) {
			if (*p < '0' || *p > '9')
				return false;
			v = v * 10 + (unsigned)(*p - '0');
		}
		if (v > max)
			return false;
		out->prefix = v;
	}
	return true;
}

static bool cidr_match(const struct cidr *c, int family, const uint8_t *addr)
{
	if (c->family != family)
		return false;
	unsigned full = c->prefix / 8, rest = c->prefix % 8;
	if (memcmp(c->addr, addr, full) != 0)
		return false;
	if (rest == 0)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return (c->addr[full] & mask) == (addr[full] & mask);
}

static bool match_raw(const struct cidr_list *l, int family, const uint8_t *addr)
{
	static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	if (family == AF_INET6 && memcmp(addr, v4mapped, 12) == 0) {
		family = AF_INET;
		addr += 12;
	}
	for (size_t k = 0; k < l->n; k++)
		if (cidr_match(&l->v[k], family, addr))
			return true;
	return false;
}

bool cidr_list_match_sa(const struct cidr_list *l, const struct sockaddr *sa)
{
	if (l == NULL || sa == NULL)
		return false;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		return match_raw(l, AF_INET, (const uint8_t *)&in->sin_addr);
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		return match_raw(l, AF_INET6, in6->sin6_addr.s6_addr);
	}
	return false;
}

bool cidr_list_match_str(const struct cidr_list *l, const char *addr)
{
	char buf[INET6_ADDRSTRLEN + 2];
	uint8_t raw[16];
	if (l == NULL || addr == NULL)
		return false;
	if (strncasecmp(addr, "IPv6:", 5) == 0) /* Postfix's form of a v6 client */
		addr += 5;
	size_t len = strlen(addr);
	if (len >= 2 && addr[0] == '[' && addr[len - 1] == ']') {
		addr++;
		len -= 2;
	}
	if (len == 0 || len >= sizeof buf)
		return false;
	memcpy(buf, addr, len);
	buf[len] = '\0';
	if (inet_pton(AF_INET, buf, raw) == 1)
		return match_raw(l, AF_INET, raw);
	if (inet_pton(AF_INET6, buf, raw) == 1)
		return match_raw(l, AF_INET6, raw);
	return false;
}

bool config_addr_is_local(const struct signetd_config *cfg, const struct sockaddr *sa)
{
	return cfg != NULL && cidr_list_match_sa(&cfg->local_addrs, sa);
}

bool config_addr_str_is_local(const struct signetd_config *cfg, const char *addr)
{
	return cfg != NULL && cidr_list_match_str(&cfg->local_addrs, addr);
}
