/* miltload: a milter load generator that talks to a milter the way Postfix
 * 3.7 does (shared/spec/milter.md section 8, MILTER-GEN-*), checked packet by
 * packet against a real Postfix by tests/integration/test_generator_conformance.py.
 * Per milter connection: OPTNEG; 'D' macros before every event, with values
 * only where Postfix has them at that stage (MILTER-PFX-02, or the milter's
 * setsymlist lists); CONNECT, HELO, MAIL, one RCPT per recipient, DATA; each
 * header, EOH, the body in chunks of at most 65535 bytes (none for an empty
 * body; stops on SKIP), EOM, then the milter's actions; ABORT after every
 * message and before QUIT, as smtpd does. Events switched off by NO* flags are
 * not sent (their macros still are, except for HEADER, EOH and BODY, whose
 * macros Postfix drops too); replies declined by NR_ flags are not waited for.
 * Timeouts as Postfix's milter_connect/command/content_timeout (30 s, 30 s,
 * 300 s by default; OPTNEG under the command timeout, as Postfix 3.7 does),
 * each expiry reported. Profiles (-P): postfix (smtpd), non-smtp (cleanup
 * for sendmail(1): one message per connection, client localhost/127.0.0.1
 * port 0, HELO localhost, bare addresses, no auth; MILTER-GEN-13), and
 * sendmail (the postfix conversation, but SMTP sessions reuse the milter
 * connection: ABORT and QUIT_NC between them; MILTER-SM-03).
 * Each milter connection is a coroutine with its own socket (no TCP_NODELAY,
 * no TCP_QUICKACK: Postfix sets neither); -t THREADS event threads (default
 * 1) run them round robin, each on one epoll loop, so that with -c 16 on a
 * small machine 16 client threads do not compete with the milter for the
 * scheduler. Every connection still waits for each reply before its next
 * event, as Postfix's one process per SMTP session does; -t C gives each
 * connection its own thread. It checks each
 * result (DKIM-Signature inserted when signing, Authentication-Results when
 * verifying) and, with -k, verifies the signatures of the reconstructed
 * message with libsignet. It prints throughput, latency percentiles, errors
 * and timeouts, the last line machine-readable. It does not speak SMTP. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <netdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/common_interface_defs.h>
#endif

#include <signet/verifier.h>

/* ---- Protocol constants (libmilter mfdef.h / mfapi.h) ---- */
#define PROT_VERSION 6
#define OFFER_ACTIONS 0x1FFu     /* MILTER-GEN-01: everything Postfix offers */
#define OFFER_PROTOCOL 0x1FFFFFu /* MILTER8_V6_PROTO_MASK */
#define P_NOCONNECT 0x1u
#define P_NOHELO 0x2u
#define P_NOMAIL 0x4u
#define P_NORCPT 0x8u
#define P_NOBODY 0x10u
#define P_NOHDRS 0x20u
#define P_NOEOH 0x40u
#define P_NR_HDR 0x80u
#define P_NODATA 0x200u
#define P_NR_CONN 0x1000u
#define P_NR_HELO 0x2000u
#define P_NR_MAIL 0x4000u
#define P_NR_RCPT 0x8000u
#define P_NR_DATA 0x10000u
#define P_NR_EOH 0x40000u
#define P_NR_BODY 0x80000u
#define P_HDR_LEADSPC 0x100000u
#define STAGES 7             /* SMFIM_CONNECT .. SMFIM_EOH */
#define CHUNK 65535          /* MILTER-WIRE-02 */
#define MAX_REPLY (1u << 20) /* longest reply packet we accept */
#define MAX_INSERTS 32       /* header edits kept per message */
#define MAX_HEADERS 1000
#define MAX_RCPTS 64  /* -r given more often is a usage error */
#define MAX_EXPECTS 8 /* -e given more often is a usage error */

/* MILTER-PFX-02: Postfix's default macro list per stage (SMFIM_* order). */
static const char *const default_macros[STAGES] = {
	"j {daemon_name} {daemon_addr} v _",
	"{tls_version} {cipher} {cipher_bits} {cert_subject} {cert_issuer}",
	"i {auth_type} {auth_authen} {auth_author} {mail_addr} {mail_host} {mail_mailer}",
	"i {rcpt_addr} {rcpt_host} {rcpt_mailer}",
	"i",
	"i",
	"i",
};
enum { ST_CONNECT, ST_HELO, ST_MAIL, ST_RCPT, ST_DATA, ST_EOM, ST_EOH };

/* ---- Options and the message ---- */
struct field {
	char *name;
	char *value; /* after the colon as in the file, folds CRLF, no final CRLF */
};
struct message {
	struct field *f;
	size_t nf;
	uint8_t *body; /* CRLF line ends (MILTER-CONV-08) */
	size_t blen;
};
struct keyent {
	char *name, *value;
};
/* -P: whose conversation to imitate (see the comment at the top). */
enum profile { PROFILE_POSTFIX, PROFILE_NON_SMTP, PROFILE_SENDMAIL };
struct opts {
	const char *socket, *client, *client_name, *helo, *sender, *auth, *write_path;
	const char *rcpt[MAX_RCPTS];
	size_t nrcpt;
	const char *expect[MAX_EXPECTS]; /* -e: each must be in the AR */
	size_t nexpect;
	enum profile profile;
	unsigned conns, threads, per_conn, reuse, check_every;
	uint64_t n;
	/* MILTER-GEN-12: Postfix's milter_connect_timeout (connect(2)),
	 * milter_command_timeout (OPTNEG, CONNECT..DATA), milter_content_timeout
	 * (HEADER..EOM); seconds */
	double duration, connect_timeout, cmd_timeout, content_timeout;
	double rate; /* -R: messages/s in all, open loop; 0 = closed loop */
	bool verify_mode, quiet;
	struct message msg;
	struct keyent *keys;
	size_t nkeys;
};

/* ---- Shared run state ---- */
struct run {
	const struct opts *o;
	atomic_uint_fast64_t next; /* message numbers handed out */
	atomic_uint_fast64_t ok, errors, timeouts, checked, verified;
	atomic_bool written; /* -w: the first delivered message was written */
	double deadline;     /* monotonic seconds; 0 = none */
	double t0;           /* monotonic seconds at the start */
	double due;          /* -R: when the last message drawn was due (under lock) */
	uint64_t rng;        /* -R: xorshift64 state (under lock); the same schedule every run */
	pthread_mutex_t lock;
	unsigned printed; /* error lines printed */
};

/* One connection slot: it runs SMTP sessions one after the other (session()). */
struct worker {
	struct run *r;
	unsigned id;
	struct coro *co; /* the coroutine that runs it */
	double *lat;     /* ms per completed message */
	size_t nlat, cap;
};

/* A worker's coroutine (see "Coroutines" below). */
struct coro {
	struct sched *s;
	struct worker *w;
	ucontext_t ctx;
	uint8_t *map;    /* mmap'd: a guard page, then the stack; NULL once it ended */
	uint8_t *stack;  /* map + the guard page; CO_STACK bytes */
	int fd;          /* the socket registered with s->ep, or -1 */
	uint32_t want;   /* EPOLLIN or EPOLLOUT while waiting on fd, else 0 */
	double deadline; /* monotonic seconds while waiting (always set), else 0 */
	bool done;
};

/* One event thread: an epoll loop that runs its coroutines. */
struct sched {
	pthread_t tid;
	int ep;
	ucontext_t main; /* where a coroutine goes when it waits or ends */
	struct coro *co; /* this thread's coroutines */
	unsigned n, alive;
	const void *main_bottom; /* this thread's stack, for ASan's fiber switches */
	size_t main_size;
};

/* One milter connection. */
struct conn {
	struct worker *w;
	int fd;
	uint32_t protocol;
	char *symlist[STAGES]; /* from the OPTNEG reply, NULL = default list */
	uint8_t *out;          /* one event's packets, written at once */
	size_t olen, ocap;
	uint8_t *in; /* the last reply packet's data */
	size_t ilen, icap;
	uint8_t cmd;
	char qid[32];
	bool qid_open;       /* Postfix has a queue file, so 'i' has a value */
	size_t rcpt_k;       /* the recipient of the RCPT being sent (or the last one) */
	const char *waiting; /* the event whose reply is awaited, for a timeout report */
	const char *tclass;  /* which timeout applies now: "connect", "command", "content" */
	double tsecs;
};

