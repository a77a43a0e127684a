/* metrics_http.h: signetd's optional HTTP listener for GET /metrics
 * (libmicrohttpd, its own thread). It serves what metrics_render
 * (metrics.h) writes; it does not count anything itself. */
#ifndef SIGNETD_METRICS_HTTP_H
#define SIGNETD_METRICS_HTTP_H

#include <stddef.h>

struct metrics;
struct metrics_http;

/* A bound, listening socket for spec ("127.0.0.1:9187", "[::1]:9187"),
 * made before privileges are dropped; -1 with err. */
int metrics_listen(const char *spec, char *err, size_t errlen);

/* Serves GET /metrics of m on fd (taken over, closed on failure too) from
 * libmicrohttpd's own thread; NULL with err. metrics_http_stop(NULL) is a no-op. */
struct metrics_http *metrics_http_start(struct metrics *m, int fd, char *err, size_t errlen);
void metrics_http_stop(struct metrics_http *h);

#endif
