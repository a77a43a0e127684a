/* server.c: libevent loops, connections, reloads (server.h). The session
 * does the protocol; this file moves bytes and DNS answers between the
 * socket, the resolver and the session. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#ifdef HAVE_MALLOC_TRIM
#include <malloc.h>
#endif
#include <stdarg.h>
#include <stdatomic.h>
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

#include <event2/event.h>
#include <event2/listener.h>
#include <event2/thread.h>

#include "buf.h"
#include "clock.h"
#include "log.h"
#include "health.h"
#include "keyfetch.h"
#include "rotation_watch.h"
#include "metrics.h"
#include "runtime.h"
#include "server.h"
#include "session.h"

#define CONN_MAX_OUT (1024 * 1024) /* replies of one step (headers we add are small) */
/* Replies the MTA has not read yet: a few steps' worth. Reading stops
 * while any are pending, so only DNS answers can add to them. */
#define CONN_MAX_PENDING (4 * CONN_MAX_OUT)
/* Lookups of one connection at once: the DKIM keys of a message (16) and
 * the questions two SPF checks have out together (the evaluator asks at
 * most 12 at a time: an mx or ptr's 10 names, and a record), with room. */
#define CONN_MAX_LOOKUPS 64
/* One read per readiness into the worker's buffer: 256 KiB lets a large
 * body arrive in a few reads instead of one per socket-buffer refill. */
#define WORKER_READ_SIZE (256 * 1024)
/* A closing connection's last replies get this long to leave. */
#define CONN_DRAIN_SECONDS 30
/* While the MTA waits for our EOM reply on slow key lookups, a progress
 * reply this often keeps its milter_content_timeout from running out
 * (MILTER-EOM-06 asks for at least every timeout/2; Postfix's may be set
 * low, and a 5-byte packet per second costs nothing). */
#define CONN_PROGRESS_SECONDS 1
/* Accepted connections handed to another worker and not yet taken. */
#define WORKER_INBOX 64
/* accept() failed for want of a file descriptor: the listener pauses this
 * long, or until one of its connections closes (a level-triggered
 * listener left on would spin on EMFILE: issue #12). */
#define ACCEPT_RETRY_MS 500
/* Descriptors kept free beyond those in use when the server starts (plus
 * one per worker, which may each accept one more before pausing): DNS
 * sockets, a metrics scrape, a reload reading config and keys, syslog.
 * MTA connections never take them, so accept() does not reach EMFILE and
 * libmicrohttpd, which busy-waits when its accept() gets EMFILE with no
 * connection of its own open, is not pushed there by mail. */
#define SERVER_FD_SPARE 32
/* A limit being hit is logged at most once per this many seconds (with
 * how many times it was hit in between), not once per connection. */
#define LIMIT_LOG_SECONDS 60
/* Memory handed back after a flood (issue #19): every CONN_TRIM_SECONDS
 * the main loop trims the allocator if the open connections fell by at
 * least CONN_TRIM_DROP since the last look; freed connection buffers
 * otherwise stay in glibc's per-thread arenas. */
#define CONN_TRIM_SECONDS 2
#define CONN_TRIM_DROP 64

/* A log line that may repeat a thousand times a second (a limit hit). */
struct ratelog {
	pthread_mutex_t lock;
	uint64_t last_us;    /* clock_us() of the last line; 0: none yet */
	unsigned long quiet; /* times it was not logged since */
};

struct worker {
	struct server *srv;
	pthread_t thread;
	struct event_base *base;
	struct evconnlistener *listener;
	struct dns_resolver *dns;
	struct keyfetch *keys; /* dkim_signing.use_redis: keys from Redis, cached */
	struct conn *conns;    /* open connections, freed at shutdown */
	uint8_t *rbuf;         /* WORKER_READ_SIZE; sessions consume all of it per feed */
	bool started;
	/* Open connections, counted when a worker decides who takes one
	 * (before the hand-off), so a burst of accepts sees each decision. */
	atomic_uint nconns;
	/* Connections another worker accepted for this one (on_accept). */
	pthread_mutex_t inbox_lock;
	struct handoff {
		int fd;
		bool tcp;
	} inbox[WORKER_INBOX];
	size_t ninbox;
	struct event *ev_inbox;        /* made active by the accepting worker */
	struct event *ev_resume;       /* re-enables the listener after ACCEPT_RETRY_MS */
	bool accept_paused;            /* the listener is off for want of descriptors */
	const struct timeval *idle_tv; /* common timeout of idle_timeout_ms (or NULL) */
};