/* A header edit received at EOM. */
struct edit {
	uint8_t kind; /* 'i', 'h', 'm' */
	uint32_t index;
	char *name, *value;
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *xalloc(size_t n)
{
	void *p = calloc(1, n ? n : 1);
	if (p == NULL) {
		fprintf(stderr, "miltload: out of memory\n");
		exit(2);
	}
	return p;
}

static char *xstrndup(const char *s, size_t n)
{
	char *p = xalloc(n + 1);
	memcpy(p, s, n);
	return p;
}

static void fail(struct conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void timed_out(struct conn *c, const char *doing);

/* MILTER-GEN-12: a timeout is an error, counted apart and named after the
 * event and the Postfix timeout that applied. */
static void timed_out(struct conn *c, const char *doing)
{
	atomic_fetch_add(&c->w->r->timeouts, 1);
	fail(c, "timeout: %s %s: nothing for %g s (milter_%s_timeout)", doing,
	     c->waiting ? c->waiting : "?", c->tsecs, c->tclass ? c->tclass : "?");
}

/* Counts an error; prints the first few. */
static void fail(struct conn *c, const char *fmt, ...)
{
	struct run *r = c->w->r;
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	atomic_fetch_add(&r->errors, 1);
	pthread_mutex_lock(&r->lock);
	if (r->printed++ < 10)
		fprintf(stderr, "miltload: connection %u: %s\n", c->w->id, msg);
	pthread_mutex_unlock(&r->lock);
}

/* ---- Packets out (MILTER-WIRE-01) ---- */
static void out_bytes(struct conn *c, const void *p, size_t n)
{
	if (n == 0)
		return;
	if (c->olen + n > c->ocap) {
		size_t cap = (c->olen + n) * 2;
		uint8_t *q = realloc(c->out, cap);
		if (q == NULL) {
			fprintf(stderr, "miltload: out of memory\n");
			exit(2);
		}
		c->out = q, c->ocap = cap;
	}
	memcpy(c->out + c->olen, p, n);
	c->olen += n;
}

static void out_u32(struct conn *c, uint32_t v)
{
	uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
	out_bytes(c, b, 4);
}

/* Starts a packet whose data is len bytes long. */
static void out_pkt(struct conn *c, uint8_t cmd, size_t len)
{
	out_u32(c, (uint32_t)(len + 1));
	out_bytes(c, &cmd, 1);
}

/* ---- Coroutines ----
 * Each worker runs its sessions as a ucontext coroutine on an event thread
 * (struct sched). The protocol code below calls write_all, read_all and
 * dial as if they blocked: they try the non-blocking syscall and, on EAGAIN,
 * co_wait() records what the coroutine waits for (EPOLLIN or EPOLLOUT on its
 * socket) and until when, and switches to the thread's scheduler, which
 * switches back once that happened or the deadline passed; the caller then
 * retries the syscall.
 *
 * Each socket is registered once, for EPOLLIN|EPOLLOUT|EPOLLET, right after
 * connect(2) (so the registration's own readiness check sees the state of a
 * connect that already finished or failed). No wakeup is lost:
 * - a coroutine waits only after its syscall said EAGAIN (or a connect is in
 *   progress), so what it waits for happens after that syscall; the kernel
 *   then queues an edge on the epoll instance whether or not anyone is in
 *   epoll_wait, and on a thread only its scheduler calls epoll_wait, after
 *   the coroutine switched to it, so the edge is there to be seen;
 * - the scheduler drops an event that does not match what the coroutine
 *   waits for (an EPOLLOUT edge while it waits for a reply). That readiness
 *   is not needed later: before waiting for it the coroutine tries the
 *   syscall, which succeeds, or says EAGAIN and so precedes a new edge;
 * - an event that does match may be stale (the data it announced was read
 *   before the coroutine waited): the retry says EAGAIN and it waits again.
 * EPOLLERR and EPOLLHUP always resume it, and the retried syscall then says
 * what went wrong. A deadline resumes it too, and the retry comes first, so
 * a reply that came at the last moment is taken. One socket per coroutine,
 * removed from epoll before it is closed; the data.ptr of an event is the
 * coroutine, whose struct lives as long as its thread, so an event that
 * arrives after its socket was replaced or after it finished is ignored
 * (want is 0 or it is done). */
#define CO_STACK (1u << 20)   /* per coroutine; see co_new for what it needs */
#define CO_CONNECT_RETRY 0.01 /* seconds between tries while a unix backlog is full */

/* ASan is told of every stack switch (sanitizer/common_interface_defs.h),
 * so that it knows which stack is in use (for stack bounds on no-return
 * calls and for fake stacks). fake: where it keeps the fake stack of the
 * context being left, handed back to fiber_finish when that context runs
 * again; NULL when a coroutine leaves for good. */
static void fiber_start(void **fake, const void *bottom, size_t size)
{
#if defined(__SANITIZE_ADDRESS__)
	__sanitizer_start_switch_fiber(fake, bottom, size);
#else
	(void)fake, (void)bottom, (void)size;
#endif
}

static void fiber_finish(void *fake, const void **bottom_old, size_t *size_old)
{
#if defined(__SANITIZE_ADDRESS__)
	__sanitizer_finish_switch_fiber(fake, bottom_old, size_old);
#else
	(void)fake, (void)bottom_old, (void)size_old;
#endif
}

static size_t page_size(void)
{
	long p = sysconf(_SC_PAGESIZE);
	return p > 0 ? (size_t)p : 4096;
}

/* Switches from the coroutine to its scheduler until it resumes it. */
static void co_yield (struct coro *co)
{
	struct sched *s = co->s;
	void *fake = NULL;
	fiber_start(&fake, s->main_bottom, s->main_size);
	if (swapcontext(&co->ctx, &s->main) != 0) {
		fprintf(stderr, "miltload: swapcontext: %s\n", strerror(errno));
		exit(2);
	}
	fiber_finish(fake, &s->main_bottom, &s->main_size);
}

/* Waits for want (EPOLLIN/EPOLLOUT on co->fd; 0: only the deadline, a
 * sleep), an error or hangup on it, or the deadline; the caller retries. */
static void co_wait(struct coro *co, uint32_t want, double deadline)
{
	co->want = want;
	co->deadline = deadline;
	co_yield (co);
	co->want = 0;
	co->deadline = 0;
}

/* Registers fd (connected or connecting) for the events co_wait waits for. */
static bool co_register(struct coro *co, int fd)
{
	struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLET, .data.ptr = co};
	if (epoll_ctl(co->s->ep, EPOLL_CTL_ADD, fd, &ev) != 0)
		return false;
	co->fd = fd;
	return true;
}

/* Closes a socket of co, taken out of epoll first. */
static void co_close(struct coro *co, int fd)
{
	if (co->fd == fd) { /* cannot fail for a registered fd; close would drop it too */
		(void)epoll_ctl(co->s->ep, EPOLL_CTL_DEL, fd, NULL);
		co->fd = -1;
	}
	close(fd);
}

/* After EAGAIN on c's socket: waits for ev (EPOLLIN/EPOLLOUT). *deadline is
 * 0 on the first wait of a syscall that made no progress yet; it is then
 * set c->tsecs ahead, so the timeout counts per call as SO_RCVTIMEO and
 * SO_SNDTIMEO did (the caller resets it to 0 after progress, as Postfix
 * restarts its timer per read). False once the deadline passed. */
static bool io_wait(struct conn *c, uint32_t ev, double *deadline)
{
	double now = now_s();
	if (*deadline == 0)
		*deadline = now + c->tsecs;
	else if (now >= *deadline)
		return false;
	co_wait(c->w->co, ev, *deadline);
	return true;
}

static bool write_all(struct conn *c, const struct iovec *iov, int n)
{
	struct iovec v[4];
	memcpy(v, iov, sizeof *iov * (size_t)n);
	int i = 0;
	double deadline = 0;
	while (i < n) {
		ssize_t w = writev(c->fd, v + i, n - i);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (io_wait(c, EPOLLOUT, &deadline))
				continue;
			timed_out(c, "sending");
			return false;
		}
		if (w <= 0) {
			fail(c, "write: %s", w < 0 ? strerror(errno) : "closed");
			return false;
		}
		deadline = 0;
		size_t left = (size_t)w;
		while (i < n && left >= v[i].iov_len)
			left -= v[i++].iov_len;
		if (i < n)
			v[i].iov_base = (uint8_t *)v[i].iov_base + left, v[i].iov_len -= left;
	}
	return true;
}

/* Writes the packets of one event at once (Postfix flushes its stream per event). */
static bool flush(struct conn *c, const uint8_t *extra, size_t elen)
{
	struct iovec v[2] = {{c->out, c->olen}, {(void *)extra, elen}};
	bool ok = write_all(c, v, extra ? 2 : 1);
	c->olen = 0;
	return ok;
}

/* ---- Replies in ---- */
static bool read_all(struct conn *c, uint8_t *p, size_t n)
{
	double deadline = 0;
	while (n > 0) {
		ssize_t r = read(c->fd, p, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (io_wait(c, EPOLLIN, &deadline))
				continue;
			timed_out(c, "waiting for the reply to");
			return false;
		}
		if (r <= 0) {
			fail(c, "read: %s", r < 0 ? strerror(errno) : "milter closed");
			return false;
		}
		deadline = 0;
		p += r, n -= (size_t)r;
	}
	return true;
}

static bool read_pkt(struct conn *c)
{
	uint8_t h[5];
	if (!read_all(c, h, 5))
		return false;
	uint32_t len = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
	if (len == 0 || len > MAX_REPLY) {
		fail(c, "bad reply length %" PRIu32, len);
		return false;
	}
	c->cmd = h[4];
	c->ilen = len - 1;
	if (c->ilen + 1 > c->icap) {
		c->icap = c->ilen + 1;
		free(c->in);
		c->in = xalloc(c->icap);
	}
	if (!read_all(c, c->in, c->ilen))
		return false;
	c->in[c->ilen] = 0;
	return true;
}

/* Sets the timeout of every later read and write (per call, so a progress
 * reply restarts it, as Postfix's per-read timer; see io_wait); tclass
 * names the Postfix parameter for the report. */
static void set_timeout(struct conn *c, double s, const char *tclass)
{
	c->tsecs = s;
	c->tclass = tclass;
}

/* Result of one non-EOM step: go on, accepted (no more events for this
 * message), skip the rest of the body, rejected/tempfailed/discarded (the
 * transaction is over; counted as an error), or the connection is unusable. */
enum step { STEP_CONT, STEP_DONE, STEP_SKIP, STEP_REJECT, STEP_FAIL };

/* Reads the reply to a non-EOM event: progress is skipped (MILTER-GEN-10). */
static enum step read_reply(struct conn *c, const char *event)
{
	c->waiting = event;
	for (;;) {
		if (!read_pkt(c))
			return STEP_FAIL;
		switch (c->cmd) {
		case 'p': continue;
		case 'c': return STEP_CONT;
		case 's': return STEP_SKIP;
		case 'a': return STEP_DONE;
		case 'r':
		case 't':
		case 'd':
		case 'y':
			fail(c, "reply '%c' to %s%s%s", c->cmd, event, c->cmd == 'y' ? ": " : "",
			     c->cmd == 'y' ? (const char *)c->in : "");
			return STEP_REJECT;
		default: /* '4' shutdown, 'f' connection failure, or nonsense */
			fail(c, "reply '%c' to %s", c->cmd, event);
			return STEP_FAIL;
		}
	}
}

/* ---- Macros (MILTER-GEN-02..10, MILTER-PFX-02) ---- */
#define CLIENT_PORT 48123 /* an SMTP client's port: never 0 (0 = non-SMTP) */

static bool non_smtp(const struct conn *c)
{
	return c->w->r->o->profile == PROFILE_NON_SMTP;
}

