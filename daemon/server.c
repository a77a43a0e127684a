/* server.c: libevent loops, connections, reloads (server.h). The session
 * does the protocol; this file moves bytes and DNS answers between the
 * socket, the resolver and the session. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/thread.h>

#include "buf.h"
#include "log.h"
#include "health.h"
#include "metrics.h"
#include "runtime.h"
#include "server.h"
#include "session.h"

#define CONN_MAX_OUT (1024 * 1024) /* replies of one step (headers we add are small) */
#define CONN_MAX_LOOKUPS 32

struct worker {
	struct server *srv;
	pthread_t thread;
	struct event_base *base;
	struct evconnlistener *listener;
	struct dns_resolver *dns;
	struct conn *conns; /* open connections, freed at shutdown */
	bool started;
};

struct server {
	struct server_params p;
	pthread_mutex_t lock; /* guards current */
	struct runtime *current;
	struct worker *workers;
	unsigned nworkers;
	struct event_base *main_base;
	struct health *health; /* key records vs keys, on main_base (dns.health_interval) */
};

struct lookup {
	struct conn *c;
	unsigned id;
	struct dns_query *q;
	struct timespec t0; /* started: signetd_dns_lookup_seconds */
};

struct conn {
	struct worker *w;
	struct conn *prev, *next;
	bool tcp;
	struct bufferevent *bev;
	struct session *s;
	struct lookup lookups[CONN_MAX_LOOKUPS]; /* q == NULL: free */
	struct signet_buf out;
};

static struct runtime *current_runtime(struct server *srv)
{
	pthread_mutex_lock(&srv->lock);
	struct runtime *rt = runtime_ref(srv->current);
	pthread_mutex_unlock(&srv->lock);
	return rt;
}

static void conn_free(struct conn *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else if (c->w->conns == c)
		c->w->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	for (size_t k = 0; k < CONN_MAX_LOOKUPS; k++)
		dns_cancel(c->lookups[k].q);
	session_free(c->s);
	if (c->bev)
		bufferevent_free(c->bev);
	buf_free(&c->out);
	free(c);
}

/* Writes what the step produced, in one go (DESIGN.md: no small writes). */
static bool conn_flush(struct conn *c)
{
	if (c->out.len == 0)
		return true;
	int rc = bufferevent_write(c->bev, c->out.data, c->out.len);
	buf_reset(&c->out);
	return rc == 0;
}

static void on_answer(void *arg, const struct dns_answer *a);
static void on_event(struct bufferevent *bev, short what, void *arg);

static void conn_drained(struct bufferevent *bev, void *arg)
{
	(void)bev;
	conn_free(arg);
}

/* A free lookup slot; lookups of messages that are over are cancelled to
 * make room (an MTA may abort message after message). */
static struct lookup *free_slot(struct conn *c)
{
	for (int pass = 0; pass < 2; pass++) {
		for (size_t k = 0; k < CONN_MAX_LOOKUPS; k++) {
			struct lookup *l = &c->lookups[k];
			if (pass == 1 && l->q != NULL && !session_lookup_wanted(c->s, l->id)) {
				dns_cancel(l->q);
				l->q = NULL;
			}
			if (l->q == NULL)
				return l;
		}
	}
	return NULL;
}

static bool start_lookups(struct conn *c)
{
	unsigned id;
	const char *name;
	while (session_next_lookup(c->s, &id, &name)) {
		struct lookup *l = free_slot(c);
		if (l == NULL)
			return false;
		l->c = c;
		l->id = id;
		clock_gettime(CLOCK_MONOTONIC, &l->t0);
		l->q = dns_lookup_txt(c->w->dns, name, on_answer, l);
		if (l->q == NULL)
			return false;
	}
	return true;
}

/* After each step: write, start lookups, or close. */
static void conn_step_done(struct conn *c, enum session_status st)
{
	if (!conn_flush(c) || st == SESSION_CLOSE || !start_lookups(c)) {
		if (st != SESSION_CLOSE)
			session_abort(c->s);
		/* Let libevent send what is queued, then close. */
		struct evbuffer *out = bufferevent_get_output(c->bev);
		if (evbuffer_get_length(out) == 0) {
			conn_free(c);
			return;
		}
		/* The write callback frees the connection once the output is sent. */
		bufferevent_disable(c->bev, EV_READ);
		bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
		bufferevent_setcb(c->bev, NULL, conn_drained, on_event, c);
	}
}