struct server {
	struct server_params p;
	pthread_mutex_t lock; /* guards current */
	struct runtime *current;
	struct worker *workers;
	unsigned nworkers;
	struct event_base *main_base;
	struct health *health; /* key records vs keys, on main_base (dns.health_interval) */
	struct rotation_watch *rotation; /* key rotation steps, on main_base */
	atomic_uint nopen;               /* open connections, all workers (max_conns) */
	unsigned fd_budget;    /* connections the descriptor limit allows; UINT_MAX: any */
	atomic_uint peak;      /* highest nopen since the last trim check */
	struct event *ev_trim; /* on main_base, every CONN_TRIM_SECONDS */
	struct ratelog log_max, log_fds, log_accept;
};

struct lookup {
	struct conn *c;
	unsigned id;
	struct dns_query *q;
	uint64_t t0_us; /* clock_us() at the start: signetd_dns_lookup_seconds */
};

/* Our own socket handling instead of a bufferevent: one read() per
 * readiness into the worker's buffer, and replies written with one send()
 * straight away; EV_WRITE is armed only when the socket buffer is full.
 * A bufferevent enabled and disabled its write event for every reply (two
 * epoll_ctl per message) and asked FIONREAD before every read
 * (bench/analysis.md). */
struct conn {
	struct worker *w;
	struct conn *prev, *next;
	int fd;
	bool tcp;
	bool closing;              /* no more reads: send what is pending, then free */
	struct event *ev_read;     /* persistent while the MTA may send */
	struct event *ev_write;    /* armed only while pending holds bytes */
	struct event *ev_progress; /* armed while the session waits at EOM */
	struct session *s;
	struct lookup lookups[CONN_MAX_LOOKUPS]; /* q == NULL: free */
	struct keyfetch_req *kreq;               /* signing keys asked of Redis, or NULL */
	unsigned kreq_id;
	struct signet_buf out;     /* replies of the current step */
	struct signet_buf pending; /* replies the socket did not take yet */
	size_t pending_off;        /* bytes of pending already sent */
	uint64_t partial_since_us; /* clock_us() when the unfinished packet began; 0: none */
	enum { ARMED_OFF, ARMED_IDLE, ARMED_PACKET, ARMED_WAIT } armed; /* ev_read's timeout */
};

static void ratelog_init(struct ratelog *r)
{
	pthread_mutex_init(&r->lock, NULL);
	r->last_us = 0;
	r->quiet = 0;
}

/* Logs the line unless one went out in the last LIMIT_LOG_SECONDS. */
__attribute__((format(printf, 3, 4))) static void ratelog(struct ratelog *r, enum log_level lvl,
							  const char *fmt, ...)
{
	uint64_t now = clock_us();
	pthread_mutex_lock(&r->lock);
	bool due = r->last_us == 0 || now - r->last_us >= LIMIT_LOG_SECONDS * 1000000ull;
	unsigned long quiet = r->quiet;
	if (due) {
		r->last_us = now;
		r->quiet = 0;
	} else {
		r->quiet++;
	}
	pthread_mutex_unlock(&r->lock);
	if (!due)
		return;
	char line[384];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (quiet > 0)
		log_msg(lvl, "%s (%lu more times in the last %d s, not logged)", line, quiet,
			LIMIT_LOG_SECONDS);
	else
		log_msg(lvl, "%s (logged at most every %d s)", line, LIMIT_LOG_SECONDS);
}

/* A connection of w is gone (or was never set up). */
static void conn_counted_out(struct worker *w)
{
	atomic_fetch_sub_explicit(&w->nconns, 1, memory_order_relaxed);
	unsigned open = atomic_fetch_sub_explicit(&w->srv->nopen, 1, memory_order_relaxed) - 1;
	if (w->accept_paused && open < w->srv->fd_budget) { /* now, not at the timer */
		w->accept_paused = false;
		event_del(w->ev_resume);
		(void)evconnlistener_enable(w->listener);
	}
}

/* Stops w's listener until a connection of w closes or ACCEPT_RETRY_MS
 * pass; the MTA's connections wait in the listen backlog meanwhile. */
