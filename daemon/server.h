/* server.h: signetd's network side: one libevent loop per worker thread,
 * all accepting on the one listening socket, TCP_NODELAY on every
 * connection, each session step's replies written with one write; a
 * resolver per loop. Bounds what connections may hold: how many, how long
 * idle, how long a packet may stay incomplete; at the file descriptor
 * limit it pauses accepting instead of spinning, and hands memory back to
 * the system after a flood of connections has gone. The main thread
 * waits for signals: SIGHUP reloads, SIGTERM/SIGINT stop. */
#ifndef SIGNETD_SERVER_H
#define SIGNETD_SERVER_H

#include <stdbool.h>

#include "dns.h"

struct server;
struct runtime;

/* Builds a new runtime from the config file; NULL (and logs why) when the
 * new config or a key is bad: the old one keeps serving. */
typedef struct runtime *(*server_reload_fn)(void *arg);

struct server_params {
	int listen_fd;           /* bound, listening, non-blocking */
	unsigned workers;        /* event loops (threads); 0 = 1 */
	struct dns_options dns;
	/* Connection bounds (signetd.conf(5) connections { }); 0 = none. */
	unsigned max_conns;         /* open MTA connections; more are closed at once */
	unsigned idle_timeout_ms;   /* no packet for this long: close */
	unsigned packet_timeout_ms; /* a packet started and not finished for this long: close */
	unsigned long long fd_limit; /* RLIMIT_NOFILE; 0 = unlimited: connections stop being
					accepted while they would leave too few descriptors */
	server_reload_fn reload;
	void *reload_arg;
};

/* rt: the first runtime (the server takes the reference on success). */
struct server *server_new(const struct server_params *p, struct runtime *rt, char *err, size_t errlen);
/* Runs until SIGTERM or SIGINT; returns 0, or -1 when a worker could not start. */
int server_run(struct server *s);
void server_free(struct server *s);

#endif
