/* metrics_http.c: the HTTP listener for GET /metrics (metrics_http.h).
 * libmicrohttpd runs without a thread of its own; our thread drives it
 * (MHD_run_wait) and, between rounds, shuts down every connection older
 * than metrics.request_timeout. libmicrohttpd's own timeout is an idle
 * timeout that each received byte restarts, so alone it let 32 clients
 * trickling a header byte every 4 s hold all 16 connections (issue #19). */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "buf.h"
#include "hostport.h"
#include "metrics.h"
#include "metrics_http.h"

#define METRICS_MAX_TEXT (64u * 1024 * 1024) /* exposition cap (100k selectors fit) */
#define METRICS_HTTP_BACKLOG 128 /* listen(2) queue: a burst waits there, not in SYN retries */
#define METRICS_HTTP_TICK_MS 500 /* longest wait between checks (and for a stop) */

/* One open connection, from libmicrohttpd's connect to its close. */
struct conn {
	struct conn *prev, *next;
	int fd;
	uint64_t since_ms; /* opened, or its last response ended */
	bool cut;          /* shut down for taking too long */
};

struct metrics_http {
	struct MHD_Daemon *d;
	struct metrics *m;
	uint64_t timeout_ms; /* metrics.request_timeout */
	struct conn *conns;  /* touched by the thread only (callbacks run in it) */
	pthread_t thread;
	atomic_bool stop;
};

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int metrics_listen(const char *spec, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t len;
	if (!hostport_sockaddr(spec, &ss, &len)) {
		snprintf(err, errlen, "metrics.listen '%s' is not ADDRESS:PORT or [IPV6]:PORT", spec);
		return -1;
	}
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
	    bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, METRICS_HTTP_BACKLOG) != 0) {
		snprintf(err, errlen, "cannot listen for metrics on %s: %s%s", spec, strerror(errno),
			 errno == EADDRINUSE ? " (port in use: change metrics.listen)" : "");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* ---- requests ----------------------------------------------------------- */

static enum MHD_Result reply(struct MHD_Connection *c, unsigned code, const char *type,
			     const void *body, size_t len)
{
	struct MHD_Response *r =
		MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	if (r == NULL)
		return MHD_NO;
	enum MHD_Result ret = MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (ret == MHD_YES)
		ret = MHD_queue_response(c, code, r);
	MHD_destroy_response(r);
	return ret;
}

/* Only GET (and HEAD) /metrics; anything else is 404. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_len, void **state)
{
	(void)version;
	(void)upload;
	struct metrics_http *h = cls;
	if (*state == NULL) { /* first call: headers only; answer on the next */
		*state = h;
		return MHD_YES;
	}
	if (*upload_len != 0) {
		*upload_len = 0; /* a request body is not wanted: drop it */
		return MHD_YES;
	}
	bool get = strcmp(method, MHD_HTTP_METHOD_GET) == 0 ||
		   strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
	if (!get || strcmp(url, "/metrics") != 0) {
		static const char nf[] = "not found: signetd serves GET /metrics only\n";
		return reply(c, MHD_HTTP_NOT_FOUND, "text/plain; charset=utf-8", nf, sizeof nf - 1);
	}
	struct signet_buf b;
	buf_init(&b, METRICS_MAX_TEXT);
	enum MHD_Result ret;
	if (metrics_render(h->m, &b) != SIGNET_OK) {
		static const char ie[] = "metrics could not be rendered (out of memory)\n";
		ret = reply(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "text/plain; charset=utf-8", ie,
			    sizeof ie - 1);
	} else {
		ret = reply(c, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8",
			    b.data ? (const void *)b.data : "", b.len);
	}
	buf_free(&b);
	return ret;
}

/* ---- connections and their time bound ----------------------------------- */

/* Tracks each connection (with its socket) from open to close. A
 * connection that cannot be tracked (no memory) is still bounded by the
 * idle timeout. */