static void accept_pause(struct worker *w)
{
	struct timeval tv = {0, ACCEPT_RETRY_MS * 1000};
	if (!w->accept_paused && evconnlistener_disable(w->listener) == 0 &&
	    event_add(w->ev_resume, &tv) == 0)
		w->accept_paused = true;
}

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
	keyfetch_cancel(c->kreq);
	session_free(c->s);
	if (c->ev_read)
		event_free(c->ev_read);
	if (c->ev_write)
		event_free(c->ev_write);
	if (c->ev_progress)
		event_free(c->ev_progress);
	if (c->fd >= 0)
		close(c->fd);
	buf_free(&c->out);
	buf_free(&c->pending);
	conn_counted_out(c->w);
	free(c);
}

/* Sends pending bytes until done or the socket is full. False: the
 * connection is broken. MSG_NOSIGNAL: a peer gone mid-write is an error
 * here, not a SIGPIPE. */
static bool send_pending(struct conn *c)
{
	while (c->pending_off < c->pending.len) {
		ssize_t n = send(c->fd, c->pending.data + c->pending_off,
				 c->pending.len - c->pending_off, MSG_NOSIGNAL);
		if (n > 0) {
			c->pending_off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
	}
	buf_reset(&c->pending);
	c->pending_off = 0;
	return true;
}

/* Writes what the step produced, in one go (DESIGN.md: no small writes).
 * What the socket does not take waits for EV_WRITE, and reading pauses
 * until it is gone: an MTA that does not read its replies cannot make us
 * buffer without bound. */
static bool conn_flush(struct conn *c)
{
	if (c->out.len == 0)
		return true;
	if (buf_append(&c->pending, c->out.data, c->out.len) != SIGNET_OK) {
		log_msg(LOG_LVL_ERR,
			"the MTA does not read our replies (over %d bytes waiting): closing",
			CONN_MAX_PENDING);
		buf_reset(&c->out);
		return false;
	}
	buf_reset(&c->out);
	if (!send_pending(c))
		return false;
	if (c->pending.len == 0)
		return true;
	event_del(c->ev_read);
	c->armed = ARMED_OFF;
	/* An MTA that reads no replies is idle too. */
	struct timeval tv = {CONN_DRAIN_SECONDS, 0};
	return event_add(c->ev_write, c->closing ? &tv : c->w->idle_tv) == 0;
}

static struct timeval tv_us(uint64_t us)
{
	return (struct timeval){.tv_sec = (time_t)(us / 1000000u),
				.tv_usec = (suseconds_t)(us % 1000000u)};
}

/* (Re)arms the read event's timeout once a step is done (issue #19):
 * mid-packet, what is left of packet_timeout, counted from the packet's
 * first byte so that a byte now and then does not extend it; between
 * packets, idle_timeout, except while the MTA waits for our reply (our
 * DNS lookups have their own timeout). Between packets with the idle
 * timeout already set nothing is done: libevent re-arms a persistent
 * event's timeout on each read by itself. */
static bool conn_arm_read(struct conn *c)
{
	const struct server_params *p = &c->w->srv->p;
	struct timeval tv;
	const struct timeval *tvp = NULL;
	size_t partial = session_partial(c->s);
	bool waiting = partial == 0 && session_waiting(c->s);
	if (partial == 0 && c->armed == (waiting ? ARMED_WAIT : ARMED_IDLE))
		return true;
	if (partial > 0 && p->packet_timeout_ms > 0) {
		uint64_t now = clock_us(), limit = p->packet_timeout_ms * 1000ull;
		if (c->partial_since_us == 0)
			c->partial_since_us = now;
		uint64_t spent = now - c->partial_since_us;
		tv = tv_us(spent < limit ? limit - spent : 0);
		tvp = &tv;
		c->armed = ARMED_PACKET;
	} else {
		if (partial == 0)
			c->partial_since_us = 0;
		if (!waiting)
			tvp = c->w->idle_tv;
		c->armed = waiting ? ARMED_WAIT : ARMED_IDLE;
	}
	/* event_add(ev, NULL) keeps a timeout already set: drop it (once per
	 * message at most: when the wait for our lookups starts). */
	if (tvp == NULL && event_pending(c->ev_read, EV_TIMEOUT, NULL))
		event_del(c->ev_read);
	if (event_add(c->ev_read, tvp) == 0)
		return true;
	c->armed = ARMED_OFF;
	return false;
}

/* The read timeout ran out: which bound, logged and counted. */
static void conn_timed_out(struct conn *c)
{
	const struct server_params *p = &c->w->srv->p;
	if (c->partial_since_us != 0) {
		metrics_conn_event(metrics_process(), METRICS_CONN_PACKET_TIMEOUT);
		log_msg(LOG_LVL_WARN,
			"closing an MTA connection: a packet stayed incomplete for %.3g s "
			"(connections.packet_timeout; %zu bytes of it received)",
			p->packet_timeout_ms / 1000.0, session_partial(c->s));
	} else {
		metrics_conn_event(metrics_process(), METRICS_CONN_IDLE_TIMEOUT);
		log_msg(LOG_LVL_INFO,
			"closing an MTA connection: no packet for %.3g s "
			"(connections.idle_timeout)",
			p->idle_timeout_ms / 1000.0);
	}
	session_abort(c->s);
	conn_free(c);
}

static void on_answer(void *arg, const struct dns_answer *a);

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
	enum signet_rrtype type;
	while (session_next_lookup(c->s, &id, &name, &type)) {
		struct lookup *l = free_slot(c);
		if (l == NULL)
			return false;
		l->c = c;
		l->id = id;
		l->t0_us = clock_us();
		l->q = dns_lookup(c->w->dns, name, type, on_answer, l);
		if (l->q == NULL)
			return false;
	}
	return true;
}