/* MILTER-PFX-01: the non-SMTP path emulates a client localhost/127.0.0.1,
 * port 0; an SMTP client without --client-name did not resolve ("unknown"). */
static const char *client_name(const struct conn *c)
{
	const struct opts *o = c->w->r->o;
	return non_smtp(c) ? "localhost" : o->client_name ? o->client_name : "unknown";
}

static const char *client_addr(const struct conn *c)
{
	return non_smtp(c) ? "127.0.0.1" : c->w->r->o->client;
}

static const char *domain_of(const char *addr)
{
	const char *at = strrchr(addr, '@');
	return at && at[1] ? at + 1 : NULL;
}

/* The value Postfix 3.7 gives the macro `name` in the 'D' packet of event
 * cmd, or NULL where it has none (the pair is then left out). Recorded from a
 * real Postfix asking for every macro at every stage (tests/integration/
 * test_generator_conformance.py): smtpd sends CONNECT..DATA; HEADER..EOM come
 * from cleanup, where {mail_*}, {rcpt_*} and {client_connections} have no
 * value. 'i' exists once the queue file is open: after the first RCPT was
 * accepted (so from the second RCPT or DATA on), in the non-SMTP path from
 * CONNECT on. {rcpt_*} at DATA is the first recipient. The non-SMTP path
 * (cleanup only) has no auth macros, only the *_addr envelope macros, and
 * keeps {mail_addr} and the last {rcpt_addr} until EOM. tmp holds formatted
 * values. */
static const char *macro_value(const struct conn *c, const char *name, uint8_t cmd, char *tmp,
			       size_t tlen)
{
	const struct opts *o = c->w->r->o;
	bool local = non_smtp(c);
	bool content = cmd == 'L' || cmd == 'N' || cmd == 'B' || cmd == 'E';
	bool after_mail = cmd != 'C' && cmd != 'H';
	bool smtp_envelope = !local && !content && after_mail; /* smtpd at MAIL, RCPT, DATA */
	bool smtp_rcpt = !local && (cmd == 'R' || cmd == 'T');
	const char *rcpt = o->rcpt[!local && cmd == 'T' ? 0 : c->rcpt_k];

	if (strcmp(name, "j") == 0 || strcmp(name, "{daemon_name}") == 0)
		return "mx.miltload.test";
	if (strcmp(name, "v") == 0)
		return "Postfix 3.7.11";
	if (strcmp(name, "{daemon_addr}") == 0)
		return "127.0.0.1";
	if (strcmp(name, "{daemon_port}") == 0)
		return local ? "0" : "25";
	if (strcmp(name, "_") == 0) { /* "validated client name and address" */
		snprintf(tmp, tlen, "%s [%s]", client_name(c), client_addr(c));
		return tmp;
	}
	if (strcmp(name, "{client_addr}") == 0)
		return client_addr(c);
	if (strcmp(name, "{client_name}") == 0 || strcmp(name, "{client_ptr}") == 0)
		return client_name(c);
	if (strcmp(name, "{client_port}") == 0) {
		snprintf(tmp, tlen, "%d", local ? 0 : CLIENT_PORT);
		return tmp;
	}
	if (strcmp(name, "{client_connections}") == 0)
		return !local && !content ? "0" : NULL;
	if (strcmp(name, "i") == 0)
		return c->qid_open ? c->qid : NULL;
	if (strcmp(name, "{auth_type}") == 0) /* MILTER-GEN-13: never in the non-SMTP path */
		return !local && after_mail && o->auth ? "PLAIN" : NULL;
	if (strcmp(name, "{auth_authen}") == 0)
		return !local && after_mail ? o->auth : NULL;
	if (strcmp(name, "{mail_addr}") == 0)
		return smtp_envelope || (local && after_mail) ? o->sender : NULL;
	if (strcmp(name, "{mail_host}") == 0)
		return smtp_envelope ? domain_of(o->sender) : NULL;
	if (strcmp(name, "{mail_mailer}") == 0)
		return smtp_envelope ? "smtp" : NULL;
	if (strcmp(name, "{rcpt_addr}") == 0)
		return smtp_rcpt || (local && after_mail && cmd != 'M') ? rcpt : NULL;
	if (strcmp(name, "{rcpt_host}") == 0)
		return smtp_rcpt ? domain_of(rcpt) : NULL;
	if (strcmp(name, "{rcpt_mailer}") == 0)
		return smtp_rcpt ? "smtp" : NULL;
	return NULL; /* TLS macros (no TLS here), {auth_author} (no AUTH= parameter), unknown */
}

/* Appends a 'D' packet for the event cmd with the stage's list (the
 * milter's setsymlist, else Postfix's default), values only where known;
 * sent even with zero pairs (MILTER-GEN-03). */
static void out_macros(struct conn *c, uint8_t cmd, int stage)
{
	const char *list = c->symlist[stage] ? c->symlist[stage] : default_macros[stage];
	char pairs[4096], tmp[600];
	size_t len = 0;
	const char *p = list;
	while (*p) {
		size_t n = strcspn(p, " ");
		char name[64];
		if (n > 0 && n < sizeof name) {
			memcpy(name, p, n);
			name[n] = 0;
			const char *v = macro_value(c, name, cmd, tmp, sizeof tmp);
			if (v && *v && len + n + strlen(v) + 2 > sizeof pairs)
				fail(c, "macros for '%c' longer than %zu bytes: %s left out", cmd,
				     sizeof pairs, name);
			else if (v && *v) {
				memcpy(pairs + len, name, n + 1);
				len += n + 1;
				memcpy(pairs + len, v, strlen(v) + 1);
				len += strlen(v) + 1;
			}
		}
		p += n;
		p += strspn(p, " ");
	}
	out_pkt(c, 'D', len + 1);
	out_bytes(c, &cmd, 1);
	out_bytes(c, pairs, len);
}

/* ---- Negotiation (MILTER-GEN-01) ---- */
static uint32_t get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static bool negotiate(struct conn *c)
{
	out_pkt(c, 'O', 12);
	out_u32(c, PROT_VERSION);
	out_u32(c, OFFER_ACTIONS);
	out_u32(c, OFFER_PROTOCOL);
	c->waiting = "OPTNEG";
	if (!flush(c, NULL, 0) || !read_pkt(c))
		return false;
	if (c->cmd != 'O' || c->ilen < 12) {
		fail(c, "bad OPTNEG reply '%c' (%zu bytes)", c->cmd, c->ilen);
		return false;
	}
	uint32_t ver = get_u32(c->in), act = get_u32(c->in + 4);
	c->protocol = get_u32(c->in + 8);
	if (ver < 2 || ver > PROT_VERSION || (act & ~OFFER_ACTIONS) ||
	    (c->protocol & ~OFFER_PROTOCOL)) {
		fail(c,
		     "OPTNEG reply asks for more than offered (version %u actions %#x protocol "
		     "%#x)",
		     ver, act, c->protocol);
		return false;
	}
	/* Macro lists: uint32 stage, names\0 (libmilter milter_addsymlist). */
	size_t off = 12;
	while (off + 5 <= c->ilen) {
		uint32_t stage = get_u32(c->in + off);
		const char *names = (const char *)c->in + off + 4;
		size_t n = strnlen(names, c->ilen - off - 4);
		if (stage >= STAGES || off + 4 + n >= c->ilen + 1) {
			fail(c, "bad macro list in OPTNEG reply");
			return false;
		}
		free(c->symlist[stage]);
		c->symlist[stage] = xstrndup(names, n);
		off += 4 + n + 1;
	}
	return true;
}

/* One event: 'D' macros, then the command unless a NO flag skips it; waits
 * for the reply unless the NR flag was negotiated (MILTER-GEN-12). Postfix
 * sends the macros of a switched-off CONNECT, HELO, MAIL, RCPT or DATA, but
 * not those of a switched-off HEADER or EOH (seen with Postfix 3.7). */
static enum step event(struct conn *c, uint8_t cmd, int stage, uint32_t no, uint32_t nr,
		       const void *data, size_t len, const char *what)
{
	bool send = !(c->protocol & no);
	if (!send && (cmd == 'L' || cmd == 'N'))
		return STEP_CONT;
	c->waiting = what;
	out_macros(c, cmd, stage);
	if (send) {
		out_pkt(c, cmd, len);
		out_bytes(c, data, len);
	}
	if (!flush(c, NULL, 0))
		return STEP_FAIL;
	if (!send || (c->protocol & nr))
		return STEP_CONT;
	return read_reply(c, what);
}

/* The start of an SMTP session (or of the non-SMTP emulation): CONNECT with
 * the client's name, or "[addr]" when it did not resolve (MILTER-WIRE-05),
 * family, port (0 in the non-SMTP path) and address (MILTER-GEN-02), then
 * HELO (MILTER-GEN-03). Names were length-checked by parse_opts. */
static enum step do_connect(struct conn *c)
{
	const struct opts *o = c->w->r->o;
	const char *addr = client_addr(c), *name = client_name(c);
	uint16_t port = non_smtp(c) ? 0 : CLIENT_PORT;
	char data[600];
	int n = strcmp(name, "unknown") == 0 ? snprintf(data, 300, "[%s]", addr)
					     : snprintf(data, 300, "%s", name);
	size_t len = (size_t)n + 1;
	data[len++] = strchr(addr, ':') ? '6' : '4';
	data[len++] = (char)(port >> 8);
	data[len++] = (char)(port & 0xFF);
	memcpy(data + len, addr, strlen(addr) + 1);
	len += strlen(addr) + 1;
	enum step s = event(c, 'C', ST_CONNECT, P_NOCONNECT, P_NR_CONN, data, len, "CONNECT");
	if (s != STEP_CONT)
		return s;
	return event(c, 'H', ST_HELO, P_NOHELO, P_NR_HELO, o->helo, strlen(o->helo) + 1, "HELO");
}

