/* metrics_http.h: signetd's optional HTTP listener for GET /metrics
 * (libmicrohttpd, driven from a thread of its own). It serves what
 * metrics_render (metrics.h) writes and bounds what one client can hold:
 * a connection limit, and a total time per request that a client cannot
 * extend by sending a byte now and then (issue #19: slow headers). It
 * does not count anything itself. */
#ifndef SIGNETD_METRICS_HTTP_H
#define SIGNETD_METRICS_HTTP_H

#include <stddef.h>

struct metrics;
struct metrics_http;

struct metrics_http_limits {
	/* Connections served at once (metrics.max_connections); more wait in
	 * the listen backlog until one closes. */
	unsigned max_connections;
	/* Seconds one request may take, from the connection opening (or the
	 * previous response ending, on a kept-alive connection) to its response
	 * sent (metrics.request_timeout); also the idle bound. A connection
	 * past it is shut down, however recently it sent a byte. */
	double request_timeout;
};

/* A bound, listening socket for spec ("127.0.0.1:9187", "[::1]:9187"),
 * made before privileges are dropped; -1 with err. */
int metrics_listen(const char *spec, char *err, size_t errlen);

/* Serves GET /metrics of m on fd (taken over, closed on failure too) from
 * a thread of its own, within lim; NULL with err. */
struct metrics_http *metrics_http_start(struct metrics *m, int fd,
					const struct metrics_http_limits *lim, char *err,
					size_t errlen);

/* Stops the thread, closes every connection and the listening socket.
 * metrics_http_stop(NULL) is a no-op. */
void metrics_http_stop(struct metrics_http *h);

#endif