static void on_keys(void *arg, struct signkeys *keys, const char *error);

/* dkim_signing.use_redis: the message's signing keys, from the worker's
 * cache at once or from Redis later (on_keys). An answer at once lets the
 * session go on, which may ask again for the next message. */
static enum session_status start_keys(struct conn *c, enum session_status st)
{
	unsigned id;
	const struct signetd_config *cfg;
	const char *domain;
	const char *const *sels;
	size_t n;
	while (st == SESSION_OK && c->kreq == NULL &&
	       session_next_key_request(c->s, &id, &cfg, &domain, &sels, &n)) {
		struct signkeys *keys = NULL;
		char err[300];
		if (c->w->keys == NULL) {
			st = session_key_answer(c->s, id, NULL, "no key fetcher on this worker",
						&c->out);
			continue;
		}
		if (keyfetch_get(c->w->keys, cfg, domain, sels, n, on_keys, c, &c->kreq, &keys, err,
				 sizeof err) == KEYFETCH_WAIT) {
			c->kreq_id = id;
			break;
		}
		metrics_key_answer(metrics_process(), keys == NULL   ? METRICS_KEYS_ERROR
						      : keys->n == 0 ? METRICS_KEYS_NONE
								     : METRICS_KEYS_CACHED);
		st = session_key_answer(c->s, id, keys, keys ? NULL : err, &c->out);
		signkeys_unref(keys);
	}
	return st;
}

/* After each step: write, start lookups, or close. Returns false when the
 * connection was freed. */
static bool conn_step_done(struct conn *c, enum session_status st)
{
	st = start_keys(c, st);
	if (st == SESSION_CLOSE || !start_lookups(c)) {
		if (st != SESSION_CLOSE)
			session_abort(c->s);
		/* Send what is queued (a QUIT needs nothing, an error reply
		 * may be there), then close. */
		c->closing = true;
		event_del(c->ev_read);
		c->armed = ARMED_OFF;
		event_del(c->ev_progress);
		if (conn_flush(c) && c->pending.len > 0)
			return true; /* on_write frees it once sent */
		conn_free(c);
		return false;
	}
	if (!conn_flush(c) || (c->pending.len == 0 && !conn_arm_read(c))) {
		session_abort(c->s);
		conn_free(c);
		return false;
	}
	bool armed = event_pending(c->ev_progress, EV_TIMEOUT, NULL);
	if (session_waiting(c->s) && !armed) {
		struct timeval tv = {CONN_PROGRESS_SECONDS, 0};
		(void)event_add(c->ev_progress, &tv); /* best effort: only a keep-alive */
	} else if (!session_waiting(c->s) && armed) {
		event_del(c->ev_progress);
	}
	return true;
}

static void on_progress(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct conn *c = arg;
	if (!session_progress(c->s, &c->out)) {
		conn_step_done(c, SESSION_CLOSE);
		return;
	}
	conn_step_done(c, SESSION_OK);
}

static void on_keys(void *arg, struct signkeys *keys, const char *error)
{
	struct conn *c = arg;
	c->kreq = NULL;
	metrics_key_answer(metrics_process(), keys == NULL   ? METRICS_KEYS_ERROR
					      : keys->n == 0 ? METRICS_KEYS_NONE
							     : METRICS_KEYS_FETCHED);
	enum session_status st = session_key_answer(c->s, c->kreq_id, keys, error, &c->out);
	conn_step_done(c, st);
}