/* ---- Message file / generated message ---- */
static void add_field(struct message *m, const char *name, size_t nlen, const char *value,
		      size_t vlen)
{
	if (m->nf >= MAX_HEADERS) {
		fprintf(stderr, "miltload: more than %d header fields\n", MAX_HEADERS);
		exit(2);
	}
	if (m->f == NULL)
		m->f = xalloc(sizeof *m->f * MAX_HEADERS);
	m->f[m->nf].name = xstrndup(name, nlen);
	m->f[m->nf].value = xstrndup(value, vlen);
	m->nf++;
}

/* Copies p[0..n) with every bare LF made CRLF. */
static uint8_t *to_crlf(const uint8_t *p, size_t n, size_t *outlen)
{
	uint8_t *q = xalloc(n * 2 + 2);
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\n' && (i == 0 || p[i - 1] != '\r'))
			q[k++] = '\r';
		q[k++] = p[i];
	}
	*outlen = k;
	return q;
}

/* Splits a message (LF or CRLF) into fields and a CRLF body. */
static void parse_message(const uint8_t *raw, size_t rlen, struct message *m)
{
	size_t len;
	uint8_t *p = to_crlf(raw, rlen, &len);
	size_t i = 0;
	while (i < len && !(p[i] == '\r' && i + 1 < len && p[i + 1] == '\n')) {
		size_t start = i;
		/* a field ends at a CRLF not followed by WSP */
		while (i + 1 < len && !(p[i] == '\r' && p[i + 1] == '\n' &&
					(i + 2 >= len || (p[i + 2] != ' ' && p[i + 2] != '\t'))))
			i++;
		const char *f = (const char *)p + start;
		size_t flen = i - start;
		const char *colon = memchr(f, ':', flen);
		if (colon == NULL) {
			fprintf(stderr, "miltload: header line without a colon\n");
			exit(2);
		}
		size_t nlen = (size_t)(colon - f);
		while (nlen > 0 && (f[nlen - 1] == ' ' || f[nlen - 1] == '\t'))
			nlen--; /* MILTER-CONV-07: Postfix drops WSP before the colon */
		add_field(m, f, nlen, colon + 1, flen - (size_t)(colon + 1 - f));
		i += 2;
	}
	i += 2;
	m->blen = i < len ? len - i : 0;
	m->body = xalloc(m->blen + 3);
	if (m->blen)
		memcpy(m->body, p + i, m->blen);
	/* SMTP ends every line, the last one too (and sendmail(1) likewise):
	 * Postfix sends a body without a final line end with CRLF added. */
	if (m->blen && (m->blen < 2 || memcmp(m->body + m->blen - 2, "\r\n", 2) != 0)) {
		memcpy(m->body + m->blen, "\r\n", 2);
		m->blen += 2;
	}
	free(p);
}

static void load_message(const char *path, struct message *m)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		fprintf(stderr, "miltload: %s: %s\n", path, strerror(errno));
		exit(2);
	}
	size_t cap = 1 << 16, len = 0;
	uint8_t *buf = xalloc(cap);
	size_t r;
	while ((r = fread(buf + len, 1, cap - len, f)) > 0) {
		len += r;
		if (len == cap) {
			cap *= 2;
			uint8_t *q = realloc(buf, cap);
			if (q == NULL) {
				fprintf(stderr, "miltload: out of memory\n");
				exit(2);
			}
			buf = q;
		}
	}
	fclose(f);
	parse_message(buf, len, m);
	free(buf);
}

/* A plain-text message with a body of exactly bytes octets (72-character lines). */
static void make_message(const struct opts *o, size_t bytes, struct message *m)
{
	char hdr[1024];
	time_t t = time(NULL);
	struct tm tm;
	char date[64];
	gmtime_r(&t, &tm);
	strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
	const char *at = strchr(o->sender, '@');
	snprintf(hdr, sizeof hdr,
		 "From: Load Test <%s>\r\nTo: <%s>\r\nSubject: miltload test message\r\n"
		 "Date: %s\r\nMessage-ID: <miltload.%ld@%s>\r\nMIME-Version: 1.0\r\n"
		 "Content-Type: text/plain; charset=us-ascii\r\n\r\n",
		 o->sender, o->rcpt[0], date, (long)t, at ? at + 1 : "miltload.test");
	parse_message((const uint8_t *)hdr, strlen(hdr), m);
	free(m->body);
	m->body = xalloc(bytes + 1);
	m->blen = bytes;
	uint32_t x = 12345;
	for (size_t i = 0; i < bytes; i++) {
		size_t col = i % 74;
		if (col == 72 || i + 2 == bytes)
			m->body[i] = '\r';
		else if (col == 73 || i + 1 == bytes)
			m->body[i] = '\n';
		else {
			x = x * 1103515245u + 12345u;
			m->body[i] =
				(uint8_t)("abcdefghijklmnopqrstuvwxyz     .,ABCDEFGHIJ0123456789"
						  [(x >> 16) % 53]);
		}
	}
	if (bytes == 1)
		m->body[0] = '\n';
}

/* ---- One message (MILTER-GEN-04..10) ---- */

/* The header value as Postfix sends it: folds as "\n" (MILTER-CONV-06),
 * the first SP dropped unless HDR_LEADSPC (MILTER-NEG-03). */
static size_t wire_value(const struct conn *c, const char *v, char *out)
{
	size_t k = 0;
	if (!(c->protocol & P_HDR_LEADSPC) && *v == ' ')
		v++;
	for (; *v; v++)
		if (!(v[0] == '\r' && v[1] == '\n'))
			out[k++] = *v;
	out[k] = 0;
	return k;
}

/* MAIL, one RCPT per recipient, DATA (MILTER-GEN-04..06). smtpd passes the
 * addresses in <> with the client's ESMTP parameters (our client gives
 * none); Postfix 3.7's non-SMTP path passes them bare. Lengths were checked
 * by parse_opts. */
static enum step send_envelope(struct conn *c)
{
	const struct opts *o = c->w->r->o;
	const char *lt = non_smtp(c) ? "" : "<", *gt = non_smtp(c) ? "" : ">";
	char a[600];
	c->rcpt_k = 0;
	c->qid_open = non_smtp(c); /* smtpd: no queue file before the first RCPT */
	int n = snprintf(a, sizeof a, "%s%s%s", lt, o->sender, gt);
	enum step s = event(c, 'M', ST_MAIL, P_NOMAIL, P_NR_MAIL, a, (size_t)n + 1, "MAIL");
	for (size_t k = 0; s == STEP_CONT && k < o->nrcpt; k++) {
		c->rcpt_k = k;
		n = snprintf(a, sizeof a, "%s%s%s", lt, o->rcpt[k], gt);
		s = event(c, 'R', ST_RCPT, P_NORCPT, P_NR_RCPT, a, (size_t)n + 1, "RCPT");
		c->qid_open = true; /* smtpd opens it once the first recipient is accepted */
	}
	if (s != STEP_CONT)
		return s;
	return event(c, 'T', ST_DATA, P_NODATA, P_NR_DATA, NULL, 0, "DATA");
}

static enum step send_headers(struct conn *c)
{
	const struct message *m = &c->w->r->o->msg;
	for (size_t k = 0; k < m->nf && !(c->protocol & P_NOHDRS); k++) {
		size_t nlen = strlen(m->f[k].name);
		char *d = xalloc(nlen + 1 + strlen(m->f[k].value) + 1);
		memcpy(d, m->f[k].name, nlen + 1);
		size_t vlen = wire_value(c, m->f[k].value, d + nlen + 1);
		/* MILTER-GEN-07: each header event carries the EOH macro list */
		enum step s =
			event(c, 'L', ST_EOH, P_NOHDRS, P_NR_HDR, d, nlen + vlen + 2, "HEADER");
		free(d);
		if (s != STEP_CONT)
			return s;
	}
	return event(c, 'N', ST_EOH, P_NOEOH, P_NR_EOH, NULL, 0, "EOH");
}

static enum step send_body(struct conn *c)
{
	const struct message *m = &c->w->r->o->msg;
	for (size_t off = 0; off < m->blen && !(c->protocol & P_NOBODY);) {
		size_t n = m->blen - off < CHUNK ? m->blen - off : CHUNK;
		c->waiting = "BODY";
		out_macros(c, 'B', ST_EOM); /* MILTER-GEN-09 */
		out_pkt(c, 'B', n);
		if (!flush(c, m->body + off, n))
			return STEP_FAIL;
		off += n;
		if (c->protocol & P_NR_BODY)
			continue;
		enum step s = read_reply(c, "BODY");
		if (s == STEP_SKIP)
			break;
		if (s != STEP_CONT)
			return s;
	}
	return STEP_CONT;
}

/* Reads the EOM actions up to the final reply (MILTER-GEN-10): progress,
 * quarantine (Postfix holds the message and reads on) and modifications,
 * until c/a/r/t/d/y, stored in *verdict. False if the connection is unusable
 * ('4' shutdown, 'f' connection failure, nonsense, I/O). */
static bool read_eom(struct conn *c, struct edit *ed, size_t *ned, uint8_t *verdict)
{
	*ned = 0;
	c->waiting = "EOM";
	for (;;) {
		if (!read_pkt(c))
			return false;
		switch (c->cmd) {
		case 'p':
		case 'q': continue;
		case 'c':
		case 'a':
		case 'r':
		case 't':
		case 'd':
		case 'y': *verdict = c->cmd; return true;
		case 'i':
		case 'm':
		case 'h': {
			size_t off = c->cmd == 'h' ? 0 : 4;
			if (c->ilen < off + 2 || *ned >= MAX_INSERTS) {
				fail(c, "bad or too many '%c' packets", c->cmd);
				return false;
			}
			struct edit *e = &ed[(*ned)++];
			e->kind = c->cmd;
			e->index = off ? get_u32(c->in) : 0;
			const char *name = (const char *)c->in + off;
			size_t nl = strnlen(name, c->ilen - off);
			e->name = xstrndup(name, nl);
			size_t voff = off + nl + 1;
			e->value = voff < c->ilen ? xstrndup((const char *)c->in + voff,
							     strnlen((const char *)c->in + voff,
								     c->ilen - voff))
						  : xstrndup("", 0);
			continue;
		}
		case 'e':
		case '+':
		case '2':
		case '-':
		case 'b': continue;
		default: fail(c, "EOM reply '%c'", c->cmd); return false;
		}
	}
}