static void on_connection(void *cls, struct MHD_Connection *c, void **ctx,
			  enum MHD_ConnectionNotificationCode what)
{
	struct metrics_http *h = cls;
	struct conn *k = *ctx;
	if (what == MHD_CONNECTION_NOTIFY_CLOSED) {
		if (k == NULL)
			return;
		if (k->prev != NULL)
			k->prev->next = k->next;
		else
			h->conns = k->next;
		if (k->next != NULL)
			k->next->prev = k->prev;
		free(k);
		*ctx = NULL;
		return;
	}
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (ci == NULL || (k = calloc(1, sizeof *k)) == NULL)
		return;
	k->fd = ci->connect_fd;
	k->since_ms = now_ms();
	k->next = h->conns;
	if (h->conns != NULL)
		h->conns->prev = k;
	h->conns = k;
	*ctx = k;
}

/* A kept-alive connection's next request gets a whole request_timeout. */
static void on_completed(void *cls, struct MHD_Connection *c, void **state,
			 enum MHD_RequestTerminationCode why)
{
	(void)cls;
	(void)state;
	(void)why;
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	struct conn *k = ci != NULL ? ci->socket_context : NULL;
	if (k != NULL)
		k->since_ms = now_ms();
}

/* Shuts down each connection past request_timeout: libmicrohttpd sees the
 * end of the stream and closes it (CLOSED above). Returns the time in ms
 * until the next one is due, at most METRICS_HTTP_TICK_MS. */
static int32_t cut_overdue(struct metrics_http *h)
{
	uint64_t now = now_ms(), wait = METRICS_HTTP_TICK_MS;
	for (struct conn *k = h->conns; k != NULL; k = k->next) {
		if (k->cut)
			continue;
		uint64_t due = k->since_ms + h->timeout_ms;
		if (now >= due) {
			(void)shutdown(k->fd, SHUT_RDWR);
			k->cut = true;
		} else if (due - now < wait) {
			wait = due - now;
		}
	}
	return (int32_t)wait;
}

static void *serve(void *arg)
{
	struct metrics_http *h = arg;
	int32_t wait = METRICS_HTTP_TICK_MS;
	while (!atomic_load(&h->stop)) {
		if (MHD_run_wait(h->d, wait) != MHD_YES) {
			struct timespec pause = {0, 10 * 1000000}; /* never spin on an error */
			nanosleep(&pause, NULL);
		}
		wait = cut_overdue(h);
	}
	return NULL;
}

struct metrics_http *metrics_http_start(struct metrics *m, int fd,
					const struct metrics_http_limits *lim, char *err,
					size_t errlen)
{
	struct metrics_http *h = calloc(1, sizeof *h);
	if (h == NULL) {
		snprintf(err, errlen, "out of memory");
		close(fd);
		return NULL;
	}
	h->m = m;
	h->timeout_ms = (uint64_t)(lim->request_timeout * 1000.0);
	/* libmicrohttpd's idle timeout, in whole seconds: never shorter. */
	unsigned idle = (unsigned)lim->request_timeout;
	if (idle < lim->request_timeout)
		idle++;
	h->d = MHD_start_daemon(MHD_USE_AUTO, 0, NULL, NULL, on_request, h,
				MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
				MHD_OPTION_CONNECTION_LIMIT, lim->max_connections,
				MHD_OPTION_CONNECTION_TIMEOUT, idle,
				MHD_OPTION_NOTIFY_CONNECTION, on_connection, h,
				MHD_OPTION_NOTIFY_COMPLETED, on_completed, h, MHD_OPTION_END);
	if (h->d == NULL) {
		snprintf(err, errlen, "cannot start the metrics HTTP server (libmicrohttpd)");
		close(fd);
		free(h);
		return NULL;
	}
	int e = pthread_create(&h->thread, NULL, serve, h);
	if (e != 0) {
		snprintf(err, errlen, "cannot start the metrics thread: %s", strerror(e));
		MHD_stop_daemon(h->d); /* closes fd */
		free(h);
		return NULL;
	}
	return h;
}

void metrics_http_stop(struct metrics_http *h)
{
	if (h == NULL)
		return;
	atomic_store(&h->stop, true);
	pthread_join(h->thread, NULL);
	MHD_stop_daemon(h->d); /* closes the connections (CLOSED frees each) and fd */
	while (h->conns != NULL) { /* in case a CLOSED notification did not come */
		struct conn *k = h->conns;
		h->conns = k->next;
		free(k);
	}
	free(h);
}