static void on_answer(void *arg, const struct dns_answer *a)
{
	struct lookup *l = arg;
	struct conn *c = l->c;
	l->q = NULL;
	metrics_dns(metrics_process(), a->status, a->secure, clock_us_since(l->t0_us));
	enum session_status st = session_answer(c->s, l->id, a, &c->out);
	conn_step_done(c, st);
}

/* The MTA writes packets we do not answer (NR_HDR, NR_BODY, ...); with
 * Nagle on its side each one waits for our ACK, and a delayed ACK costs
 * up to 40 ms (DESIGN.md). Setting TCP_QUICKACK sends the pending ACK now
 * (Linux clears the flag after use). Only needed when the step wrote
 * nothing: a reply carries the ACK itself. */
static void ack_now(struct conn *c)
{
#ifdef TCP_QUICKACK
	int one = 1;
	(void)setsockopt(c->fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
#else
	(void)c;
#endif
}

static void on_read(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	if (!(what & EV_READ)) {
		conn_timed_out(c);
		return;
	}
	uint8_t *buf = c->w->rbuf;
	ssize_t n;
	do
		n = recv(fd, buf, WORKER_READ_SIZE, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
		if (!conn_arm_read(c)) { /* libevent re-armed the full timeout */
			session_abort(c->s);
			conn_free(c);
		}
		return;
	}
	if (n <= 0) {
		/* EOF or a reset: the session logs a message cut short. */
		session_abort(c->s);
		conn_free(c);
		return;
	}
	enum session_status st = session_feed(c->s, buf, (size_t)n, &c->out);
	bool replied = c->out.len > 0;
	if (conn_step_done(c, st) && c->tcp && !replied)
		ack_now(c);
}

static void on_write(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	struct conn *c = arg;
	if ((what & EV_TIMEOUT) && !c->closing) {
		metrics_conn_event(metrics_process(), METRICS_CONN_IDLE_TIMEOUT);
		log_msg(LOG_LVL_INFO,
			"closing an MTA connection: it read none of our replies for %.3g s "
			"(connections.idle_timeout)",
			c->w->srv->p.idle_timeout_ms / 1000.0);
	}
	if ((what & EV_TIMEOUT) || !send_pending(c)) {
		if (!c->closing)
			session_abort(c->s);
		conn_free(c);
		return;
	}
	if (c->pending.len > 0)
		return; /* still full: EV_WRITE stays armed (persistent) */
	event_del(c->ev_write);
	if (c->closing) {
		conn_free(c);
		return;
	}
	if (!conn_arm_read(c)) {
		session_abort(c->s);
		conn_free(c);
	}
}

/* Sets up a connection on its worker's loop; w->nconns already counts it. */
static void adopt(struct worker *w, int fd, bool tcp)
{
	if (tcp) {
		int one = 1;
		/* DESIGN.md: Nagle meets delayed ACK and costs ~40 ms per message. */
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	}
	struct conn *c = calloc(1, sizeof *c);
	if (c == NULL) {
		log_msg(LOG_LVL_ERR, "out of memory accepting a connection");
		evutil_closesocket(fd);
		conn_counted_out(w);
		return;
	}
	c->w = w;
	c->fd = fd;
	c->tcp = tcp;
	c->next = w->conns;
	if (w->conns)
		w->conns->prev = c;
	w->conns = c;
	buf_init(&c->out, CONN_MAX_OUT);
	buf_init(&c->pending, CONN_MAX_PENDING);
	struct runtime *rt = current_runtime(w->srv);
	c->s = session_new(rt, NULL);
	runtime_unref(rt);
	c->ev_read = event_new(w->base, fd, EV_READ | EV_PERSIST, on_read, c);
	c->ev_write = event_new(w->base, fd, EV_WRITE | EV_PERSIST, on_write, c);
	c->ev_progress = event_new(w->base, -1, EV_PERSIST, on_progress, c);
	if (c->s == NULL || c->ev_read == NULL || c->ev_write == NULL || c->ev_progress == NULL ||
	    !conn_arm_read(c)) {
		log_msg(LOG_LVL_ERR, "out of memory accepting a connection");
		conn_free(c);
	}
}

/* The worker with the fewest open connections; w itself on a tie. */
static struct worker *least_loaded(struct worker *w)
{
	struct server *srv = w->srv;
	struct worker *best = w;
	unsigned least = atomic_load_explicit(&w->nconns, memory_order_relaxed);
	for (unsigned k = 0; k < srv->nworkers; k++) {
		unsigned n = atomic_load_explicit(&srv->workers[k].nconns, memory_order_relaxed);
		if (n < least)
			best = &srv->workers[k], least = n;
	}
	return best;
}

/* Every worker listens on the one socket and whichever wakes first
 * accepts; libevent accepts until the backlog is empty, so a burst of
 * connections (an MTA starting its smtpd processes) could all land on one
 * loop. Each connection's messages then queue behind the others of its
 * loop: with 10 and 6 of 16, the ten wait about a quarter longer than with
 * 8 and 8. So the accepting worker gives each connection to the worker
 * with the fewest (itself on a tie), through that worker's inbox. */
static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen,
		      void *arg)
{
	(void)l;
	(void)salen;
	struct worker *w = arg;
	struct server *srv = w->srv;
	bool tcp = sa->sa_family == AF_INET || sa->sa_family == AF_INET6;
	unsigned now_open = atomic_fetch_add_explicit(&srv->nopen, 1, memory_order_relaxed) + 1;
	if (srv->p.max_conns > 0 && now_open > srv->p.max_conns) {
		atomic_fetch_sub_explicit(&srv->nopen, 1, memory_order_relaxed);
		evutil_closesocket(fd);
		metrics_conn_event(metrics_process(), METRICS_CONN_MAX);
		ratelog(&srv->log_max, LOG_LVL_WARN,
			"%u MTA connections open (connections.max): closing new ones until some "
			"end",
			srv->p.max_conns);
		return;
	}
	unsigned peak = atomic_load_explicit(&srv->peak, memory_order_relaxed);
	while (now_open > peak &&
	       !atomic_compare_exchange_weak_explicit(&srv->peak, &peak, now_open,
						      memory_order_relaxed, memory_order_relaxed))
		;
	if (now_open >= srv->fd_budget) { /* this one is taken; then wait for a close */
		metrics_conn_event(metrics_process(), METRICS_CONN_FD_LIMIT);
		ratelog(&srv->log_fds, LOG_LVL_WARN,
			"%u MTA connections open, as many as the file descriptor limit allows: "
			"accepting more once one closes (signetd(8): raise the limit)",
			now_open);
		accept_pause(w);
	}
	struct worker *to = least_loaded(w);
	unsigned open = atomic_fetch_add_explicit(&to->nconns, 1, memory_order_relaxed) + 1;
	if (to != w) {
		pthread_mutex_lock(&to->inbox_lock);
		bool room = to->ninbox < WORKER_INBOX;
		if (room)
			to->inbox[to->ninbox++] = (struct handoff){fd, tcp};
		pthread_mutex_unlock(&to->inbox_lock);
		if (!room) { /* its inbox is full: this worker keeps it */
			atomic_fetch_sub_explicit(&to->nconns, 1, memory_order_relaxed);
			open = atomic_fetch_add_explicit(&w->nconns, 1, memory_order_relaxed) + 1;
			to = w;
		}
	}
	log_msg(LOG_LVL_DEBUG, "connection accepted by worker %u for worker %u (%u open there)",
		(unsigned)(w - w->srv->workers), (unsigned)(to - w->srv->workers), open);
	if (to != w)
		event_active(to->ev_inbox, EV_READ,
			     0); /* thread-safe (evthread): wakes to's loop */
	else
		adopt(w, fd, tcp);
}