/* ---- Checking the result ---- */
struct hdr {
	const char *name, *value; /* value: bytes after the colon, leading SP present */
	bool added;
};

static const char *key_lookup(const struct opts *o, const char *name)
{
	size_t len = strlen(name);
	if (len && name[len - 1] == '.')
		len--;
	for (size_t k = 0; k < o->nkeys; k++)
		if (strlen(o->keys[k].name) == len && strncasecmp(o->keys[k].name, name, len) == 0)
			return o->keys[k].value;
	return NULL;
}

/* The delivered header: our edits applied to the received fields
 * (MILTER-PFX-05: insert index 0 = top; 'm' index 1-based per name, empty
 * value deletes; 'h' appends). Returns the count in out. */
static size_t apply_edits(const struct conn *c, const struct edit *ed, size_t ned, struct hdr *out,
			  char **owned)
{
	const struct message *m = &c->w->r->o->msg;
	size_t n = 0;
	for (size_t k = 0; k < m->nf; k++)
		out[n++] = (struct hdr){m->f[k].name, m->f[k].value, false};
	for (size_t k = 0; k < ned; k++) {
		const struct edit *e = &ed[k];
		char *v = xalloc(strlen(e->value) + 2);
		/* MILTER-PFX-07: "name:" + SP unless LEADSPC + value */
		sprintf(v, "%s%s", (c->protocol & P_HDR_LEADSPC) ? "" : " ", e->value);
		owned[k] = v;
		if (e->kind == 'm') {
			uint32_t seen = 0, want = e->index ? e->index : 1;
			for (size_t j = 0; j < n; j++)
				if (!out[j].added && strcasecmp(out[j].name, e->name) == 0 &&
				    ++seen == want) {
					if (*e->value == 0)
						memmove(out + j, out + j + 1,
							sizeof *out * (n-- - j - 1));
					else
						out[j].value = v;
					break;
				}
			continue;
		}
		size_t at = e->kind == 'h' ? n : (e->index < n ? e->index : n);
		if (n >= MAX_HEADERS + MAX_INSERTS)
			continue;
		memmove(out + at + 1, out + at, sizeof *out * (n - at));
		out[at] = (struct hdr){e->name, v, true};
		n++;
	}
	return n;
}

/* Verifies the delivered message with libsignet: true if every signature passes. */
static bool verify_message(struct conn *c, const struct hdr *h, size_t n, unsigned *nsig)
{
	const struct opts *o = c->w->r->o;
	struct signet_verify_options vo = {.now = (uint64_t)time(NULL)};
	struct signet_verifier *v = NULL;
	struct signet_error err = {0};
	bool ok = signet_verifier_new(&vo, &v, &err) == SIGNET_OK;
	for (size_t k = 0; ok && k < n; k++)
		ok = signet_verifier_header(v, (const uint8_t *)h[k].name, strlen(h[k].name),
					    (const uint8_t *)h[k].value, strlen(h[k].value),
					    &err) == SIGNET_OK;
	ok = ok && signet_verifier_end_of_headers(v, &err) == SIGNET_OK;
	struct signet_query q;
	while (ok && signet_verifier_next_query(v, &q)) {
		const char *rec = key_lookup(o, q.name);
		struct signet_txt t = {(const uint8_t *)rec, rec ? strlen(rec) : 0};
		ok = signet_verifier_answer(v, q.id, rec ? SIGNET_DNS_OK : SIGNET_DNS_NXDOMAIN, &t,
					    rec ? 1 : 0, &err) == SIGNET_OK;
	}
	const struct message *m = &o->msg;
	for (size_t off = 0; ok && off < m->blen; off += CHUNK)
		ok = signet_verifier_body(v, m->body + off,
					  m->blen - off < CHUNK ? m->blen - off : CHUNK,
					  &err) == SIGNET_OK;
	ok = ok && signet_verifier_finish(v, &err) == SIGNET_OK;
	if (!ok)
		fail(c, "verifier: %s", err.msg);
	*nsig = ok ? (unsigned)signet_verifier_count(v) : 0;
	for (size_t k = 0; ok && k < *nsig; k++) {
		const struct signet_sig_result *r = signet_verifier_result(v, k);
		if (r->result != SIGNET_RESULT_PASS) {
			fail(c, "signature d=%s s=%s: %s (%s)", r->d, r->s,
			     signet_result_name(r->result), r->reason);
			ok = false;
		}
	}
	signet_verifier_free(v);
	return ok && *nsig > 0;
}

/* -w: the message as it would be delivered (CRLF), for `signet verify`. */
static void write_delivered(struct conn *c, const struct edit *ed, size_t ned)
{
	const struct opts *o = c->w->r->o;
	if (atomic_exchange(&c->w->r->written, true))
		return;
	struct hdr *h = xalloc(sizeof *h * (MAX_HEADERS + MAX_INSERTS));
	char *owned[MAX_INSERTS] = {0};
	size_t n = apply_edits(c, ed, ned, h, owned);
	FILE *f = fopen(o->write_path, "wb");
	if (f == NULL) {
		fail(c, "%s: %s", o->write_path, strerror(errno));
	} else {
		for (size_t k = 0; k < n; k++) {
			fprintf(f, "%s:", h[k].name);
			for (const char *v = h[k].value; *v; v++) /* folds: LF -> CRLF */
				fputs(*v == '\n' && (v == h[k].value || v[-1] != '\r')
					      ? "\r\n"
					      : (char[2]){*v, 0},
				      f);
			fputs("\r\n", f);
		}
		fputs("\r\n", f);
		fwrite(o->msg.body, 1, o->msg.blen, f);
		if (fclose(f) != 0)
			fail(c, "%s: %s", o->write_path, strerror(errno));
	}
	for (size_t k = 0; k < ned; k++)
		free(owned[k]);
	free(h);
}

/* The first -e string that the Authentication-Results value lacks, or NULL
 * when it has them all (each -e is a separate requirement, e.g. dkim=pass
 * and spf=pass for the receiving-side benchmark rows). */
static const char *missing_expect(const struct opts *o, const char *value)
{
	for (size_t k = 0; k < o->nexpect; k++)
		if (!strstr(value, o->expect[k]))
			return o->expect[k];
	return NULL;
}

/* Checks the actions of one message; counts it ok or failed. */
static void check_result(struct conn *c, struct edit *ed, size_t ned, uint64_t msgno)
{
	struct run *r = c->w->r;
	const struct opts *o = r->o;
	const char *missing;
	const char *want = o->verify_mode ? "Authentication-Results" : "DKIM-Signature";
	const struct edit *found = NULL;
	for (size_t k = 0; k < ned; k++)
		if (ed[k].kind != 'm' && strcasecmp(ed[k].name, want) == 0)
			found = &ed[k];
	bool ok = found != NULL;
	if (!ok)
		fail(c, "message %" PRIu64 ": no %s added (%zu edits)", msgno, want, ned);
	else if (!o->verify_mode && (!strstr(found->value, "b=") || !strstr(found->value, "bh=")))
		ok = false, fail(c, "message %" PRIu64 ": DKIM-Signature without b=/bh=", msgno);
	else if (o->verify_mode && (missing = missing_expect(o, found->value)) != NULL)
		ok = false,
		fail(c, "message %" PRIu64 ": Authentication-Results without \"%s\": %s", msgno,
		     missing, found->value);
	if (ok && o->nkeys && !o->verify_mode && msgno % o->check_every == 0) {
		struct hdr *h = xalloc(sizeof *h * (MAX_HEADERS + MAX_INSERTS));
		char *owned[MAX_INSERTS] = {0};
		size_t n = apply_edits(c, ed, ned, h, owned);
		unsigned nsig;
		atomic_fetch_add(&r->checked, 1);
		ok = verify_message(c, h, n, &nsig);
		if (ok)
			atomic_fetch_add(&r->verified, 1);
		for (size_t k = 0; k < ned; k++)
			free(owned[k]);
		free(h);
	}
	if (ok && o->write_path)
		write_delivered(c, ed, ned);
	if (ok)
		atomic_fetch_add(&r->ok, 1);
}

static void record_latency(struct worker *w, double ms)
{
	if (w->nlat == w->cap) {
		w->cap = w->cap ? w->cap * 2 : 1024;
		double *p = realloc(w->lat, sizeof *p * w->cap);
		if (p == NULL) {
			fprintf(stderr, "miltload: out of memory\n");
			exit(2);
		}
		w->lat = p;
	}
	w->lat[w->nlat++] = ms;
}

static void set_qid(struct conn *c, uint64_t msgno)
{
	snprintf(c->qid, sizeof c->qid, "%010" PRIX64 "%X", msgno, c->w->id & 0xF);
}

/* -R (open loop): messages arrive as a Poisson process of RATE per second
 * (exponential gaps, mean 1/RATE) and each goes to the next connection that
 * is free, as mail waits for a free smtpd process: a connection draws the
 * next arrival when it is ready for a message and waits until then. A
 * message that arrived while every connection was busy starts at once, and
 * its latency counts from its arrival (no coordinated omission: a slow
 * milter cannot hide its backlog by slowing the client down). */
static double next_due(struct run *r)
{
	pthread_mutex_lock(&r->lock);
	if (r->rng == 0)
		r->rng = 0x9E3779B97F4A7C15ull, r->due = r->t0;
	r->rng ^= r->rng << 13, r->rng ^= r->rng >> 7, r->rng ^= r->rng << 17;
	double u = (double)((r->rng >> 11) + 1) / 9007199254740993.0; /* (0, 1] */
	r->due += -log(u) / r->o->rate;
	double due = r->due;
	pthread_mutex_unlock(&r->lock);
	return due;
}

/* One message from MAIL to the final EOM reply; false if the connection is
 * unusable. A message the milter rejects or accepts before EOM is counted
 * as an error and abandoned (the caller sends the ABORT, MILTER-GEN-11). */