static void on_answer(void *arg, const struct dns_answer *a)
{
	struct lookup *l = arg;
	struct conn *c = l->c;
	l->q = NULL;
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	long long us = (now.tv_sec - l->t0.tv_sec) * 1000000LL +
		       (now.tv_nsec - l->t0.tv_nsec) / 1000;
	metrics_dns(metrics_process(), a->status, a->secure, us > 0 ? (uint64_t)us : 0);
	enum session_status st = session_answer(c->s, l->id, a, &c->out);
	conn_step_done(c, st);
}

/* The MTA writes packets we do not answer (NR_HDR, NR_BODY, ...); with
 * Nagle on its side each one waits for our ACK, and a delayed ACK costs
 * up to 40 ms (DESIGN.md). Linux clears TCP_QUICKACK after use, so it is
 * set again after every read. */
static void ack_now(struct conn *c)
{
#ifdef TCP_QUICKACK
	if (c->tcp) {
		int one = 1;
		(void)setsockopt(bufferevent_getfd(c->bev), IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
	}
#else
	(void)c;
#endif
}

static void on_read(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	ack_now(c);
	struct evbuffer *in = bufferevent_get_input(bev);
	enum session_status st = SESSION_OK;
	while (st == SESSION_OK && evbuffer_get_length(in) > 0) {
		struct evbuffer_iovec v;
		if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
			break;
		st = session_feed(c->s, v.iov_base, v.iov_len, &c->out);
		evbuffer_drain(in, v.iov_len);
	}
	conn_step_done(c, st);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	struct conn *c = arg;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
		session_abort(c->s);
		conn_free(c);
	}
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen,
		      void *arg)
{
	(void)l;
	(void)salen;
	struct worker *w = arg;
	if (sa->sa_family == AF_INET || sa->sa_family == AF_INET6) {
		int one = 1;
		/* DESIGN.md: Nagle meets delayed ACK and costs ~40 ms per message. */
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	}
	struct conn *c = calloc(1, sizeof *c);
	if (c == NULL) {
		log_msg(LOG_LVL_ERR, "out of memory accepting a connection");
		evutil_closesocket(fd);
		return;
	}
	c->w = w;
	c->tcp = sa->sa_family == AF_INET || sa->sa_family == AF_INET6;
	c->next = w->conns;
	if (w->conns)
		w->conns->prev = c;
	w->conns = c;
	buf_init(&c->out, CONN_MAX_OUT);
	struct runtime *rt = current_runtime(w->srv);
	c->s = session_new(rt, NULL);
	runtime_unref(rt);
	c->bev = bufferevent_socket_new(w->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (c->s == NULL || c->bev == NULL) {
		log_msg(LOG_LVL_ERR, "out of memory accepting a connection");
		if (c->bev == NULL)
			evutil_closesocket(fd);
		conn_free(c);
		return;
	}
	bufferevent_setcb(c->bev, on_read, NULL, on_event, c);
	bufferevent_enable(c->bev, EV_READ);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	event_base_dispatch(w->base);
	return NULL;
}

static bool worker_init(struct server *srv, struct worker *w, char *err, size_t errlen)
{
	w->srv = srv;
	w->base = event_base_new();
	if (w->base == NULL) {
		snprintf(err, errlen, "cannot create an event loop");
		return false;
	}
	w->dns = dns_resolver_new(w->base, &srv->p.dns, err, errlen);
	if (w->dns == NULL)
		return false;
	w->listener = evconnlistener_new(w->base, on_accept, w, LEV_OPT_REUSEABLE, -1, srv->p.listen_fd);
	if (w->listener == NULL) {
		snprintf(err, errlen, "cannot listen: %s", strerror(errno));
		return false;
	}
	return true;
}

struct server *server_new(const struct server_params *p, struct runtime *rt, char *err, size_t errlen)
{
	if (evthread_use_pthreads() != 0) {
		snprintf(err, errlen, "libevent without thread support");
		return NULL;
	}
	struct server *srv = calloc(1, sizeof *srv);
	if (srv == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	srv->p = *p;
	srv->nworkers = p->workers ? p->workers : 1;
	pthread_mutex_init(&srv->lock, NULL);
	srv->current = rt;
	srv->workers = calloc(srv->nworkers, sizeof *srv->workers);
	srv->main_base = event_base_new();
	bool ok = srv->workers != NULL && srv->main_base != NULL;
	if (!ok)
		snprintf(err, errlen, "out of memory");
	for (unsigned k = 0; ok && k < srv->nworkers; k++)
		ok = worker_init(srv, &srv->workers[k], err, errlen);
	if (!ok) {
		srv->current = NULL; /* on failure the caller keeps its reference */
		server_free(srv);
		return NULL;
	}
	return srv;
}

static void on_stop(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	struct server *srv = arg;
	log_msg(LOG_LVL_INFO, "signal %d: stopping", (int)sig);
	for (unsigned k = 0; k < srv->nworkers; k++)
		event_base_loopexit(srv->workers[k].base, NULL);
	event_base_loopexit(srv->main_base, NULL);
}

static void on_hup(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	struct server *srv = arg;
	if (srv->p.reload == NULL)
		return;
	log_msg(LOG_LVL_INFO, "SIGHUP: reloading the configuration and keys");
	struct runtime *rt = srv->p.reload(srv->p.reload_arg);
	if (rt == NULL) {
		log_msg(LOG_LVL_ERR, "reload failed: the previous configuration stays in service");
		return;
	}
	pthread_mutex_lock(&srv->lock);
	struct runtime *old = srv->current;
	srv->current = rt;
	pthread_mutex_unlock(&srv->lock);
	runtime_unref(old);
	log_msg(LOG_LVL_INFO, "reload done");
}

static struct runtime *health_runtime(void *arg)
{
	return current_runtime(arg);
}

int server_run(struct server *srv)
{
	char herr[256] = "";
	/* The main loop only waits for signals, so the DNS check of the key
	 * records runs there without delaying mail. */
	srv->health = health_new(srv->main_base, &srv->p.dns, health_runtime, srv, herr, sizeof herr);
	if (srv->health == NULL)
		log_msg(LOG_LVL_WARN, "DNS check of the key records not started: %s", herr);
	struct event *ev_term = evsignal_new(srv->main_base, SIGTERM, on_stop, srv);
	struct event *ev_int = evsignal_new(srv->main_base, SIGINT, on_stop, srv);
	struct event *ev_hup = evsignal_new(srv->main_base, SIGHUP, on_hup, srv);
	int rc = 0;
	if (!ev_term || !ev_int || !ev_hup || event_add(ev_term, NULL) || event_add(ev_int, NULL) ||
	    event_add(ev_hup, NULL)) {
		log_msg(LOG_LVL_ERR, "cannot install signal handlers");
		rc = -1;
	}
	for (unsigned k = 0; rc == 0 && k < srv->nworkers; k++) {
		struct worker *w = &srv->workers[k];
		if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
			log_msg(LOG_LVL_ERR, "cannot start worker thread %u", k);
			rc = -1;
			break;
		}
		w->started = true;
	}
	if (rc == 0)
		event_base_dispatch(srv->main_base);
	for (unsigned k = 0; k < srv->nworkers; k++) {
		struct worker *w = &srv->workers[k];
		if (w->started) {
			event_base_loopexit(w->base, NULL);
			pthread_join(w->thread, NULL);
			w->started = false;
		}
	}
	if (ev_term)
		event_free(ev_term);
	if (ev_int)
		event_free(ev_int);
	if (ev_hup)
		event_free(ev_hup);
	return rc;
}

void server_free(struct server *srv)
{
	if (srv == NULL)
		return;
	for (unsigned k = 0; srv->workers != NULL && k < srv->nworkers; k++) {
		struct worker *w = &srv->workers[k];
		while (w->conns != NULL)
			conn_free(w->conns);
		if (w->listener)
			evconnlistener_free(w->listener);
		dns_resolver_free(w->dns);
		if (w->base)
			event_base_free(w->base);
	}
	free(srv->workers);
	health_free(srv->health);
	if (srv->main_base)
		event_base_free(srv->main_base);
	if (srv->current)
		runtime_unref(srv->current);
	pthread_mutex_destroy(&srv->lock);
	free(srv);
}
