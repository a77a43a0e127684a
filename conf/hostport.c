/* hostport.c: numeric host and port parsing for signetd.conf(5). Shared by the
 * config reader and the daemon's listeners so both accept exactly the same forms. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "hostport.h"

bool hostport_port(const char *s, size_t len, unsigned *out)
{
	unsigned v = 0;
	if (len == 0 || len > 5)
		return false;
	for (size_t k = 0; k < len; k++) {
		if (s[k] < '0' || s[k] > '9')
			return false;
		v = v * 10 + (unsigned)(s[k] - '0');
	}
	*out = v;
	return v >= 1 && v <= 65535;
}

bool hostport_sockaddr(const char *spec, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[64];
	unsigned port;
	const char *colon = strrchr(spec, ':');
	if (colon == NULL || colon == spec || !hostport_port(colon + 1, strlen(colon + 1), &port))
		return false;
	size_t hlen = (size_t)(colon - spec);
	const char *h = spec;
	bool six = spec[0] == '[';
	if (six) {
		if (hlen < 3 || spec[hlen - 1] != ']')
			return false;
		h++;
		hlen -= 2;
	}
	if (hlen >= sizeof host)
		return false;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	memset(ss, 0, sizeof *ss);
	if (six) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		*len = sizeof *s6;
		return inet_pton(AF_INET6, host, &s6->sin6_addr) == 1;
	}
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	s4->sin_family = AF_INET;
	s4->sin_port = htons((uint16_t)port);
	*len = sizeof *s4;
	return inet_pton(AF_INET, host, &s4->sin_addr) == 1;
}