static bool one_message(struct conn *c, uint64_t msgno)
{
	const struct opts *o = c->w->r->o;
	set_qid(c, msgno);
	double t0 = now_s();
	if (o->rate > 0) {
		double due = next_due(c->w->r);
		if (due > t0)
			co_wait(c->w->co, 0, due);
		t0 = due;
	}
	enum step s = send_envelope(c);
	if (s == STEP_CONT) { /* MILTER-GEN-12: HEADER..EOM wait up to the content timeout */
		set_timeout(c, o->content_timeout, "content");
		s = send_headers(c);
	}
	if (s == STEP_CONT)
		s = send_body(c);
	if (s == STEP_DONE) /* accepted early: nothing can be added */
		fail(c, "message %" PRIu64 ": accepted before EOM, nothing added", msgno);
	if (s == STEP_DONE || s == STEP_REJECT) {
		set_timeout(c, o->cmd_timeout, "command");
		return true;
	}
	if (s == STEP_FAIL)
		return false;
	struct edit ed[MAX_INSERTS];
	size_t ned = 0;
	uint8_t verdict = 0;
	c->waiting = "EOM";
	out_macros(c, 'E', ST_EOM);
	out_pkt(c, 'E', 0);
	bool ok = flush(c, NULL, 0) && read_eom(c, ed, &ned, &verdict);
	set_timeout(c, o->cmd_timeout, "command");
	if (ok) {
		record_latency(c->w, (now_s() - t0) * 1000.0);
		if (verdict == 'c' || verdict == 'a')
			check_result(c, ed, ned, msgno);
		else
			fail(c, "message %" PRIu64 ": EOM reply '%c'%s%s", msgno, verdict,
			     verdict == 'y' ? ": " : "", verdict == 'y' ? (const char *)c->in : "");
	}
	for (size_t k = 0; k < ned; k++)
		free(ed[k].name), free(ed[k].value);
	return ok;
}

/* ---- Connections ---- */
/* Connects the non-blocking fd within timeout seconds, as a blocking connect
 * under SO_SNDTIMEO did: a connect in progress (inet) is waited for, then its
 * SO_ERROR read; a unix socket whose listen backlog is full says EAGAIN
 * (where a blocking connect sleeps until there is room) and is tried again
 * every CO_CONNECT_RETRY. Once connected or connecting, fd is registered
 * with co's epoll. False with errno on failure; *expired says the time ran
 * out. */
static bool connect_within(struct coro *co, int fd, const struct sockaddr *sa, socklen_t salen,
			   double timeout, bool *expired)
{
	double deadline = now_s() + timeout;
	while (connect(fd, sa, salen) != 0) {
		if (errno == EINPROGRESS)
			break;
		if (errno != EAGAIN)
			return false;
		double now = now_s();
		if (now >= deadline) {
			*expired = true;
			return false;
		}
		double retry = now + CO_CONNECT_RETRY;
		co_wait(co, 0, retry < deadline ? retry : deadline);
	}
	if (!co_register(co, fd))
		return false;
	for (;;) {
		int err = 0;
		socklen_t elen = sizeof err;
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) != 0)
			return false;
		if (err != 0) {
			errno = err;
			*expired = err == ETIMEDOUT;
			return false;
		}
		/* No error yet: connected only if it has a peer (a wakeup may
		 * come before the handshake is over, see "Coroutines"). */
		struct sockaddr_storage peer;
		socklen_t plen = sizeof peer;
		if (getpeername(fd, (struct sockaddr *)&peer, &plen) == 0)
			return true;
		if (errno != ENOTCONN)
			return false;
		if (now_s() >= deadline) {
			errno = ETIMEDOUT;
			*expired = true;
			return false;
		}
		co_wait(co, EPOLLOUT, deadline);
	}
}

/* A connected non-blocking socket to spec, registered with co's epoll, or
 * -1 with why (*expired: the connect timeout ran out). */
static int dial(struct coro *co, const char *spec, double timeout, char *why, size_t wlen,
		bool *expired)
{
	if (strncmp(spec, "unix:", 5) == 0 || strncmp(spec, "local:", 6) == 0) {
		struct sockaddr_un sa = {.sun_family = AF_UNIX};
		const char *path = strchr(spec, ':') + 1;
		if (strlen(path) >= sizeof sa.sun_path)
			return snprintf(why, wlen, "socket path too long"), -1;
		strcpy(sa.sun_path, path);
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fd >= 0 &&
		    connect_within(co, fd, (struct sockaddr *)&sa, sizeof sa, timeout, expired))
			return fd;
		snprintf(why, wlen, "%s: %s", spec, strerror(errno));
		if (fd >= 0)
			co_close(co, fd);
		return -1;
	}
	/* inet:PORT@HOST (Sendmail/OpenDKIM/signetd) or inet:HOST:PORT (Postfix) */
	char host[256] = "127.0.0.1", port[16];
	const char *s = spec + (strncmp(spec, "inet:", 5) == 0    ? 5
				: strncmp(spec, "inet6:", 6) == 0 ? 6
								  : 0);
	const char *at = strchr(s, '@'), *colon = strrchr(s, ':');
	if (at)
		snprintf(port, sizeof port, "%.*s", (int)(at - s), s),
			snprintf(host, sizeof host, "%s", at + 1);
	else if (colon)
		snprintf(host, sizeof host, "%.*s", (int)(colon - s), s),
			snprintf(port, sizeof port, "%s", colon + 1);
	else
		snprintf(port, sizeof port, "%s", s);
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
	int rc = getaddrinfo(host, port, &hints, &ai);
	if (rc != 0)
		return snprintf(why, wlen, "%s: %s", spec, gai_strerror(rc)), -1;
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	/* No TCP_NODELAY and no TCP_QUICKACK: Postfix sets neither. */
	if (fd >= 0 && connect_within(co, fd, ai->ai_addr, ai->ai_addrlen, timeout, expired)) {
		freeaddrinfo(ai);
		return fd;
	}
	snprintf(why, wlen, "%s: %s", spec, strerror(errno));
	if (fd >= 0)
		co_close(co, fd);
	freeaddrinfo(ai);
	return -1;
}

static bool take_message(struct run *r, uint64_t *msgno)
{
	if (r->deadline > 0 && now_s() >= r->deadline)
		return false;
	*msgno = atomic_fetch_add(&r->next, 1);
	return *msgno < r->o->n;
}

/* The end of an SMTP session: smtpd's ABORT (sent even after a completed
 * message, seen with Postfix 3.7), then QUIT, or QUIT_NC when the sendmail
 * profile reuses the connection. The non-SMTP path only says QUIT. */
static bool end_session(struct conn *c, uint8_t cmd)
{
	if (!non_smtp(c))
		out_pkt(c, 'A', 0);
	out_pkt(c, cmd, 0);
	c->waiting = cmd == 'K' ? "QUIT_NC" : "QUIT";
	return flush(c, NULL, 0);
}

/* One milter connection (MILTER-GEN-01..11): negotiate, then an SMTP
 * session: CONNECT, HELO, up to per_conn messages each followed by ABORT,
 * then ABORT and QUIT. The sendmail profile runs the next session on the same
 * connection after QUIT_NC, up to `reuse` sessions (MILTER-SM-03); the
 * non-SMTP profile has one message per connection. Returns false when no
 * message is left. */
static bool session(struct worker *w)
{
	const struct opts *o = w->r->o;
	struct conn c = {.w = w,
			 .fd = -1,
			 .waiting = o->socket,
			 .tclass = "connect",
			 .tsecs = o->connect_timeout};
	char why[300];
	uint64_t msgno;
	if (!take_message(w->r, &msgno))
		return false;
	bool timeout = false;
	c.fd = dial(w->co, o->socket, o->connect_timeout, why, sizeof why, &timeout);
	if (c.fd < 0) {
		if (timeout)
			timed_out(&c, "connecting to");
		else
			fail(&c, "connect %s", why);
		co_wait(w->co, 0, now_s() + 0.1); /* a pause before the next try */
		return true;
	}
	bool more = true;
	/* Postfix 3.7 reads the OPTNEG reply under milter_command_timeout;
	 * milter_connect_timeout bounds connect(2) only (seen with a stalled milter). */
	set_timeout(&c, o->cmd_timeout, "command");
	bool ok = negotiate(&c);
	for (unsigned nsess = 1; ok; nsess++) {
		if (non_smtp(&c)) { /* cleanup has the queue file before CONNECT */
			set_qid(&c, msgno);
			c.qid_open = true;
		}
		ok = do_connect(&c) == STEP_CONT;
		for (unsigned k = 0; ok; k++) {
			ok = one_message(&c, msgno);
			/* smtpd sends ABORT after each transaction (MILTER-GEN-11). It
			 * goes out with the next event: written alone, back to back
			 * with the next MAIL, Nagle would hold that MAIL until the
			 * milter's delayed ACK (40 ms); with Postfix an SMTP round
			 * trip comes between them. The bytes are the same. */
			if (ok && !non_smtp(&c))
				out_pkt(&c, 'A', 0);
			if (!ok || (o->per_conn && k + 1 >= o->per_conn))
				break;
			if (!take_message(w->r, &msgno)) {
				more = false;
				break;
			}
		}
		bool reuse = o->profile == PROFILE_SENDMAIL && (o->reuse == 0 || nsess < o->reuse);
		if (!ok || !more || !reuse)
			break;
		if (!take_message(w->r, &msgno)) {
			more = false;
			break;
		}
		ok = end_session(&c, 'K'); /* MILTER-SM-03: a new session follows */
	}
	if (ok)
		(void)end_session(&c, 'Q'); /* MILTER-GEN-11 */
	co_close(w->co, c.fd);
	for (int k = 0; k < STAGES; k++)
		free(c.symlist[k]);
	free(c.out);
	free(c.in);
	return more;
}

/* ---- Event threads (see "Coroutines") ---- */
/* A coroutine's body: the worker's sessions, one after the other, until no
 * message is left; then back to the scheduler through uc_link. makecontext
 * passes int arguments, hence the pointer in two halves. */
