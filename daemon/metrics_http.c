/* metrics_http.c: the HTTP listener for GET /metrics (metrics_http.h):
 * libmicrohttpd with its own polling thread, serving what metrics_render
 * writes. It does not count anything itself. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "buf.h"
#include "hostport.h"
#include "metrics.h"
#include "metrics_http.h"

#define METRICS_MAX_TEXT (64u * 1024 * 1024) /* exposition cap (100k selectors fit) */
#define METRICS_HTTP_CONNECTIONS 16
#define METRICS_HTTP_TIMEOUT 10 /* seconds */

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
	    bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, 16) != 0) {
		snprintf(err, errlen, "cannot listen for metrics on %s: %s%s", spec, strerror(errno),
			 errno == EADDRINUSE ? " (port in use: change metrics.listen)" : "");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

struct metrics_http {
	struct MHD_Daemon *d;
	struct metrics *m;
};

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

struct metrics_http *metrics_http_start(struct metrics *m, int fd, char *err, size_t errlen)
{
	struct metrics_http *h = calloc(1, sizeof *h);
	if (h == NULL) {
		snprintf(err, errlen, "out of memory");
		close(fd);
		return NULL;
	}
	h->m = m;
	h->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO, 0, NULL, NULL,
				on_request, h, MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
				MHD_OPTION_CONNECTION_LIMIT, (unsigned)METRICS_HTTP_CONNECTIONS,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)METRICS_HTTP_TIMEOUT,
				MHD_OPTION_END);
	if (h->d == NULL) {
		snprintf(err, errlen, "cannot start the metrics HTTP server (libmicrohttpd)");
		close(fd);
		free(h);
		return NULL;
	}
	return h;
}

void metrics_http_stop(struct metrics_http *h)
{
	if (h == NULL)
		return;
	MHD_stop_daemon(h->d); /* closes the listening socket */
	free(h);
}