/* libevent calls this when accept() fails for a reason other than
 * EAGAIN/EINTR/ECONNABORTED. Out of descriptors (or kernel memory), the
 * listener pauses until a connection of this worker closes or
 * ACCEPT_RETRY_MS pass: the pending connections wait in the backlog. */
static void on_accept_error(struct evconnlistener *l, void *arg)
{
	int e = EVUTIL_SOCKET_ERROR();
	struct worker *w = arg;
	struct server *srv = w->srv;
	if (e != EMFILE && e != ENFILE && e != ENOBUFS && e != ENOMEM) {
		ratelog(&srv->log_accept, LOG_LVL_ERR, "accept: %s", strerror(e));
		return;
	}
	(void)l;
	metrics_conn_event(metrics_process(), METRICS_CONN_FD_LIMIT);
	ratelog(&srv->log_fds, LOG_LVL_ERR,
		"cannot accept MTA connections: %s (%u open): pausing accepts until a connection "
		"closes, retrying every %d ms; raise the file descriptor limit (signetd(8))",
		strerror(e), atomic_load_explicit(&srv->nopen, memory_order_relaxed),
		ACCEPT_RETRY_MS);
	accept_pause(w);
}

static void on_resume(evutil_socket_t unused, short what, void *arg)
{
	(void)unused;
	(void)what;
	struct worker *w = arg;
	if (!w->accept_paused)
		return;
	if (atomic_load_explicit(&w->srv->nopen, memory_order_relaxed) >= w->srv->fd_budget) {
		struct timeval tv = {0, ACCEPT_RETRY_MS * 1000};
		(void)event_add(w->ev_resume, &tv);
		return;
	}
	w->accept_paused = false;
	(void)evconnlistener_enable(w->listener);
}