static void co_main(unsigned hi, unsigned lo)
{
	struct coro *co = (struct coro *)(uintptr_t)((uint64_t)hi << 32 | lo);
	fiber_finish(NULL, &co->s->main_bottom, &co->s->main_size);
	while (session(co->w))
		;
	co->done = true;
	fiber_start(NULL, co->s->main_bottom, co->s->main_size);
}

/* A coroutine for w on s, its stack CO_STACK bytes above a PROT_NONE guard
 * page (stacks grow down: an overflow faults instead of writing over other
 * memory). Measured by filling the stack with a pattern: at most 14 KiB
 * (17 KiB under ASan) with -k --check-every 1 (libsignet and OpenSSL
 * verifying RSA and ed25519 signatures in check_result), -w, a 10 MiB body,
 * inet:PORT@localhost (getaddrinfo) and failures printed by fail(). The
 * largest frames of this file (gcc -fstack-usage): out_macros 4.9 KiB,
 * session with one_message and its edits inlined 2.7 KiB, fail 0.8 KiB.
 * 1 MiB leaves a wide margin; MAP_NORESERVE commits only what is touched. */
static void co_new(struct sched *s, struct coro *co, struct worker *w)
{
	size_t guard = page_size();
	*co = (struct coro){.s = s, .w = w, .fd = -1};
	co->map = mmap(NULL, guard + CO_STACK, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
	if (co->map == MAP_FAILED || mprotect(co->map, guard, PROT_NONE) != 0) {
		fprintf(stderr, "miltload: coroutine stack: %s\n", strerror(errno));
		exit(2);
	}
	co->stack = co->map + guard;
	w->co = co;
	if (getcontext(&co->ctx) != 0) { /* only co's fields from here: no locals */
		fprintf(stderr, "miltload: getcontext: %s\n", strerror(errno));
		exit(2);
	}
	co->ctx.uc_stack.ss_sp = co->stack;
	co->ctx.uc_stack.ss_size = CO_STACK;
	co->ctx.uc_link = &s->main;
	uint64_t p = (uintptr_t)co;
	makecontext(&co->ctx, (void (*)(void))co_main, 2, (unsigned)(p >> 32), (unsigned)p);
}

/* Runs co until it waits or ends; an ended coroutine's stack is freed (it
 * is not running on it any more: uc_link brought it back here). */
static void co_resume(struct coro *co)
{
	struct sched *s = co->s;
	void *fake = NULL;
	fiber_start(&fake, co->stack, CO_STACK);
	if (swapcontext(&s->main, &co->ctx) != 0) {
		fprintf(stderr, "miltload: swapcontext: %s\n", strerror(errno));
		exit(2);
	}
	fiber_finish(fake, NULL, NULL);
	if (co->done) {
		(void)munmap(co->map, (size_t)(co->stack - co->map) + CO_STACK); /* our mapping */
		co->map = co->stack = NULL;
		s->alive--;
	}
}

/* epoll_pwait2's timeout: until the nearest deadline of a waiting
 * coroutine (in ns: -R schedules messages to the microsecond, and a
 * millisecond timer would make each one up to 1 ms late), NULL if none. */
static struct timespec *next_wait(const struct sched *s, struct timespec *ts)
{
	double next = 0;
	for (unsigned k = 0; k < s->n; k++)
		if (!s->co[k].done && s->co[k].deadline > 0 &&
		    (next == 0 || s->co[k].deadline < next))
			next = s->co[k].deadline;
	if (next == 0)
		return NULL;
	double left = next - now_s();
	if (left <= 0)
		left = 0;
	if (left > 3600) /* wakes up to look again */
		left = 3600;
	ts->tv_sec = (time_t)left;
	ts->tv_nsec = (long)((left - (double)ts->tv_sec) * 1e9);
	return ts;
}

/* One event thread: starts its coroutines, then resumes each when what it
 * waits for happened (or failed) or its deadline passed, until all ended. */
static void *sched_main(void *arg)
{
	struct sched *s = arg;
	/* Timers fire on time, not up to 50 us late (the default slack): -R
	 * latencies count from when a message was due. */
	(void)prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
	s->ep = epoll_create1(EPOLL_CLOEXEC);
	if (s->ep < 0) {
		fprintf(stderr, "miltload: epoll_create1: %s\n", strerror(errno));
		exit(2);
	}
	for (unsigned k = 0; k < s->n; k++) /* on the thread that runs them */
		co_new(s, &s->co[k], s->co[k].w);
	for (unsigned k = 0; k < s->n; k++)
		co_resume(&s->co[k]); /* each runs until its first wait */
	struct epoll_event ev[64];
	while (s->alive > 0) {
		struct timespec ts;
		int n = epoll_pwait2(s->ep, ev, (int)(sizeof ev / sizeof ev[0]), next_wait(s, &ts),
				     NULL);
		if (n < 0 && errno != EINTR) {
			fprintf(stderr, "miltload: epoll_pwait2: %s\n", strerror(errno));
			exit(2);
		}
		for (int k = 0; k < n; k++) {
			struct coro *co = ev[k].data.ptr;
			uint32_t match = co->want | EPOLLERR | EPOLLHUP;
			if (!co->done && co->want && (ev[k].events & match))
				co_resume(co);
		}
		double now = now_s();
		for (unsigned k = 0; k < s->n; k++) {
			struct coro *co = &s->co[k];
			if (!co->done && co->deadline > 0 && now >= co->deadline)
				co_resume(co);
		}
	}
	return NULL;
}

/* Spreads the connections round robin over the threads and runs them. */
static void run_threads(struct run *r, struct worker *w)
{
	const struct opts *o = r->o;
	struct sched *s = xalloc(sizeof *s * o->threads);
	for (unsigned t = 0; t < o->threads; t++) {
		s[t] = (struct sched){.n = (o->conns - t + o->threads - 1) / o->threads};
		s[t].alive = s[t].n;
		s[t].co = xalloc(sizeof *s[t].co * s[t].n);
		for (unsigned j = 0; j < s[t].n; j++)
			s[t].co[j].w = &w[t + j * o->threads];
	}
	for (unsigned t = 0; t < o->threads; t++)
		if (pthread_create(&s[t].tid, NULL, sched_main, &s[t]) != 0) {
			fprintf(stderr, "miltload: cannot start thread %u\n", t);
			exit(2);
		}
	for (unsigned t = 0; t < o->threads; t++) {
		pthread_join(s[t].tid, NULL);
		close(s[t].ep);
		free(s[t].co);
	}
	free(s);
}

/* ---- Options, keys, report ---- */
static void load_keys(const char *path, struct opts *o)
{
	FILE *f = fopen(path, "r");
	char line[8192];
	if (f == NULL) {
		fprintf(stderr, "miltload: %s: %s\n", path, strerror(errno));
		exit(2);
	}
	o->keys = xalloc(sizeof *o->keys * 256);
	while (fgets(line, sizeof line, f) && o->nkeys < 256) {
		char *p = line + strspn(line, " \t");
		p[strcspn(p, "\r\n")] = 0;
		if (*p == 0 || *p == '#')
			continue;
		size_t nl = strcspn(p, " \t");
		char *v = p + nl + strspn(p + nl, " \t");
		o->keys[o->nkeys].name = xstrndup(p, nl);
		o->keys[o->nkeys].value = xstrndup(v, strlen(v));
		o->nkeys++;
	}
	fclose(f);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double pct(const double *v, size_t n, double p)
{
	if (n == 0)
		return 0;
	size_t k = (size_t)(p / 100.0 * (double)n);
	return v[k >= n ? n - 1 : k];
}

static void usage(void)
{
	fprintf(stderr,
		"usage: miltload -s SOCKET [-c CONNS] [-n MESSAGES] [-d SECONDS] [-b BYTES | -m "
		"FILE]\n"
		"                [-P postfix|non-smtp|sendmail] [-a [USER]] [-C CLIENT_ADDR]\n"
		"                [--client-name NAME] [--helo NAME] [-f SENDER] [-r RCPT]...\n"
		"                [--verify-mode] [-e EXPECT]... [-k KEYSFILE] [--check-every N]\n"
		"                [-p PER_CONN] [--reuse SESSIONS] [-T SECONDS]\n"
		"                [--connect-timeout S] [--command-timeout S] [--content-timeout "
		"S]\n"
		"                [-t THREADS] [-R RATE] [-w FILE] [-q]\n"
		"  SOCKET: inet:PORT@HOST, inet:HOST:PORT or unix:PATH\n"
		"  -t: event threads that run the CONNS connections, round robin (default 1,\n"
		"      at most CONNS; -t CONNS: a thread per connection)\n"
		"  -R: open loop: messages arrive at RATE per second (Poisson), each taken by\n"
		"      the next free connection; latency counts from its arrival;\n"
		"      default: closed loop, each connection sends its next message as soon as\n"
		"      the last one is answered\n"
		"  -P: whose conversation: postfix (smtpd, default), non-smtp (Postfix's cleanup\n"
		"      for sendmail(1): client localhost/127.0.0.1 port 0, HELO localhost, no\n"
		"      auth, one message per connection), sendmail (postfix, but SMTP sessions of\n"
		"      -p messages (default 1) reuse the milter connection after QUIT_NC, up to\n"
		"      --reuse sessions (default: no limit))\n"
		"  -a: send {auth_type}/{auth_authen} (signing path; default user: the sender)\n"
		"  -C: client address (default 192.0.2.1); --client-name: its name in CONNECT\n"
		"      and the _ macro (default: did not resolve, CONNECT says [ADDR]);\n"
		"      --helo: the HELO name (default client.miltload.test)\n"
		"  -r: a recipient (repeat for more; default rcpt@dest.test)\n"
		"  --verify-mode: expect Authentication-Results (containing EXPECT if -e; repeat\n"
		"      -e for more strings, each must be there; at most 8)\n"
		"  -k: verify the DKIM signatures of every Nth reconstructed message with these "
		"keys\n"
		"  -d: stop starting messages after SECONDS; -n then caps the count\n"
		"  -p: messages per SMTP session (default: all)\n"
		"  timeouts as Postfix's milter_*_timeout: connect (connect(2), default 30),\n"
		"      command (OPTNEG, CONNECT..DATA, 30), content (HEADER..EOM, 300);\n"
		"      -T sets all three\n"
		"  -w: write the first message as delivered (with the milter's edits) to FILE\n");
	exit(64);
}

/* A positive number of seconds, else a usage error. */
static double seconds_arg(const char *s)
{
	char *end;
	double v = strtod(s, &end);
	if (end == s || *end || !(v > 0))
		usage();
	return v;
}

/* A string that goes into a fixed-size packet buffer: bounded, no NUL issue. */
static const char *short_arg(const char *s)
{
	if (strlen(s) > 255) {
		fprintf(stderr, "miltload: argument longer than 255 bytes: %.40s...\n", s);
		exit(64);
	}
	return s;
}

enum {
	OPT_VERIFY = 256,
	OPT_CHECK_EVERY,
	OPT_HELO,
	OPT_CLIENT_NAME,
	OPT_REUSE,
	OPT_CONNECT_TIMEOUT,
	OPT_COMMAND_TIMEOUT,
	OPT_CONTENT_TIMEOUT
};

static void parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{"verify-mode", no_argument, NULL, OPT_VERIFY},
		{"check-every", required_argument, NULL, OPT_CHECK_EVERY},
		{"profile", required_argument, NULL, 'P'},
		{"helo", required_argument, NULL, OPT_HELO},
		{"client-name", required_argument, NULL, OPT_CLIENT_NAME},
		{"reuse", required_argument, NULL, OPT_REUSE},
		{"connect-timeout", required_argument, NULL, OPT_CONNECT_TIMEOUT},
		{"command-timeout", required_argument, NULL, OPT_COMMAND_TIMEOUT},
		{"content-timeout", required_argument, NULL, OPT_CONTENT_TIMEOUT},
		{NULL, 0, NULL, 0}};
	const char *mfile = NULL, *profile = "postfix";
	long long body = -1;
	int ch;
	*o = (struct opts){.client = "192.0.2.1",
			   .sender = "user@example.com",
			   .conns = 1,
			   .threads = 1,
			   .n = UINT64_MAX,
			   .check_every = 1,
			   .connect_timeout = 30,
			   .cmd_timeout = 30,
			   .content_timeout = 300};
	static const char so[] = "s:c:t:n:d:b:m:a::C:f:r:e:k:p:P:R:T:w:qh";
	while ((ch = getopt_long(argc, argv, so, lo, NULL)) != -1) {
		switch (ch) {
		case 's': o->socket = optarg; break;
		case 'c': o->conns = (unsigned)strtoul(optarg, NULL, 10); break;
		case 't': o->threads = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'n': o->n = strtoull(optarg, NULL, 10); break;
		case 'd': o->duration = strtod(optarg, NULL); break;
		case 'b': body = strtoll(optarg, NULL, 10); break;
		case 'm': mfile = optarg; break;
		case 'a': o->auth = optarg ? short_arg(optarg) : ""; break;
		case 'C': o->client = short_arg(optarg); break;
		case 'f': o->sender = short_arg(optarg); break;
		case 'r':
			if (o->nrcpt == MAX_RCPTS)
				usage();
			o->rcpt[o->nrcpt++] = short_arg(optarg);
			break;
		case 'e':
			if (o->nexpect == MAX_EXPECTS)
				usage();
			o->expect[o->nexpect++] = optarg;
			break;
		case 'k': load_keys(optarg, o); break;
		case 'p': o->per_conn = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'P': profile = optarg; break;
		case 'R': o->rate = seconds_arg(optarg); break; /* a positive number */
		case 'T':
			o->connect_timeout = seconds_arg(optarg);
			o->cmd_timeout = o->content_timeout = o->connect_timeout;
			break;
		case 'q': o->quiet = true; break;
		case 'w': o->write_path = optarg; break;
		case OPT_VERIFY: o->verify_mode = true; break;
		case OPT_CHECK_EVERY: o->check_every = (unsigned)strtoul(optarg, NULL, 10); break;
		case OPT_HELO: o->helo = short_arg(optarg); break;
		case OPT_CLIENT_NAME: o->client_name = short_arg(optarg); break;
		case OPT_REUSE: o->reuse = (unsigned)strtoul(optarg, NULL, 10); break;
		case OPT_CONNECT_TIMEOUT: o->connect_timeout = seconds_arg(optarg); break;
		case OPT_COMMAND_TIMEOUT: o->cmd_timeout = seconds_arg(optarg); break;
		case OPT_CONTENT_TIMEOUT: o->content_timeout = seconds_arg(optarg); break;
		default: usage();
		}
	}
	if (strcmp(profile, "postfix") == 0)
		o->profile = PROFILE_POSTFIX;
	else if (strcmp(profile, "non-smtp") == 0)
		o->profile = PROFILE_NON_SMTP;
	else if (strcmp(profile, "sendmail") == 0)
		o->profile = PROFILE_SENDMAIL;
	else
		usage();
	if (!o->socket || optind != argc || o->conns == 0 || o->threads == 0 ||
	    o->threads > o->conns || o->check_every == 0 ||
	    (o->n == UINT64_MAX && o->duration <= 0) || (mfile && body >= 0))
		usage();
	if (o->profile == PROFILE_NON_SMTP) {
		/* MILTER-GEN-13: no SMTP client, so no auth, no client of our choosing,
		 * and cleanup talks to the milter once per message. */
		if (o->auth || o->client_name || o->per_conn > 1 || o->reuse) {
			fprintf(stderr,
				"miltload: -P non-smtp takes no -a, --client-name, -p, --reuse\n");
			exit(64);
		}
		o->per_conn = 1;
		if (!o->helo)
			o->helo = "localhost";
	}
	if (o->profile == PROFILE_SENDMAIL && o->per_conn == 0)
		o->per_conn = 1;
	if (!o->helo)
		o->helo = "client.miltload.test";
	if (o->nrcpt == 0)
		o->rcpt[o->nrcpt++] = "rcpt@dest.test";
	if (o->auth && *o->auth == 0)
		o->auth = o->sender; /* -a without a name: the sender authenticated */
	if (mfile)
		load_message(mfile, &o->msg);
	else
		make_message(o, body >= 0 ? (size_t)body : 4096, &o->msg);
}

