/* hostport.h: the one parser of the numeric "ADDRESS:PORT" forms signetd.conf(5)
 * uses (socket, dns.forwarders, metrics.listen). No name resolution, no I/O. */
#ifndef SIGNET_CONF_HOSTPORT_H
#define SIGNET_CONF_HOSTPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/* A decimal port 1..65535 of exactly len bytes (no sign, no spaces). */
bool hostport_port(const char *s, size_t len, unsigned *out);

/* "ADDRESS:PORT" or "[IPV6]:PORT" with a numeric address (metrics.listen).
 * Fills *ss and *len on success; false on anything else. */
bool hostport_sockaddr(const char *spec, struct sockaddr_storage *ss, socklen_t *len);

#endif