static void on_inbox(evutil_socket_t unused, short what, void *arg)
{
	(void)unused;
	(void)what;
	struct worker *w = arg;
	struct handoff got[WORKER_INBOX];
	pthread_mutex_lock(&w->inbox_lock);
	size_t n = w->ninbox;
	memcpy(got, w->inbox, n * sizeof got[0]);
	w->ninbox = 0;
	pthread_mutex_unlock(&w->inbox_lock);
	for (size_t k = 0; k < n; k++)
		adopt(w, got[k].fd, got[k].tcp);
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
	pthread_mutex_init(&w->inbox_lock, NULL);
	w->base = event_base_new();
	w->rbuf = malloc(WORKER_READ_SIZE);
	if (w->base == NULL || w->rbuf == NULL) {
		snprintf(err, errlen, "cannot create an event loop");
		return false;
	}
	w->ev_inbox = event_new(w->base, -1, 0, on_inbox, w);
	w->ev_resume = evtimer_new(w->base, on_resume, w);
	if (srv->p.idle_timeout_ms > 0) {
		/* One duration for all connections: libevent keeps them in a
		 * list instead of its heap (O(1) re-arm on every read). */
		struct timeval tv = tv_us(srv->p.idle_timeout_ms * 1000ull);
		w->idle_tv = event_base_init_common_timeout(w->base, &tv);
	}
	if (w->ev_inbox == NULL || w->ev_resume == NULL ||
	    (srv->p.idle_timeout_ms > 0 && w->idle_tv == NULL)) {
		snprintf(err, errlen, "cannot create an event loop");
		return false;
	}
	w->dns = dns_resolver_new(w->base, &srv->p.dns, err, errlen);
	if (w->dns == NULL)
		return false;
	if ((w->keys = keyfetch_new(w->base)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return false;
	}
	w->listener =
		evconnlistener_new(w->base, on_accept, w, LEV_OPT_REUSEABLE, -1, srv->p.listen_fd);
	if (w->listener == NULL) {
		snprintf(err, errlen, "cannot listen: %s", strerror(errno));
		return false;
	}
	evconnlistener_set_error_cb(w->listener, on_accept_error);
	return true;
}

/* How many connections the descriptor limit leaves room for: the limit,
 * less what is open now that the loops and resolvers exist (the lowest
 * free descriptor), less SERVER_FD_SPARE and one per worker. */
static void fd_budget_set(struct server *srv)
{
	srv->fd_budget = UINT_MAX;
	if (srv->p.fd_limit == 0)
		return;
	int lowest = fcntl(0, F_DUPFD_CLOEXEC, 0);
	if (lowest < 0)
		return;
	close(lowest);
	unsigned long long keep = (unsigned long long)lowest + SERVER_FD_SPARE + srv->nworkers;
	unsigned long long room = srv->p.fd_limit > keep ? srv->p.fd_limit - keep : 0;
	srv->fd_budget = room == 0 ? 1 : room > UINT_MAX ? UINT_MAX : (unsigned)room;
	if (srv->fd_budget < srv->p.max_conns)
		log_msg(LOG_LVL_WARN,
			"file descriptor limit %llu: at most %u MTA connections at once (%d "
			"descriptors "
			"in use, %u kept spare), fewer than connections.max = %u; more wait in the "
			"listen backlog",
			srv->p.fd_limit, srv->fd_budget, lowest, SERVER_FD_SPARE + srv->nworkers,
			srv->p.max_conns);
}

struct server *server_new(const struct server_params *p, struct runtime *rt, char *err,
			  size_t errlen)
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
	ratelog_init(&srv->log_max);
	ratelog_init(&srv->log_fds);
	ratelog_init(&srv->log_accept);
	srv->current = rt;
	srv->workers = calloc(srv->nworkers, sizeof *srv->workers);
	srv->main_base = event_base_new();
	bool ok = srv->workers != NULL && srv->main_base != NULL;
	if (!ok)
		snprintf(err, errlen, "out of memory");
	for (unsigned k = 0; ok && k < srv->nworkers; k++)
		ok = worker_init(srv, &srv->workers[k], err, errlen);
	if (ok)
		fd_budget_set(srv);
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

/* Reads config and keys again; the old runtime stays in service if that
 * fails. why: "SIGHUP", "key rotation". */
static void reload(struct server *srv, const char *why)
{
	if (srv->p.reload == NULL)
		return;
	log_msg(LOG_LVL_INFO, "%s: reloading the configuration and keys", why);
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

static void on_hup(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	struct server *srv = arg;
	reload(srv, "SIGHUP");
	/* issue #17: SIGHUP also checks pending key rotations now */
	rotation_watch_kick(srv->rotation);
}

/* A rotation switched or retired a selector: the keys in service follow. */
static void on_rotation(void *arg)
{
	reload(arg, "key rotation");
}

/* Every CONN_TRIM_SECONDS: after a flood of connections has gone, the
 * buffers they freed stay in the allocator's per-thread arenas (RSS 11 MB
 * -> 260 MB for good, issue #19); malloc_trim gives the free pages back.
 * Only when the open count fell by CONN_TRIM_DROP, so a steady load never
 * pays for it. */
static void on_trim(evutil_socket_t unused, short what, void *arg)
{
	(void)unused;
	(void)what;
	struct server *srv = arg;
	unsigned open = atomic_load_explicit(&srv->nopen, memory_order_relaxed);
	unsigned peak = atomic_exchange_explicit(&srv->peak, open, memory_order_relaxed);
	if (peak < open + CONN_TRIM_DROP)
		return;
#ifdef HAVE_MALLOC_TRIM
	uint64_t t0 = clock_us();
	(void)malloc_trim(0);
	log_msg(LOG_LVL_DEBUG, "connections fell from %u to %u: allocator trimmed in %.1f ms", peak,
		open, clock_us_since(t0) / 1000.0);
#endif
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
	/* What DNS holds now, never an answer cached from an earlier round. */
	struct dns_options fresh = srv->p.dns;
	fresh.fresh = true;
	srv->health = health_new(srv->main_base, &fresh, health_runtime, srv, herr, sizeof herr);
	if (srv->health == NULL)
		log_msg(LOG_LVL_WARN, "DNS check of the key records not started: %s", herr);
	srv->rotation = rotation_watch_new(srv->main_base, &fresh, health_runtime, on_rotation, srv,
					   herr, sizeof herr);
	if (srv->rotation == NULL)
		log_msg(LOG_LVL_WARN, "key rotation checks not started: %s", herr);
	struct event *ev_term = evsignal_new(srv->main_base, SIGTERM, on_stop, srv);
	struct event *ev_int = evsignal_new(srv->main_base, SIGINT, on_stop, srv);
	struct event *ev_hup = evsignal_new(srv->main_base, SIGHUP, on_hup, srv);
	srv->ev_trim = event_new(srv->main_base, -1, EV_PERSIST, on_trim, srv);
	struct timeval trim_tv = {CONN_TRIM_SECONDS, 0};
	int rc = 0;
	if (!ev_term || !ev_int || !ev_hup || event_add(ev_term, NULL) || event_add(ev_int, NULL) ||
	    event_add(ev_hup, NULL) || !srv->ev_trim || event_add(srv->ev_trim, &trim_tv)) {
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
	if (srv->ev_trim)
		event_free(srv->ev_trim);
	srv->ev_trim = NULL;
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
		for (size_t j = 0; j < w->ninbox; j++) /* handed over as the loops stopped */
			close(w->inbox[j].fd);
		if (w->ev_inbox)
			event_free(w->ev_inbox);
		if (w->ev_resume)
			event_free(w->ev_resume);
		if (w->srv != NULL) /* worker_init ran */
			pthread_mutex_destroy(&w->inbox_lock);
		if (w->listener)
			evconnlistener_free(w->listener);
		dns_resolver_free(w->dns);
		keyfetch_free(w->keys);
		free(w->rbuf);
		if (w->base)
			event_base_free(w->base);
	}
	free(srv->workers);
	health_free(srv->health);
	rotation_watch_free(srv->rotation);
	if (srv->main_base)
		event_base_free(srv->main_base);
	if (srv->current)
		runtime_unref(srv->current);
	pthread_mutex_destroy(&srv->lock);
	pthread_mutex_destroy(&srv->log_max.lock);
	pthread_mutex_destroy(&srv->log_fds.lock);
	pthread_mutex_destroy(&srv->log_accept.lock);
	free(srv);
}