static double cpu_seconds(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void report(struct run *r, struct worker *w, unsigned nw, double secs)
{
	size_t n = 0;
	for (unsigned k = 0; k < nw; k++)
		n += w[k].nlat;
	double *all = xalloc(sizeof *all * (n + 1));
	size_t at = 0;
	for (unsigned k = 0; k < nw; k++) {
		if (w[k].nlat)
			memcpy(all + at, w[k].lat, sizeof *all * w[k].nlat);
		at += w[k].nlat;
	}
	qsort(all, n, sizeof *all, cmp_double);
	uint64_t ok = atomic_load(&r->ok), errors = atomic_load(&r->errors);
	double rate = secs > 0 ? (double)n / secs : 0;
	const struct opts *o = r->o;
	if (!o->quiet) {
		printf("miltload: %s, %u connection(s) on %u thread(s), %zu-byte body, %s\n",
		       o->socket, o->conns, o->threads, o->msg.blen,
		       o->verify_mode ? "verify"
		       : o->auth      ? "sign (auth)"
				      : "sign");
		printf("messages: %zu in %.2f s = %.1f messages/s\n", n, secs, rate);
		printf("latency ms: p50 %.3f  p90 %.3f  p99 %.3f  max %.3f\n", pct(all, n, 50),
		       pct(all, n, 90), pct(all, n, 99), n ? all[n - 1] : 0.0);
		printf("errors: %" PRIu64 " (timeouts: %" PRIu64 "); signatures verified: %" PRIu64
		       " of %" PRIu64 " checked\n",
		       errors, atomic_load(&r->timeouts), atomic_load(&r->verified),
		       atomic_load(&r->checked));
	}
	printf("MILTLOAD ok=%" PRIu64 " errors=%" PRIu64 " msgs_per_s=%.1f p50_ms=%.3f p90_ms=%.3f "
	       "p99_ms=%.3f max_ms=%.3f checked=%" PRIu64 " verified=%" PRIu64 " seconds=%.3f "
	       "client_cpu_s=%.3f timeouts=%" PRIu64 " threads=%u rate=%.1f last_due_s=%.6f\n",
	       ok, errors, rate, pct(all, n, 50), pct(all, n, 90), pct(all, n, 99),
	       n ? all[n - 1] : 0.0, atomic_load(&r->checked), atomic_load(&r->verified), secs,
	       cpu_seconds(), atomic_load(&r->timeouts), o->threads, o->rate,
	       o->rate > 0 && r->due > 0 ? r->due - r->t0 : 0.0);
	free(all);
}

static void free_opts(struct opts *o)
{
	for (size_t k = 0; k < o->msg.nf; k++)
		free(o->msg.f[k].name), free(o->msg.f[k].value);
	free(o->msg.f);
	free(o->msg.body);
	for (size_t k = 0; k < o->nkeys; k++)
		free(o->keys[k].name), free(o->keys[k].value);
	free(o->keys);
}

int main(int argc, char **argv)
{
	struct opts o;
	parse_opts(argc, argv, &o);
	/* A milter that closes while we write is an error counted by fail()
	 * (EPIPE), not a signal that ends the whole run. */
	signal(SIGPIPE, SIG_IGN);
	struct run r = {.o = &o};
	pthread_mutex_init(&r.lock, NULL);
	struct worker *w = xalloc(sizeof *w * o.conns);
	double t0 = now_s();
	r.t0 = t0;
	if (o.duration > 0)
		r.deadline = t0 + o.duration;
	for (unsigned k = 0; k < o.conns; k++)
		w[k] = (struct worker){.r = &r, .id = k};
	run_threads(&r, w);
	report(&r, w, o.conns, now_s() - t0);
	bool bad = atomic_load(&r.errors) > 0 || atomic_load(&r.ok) == 0;
	for (unsigned k = 0; k < o.conns; k++)
		free(w[k].lat);
	free(w);
	free_opts(&o);
	pthread_mutex_destroy(&r.lock);
	return bad ? 1 : 0;
}
