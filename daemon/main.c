/* main.c: signetd's command line, start-up and shut-down: read and check
 * the config and keys, open the socket, daemonize, drop privileges, run
 * the server; SIGHUP reloads (server.c). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <netdb.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <signet/signet.h>

#include "report_writer.h"
#include "config.h"
#include "diag.h"
#include "health.h"
#include "keystore.h"
#include "log.h"
#include "metrics.h"
#include "metrics_http.h"
#include "runtime.h"
#include "server.h"

#define EXIT_CONFIG 78 /* EX_CONFIG */

/* Plural agreement in count messages: "1 key", "2 keys" (issue #19). */
static const char *plural(size_t n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}
#define EXIT_USAGE 64 /* EX_USAGE */

struct options {
	const char *config;
	bool foreground, check, check_dns, dump, debug;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: signetd [-c FILE] [-f] [-t [--check-dns]] [--dump-config] [-d]\n"
		"  -c, --config FILE   configuration file (default %s)\n"
		"  -f, --foreground    do not daemonize (for systemd); logs follow log.target\n"
		"  -t, --test          check the configuration and the keys, then exit\n"
		"      --check-dns     with -t: also check each selector's published key record\n"
		"                      (exit 1 if one is missing, revoked or does not match)\n"
		"      --dump-config   print the effective configuration (defaults filled in)\n"
		"  -d, --debug         log debug lines too\n"
		"  -V, --version       print the version\n"
		"See signetd(8) and signetd.conf(5).\n",
		CONFIG_DEFAULT_FILE);
}

static int parse_args(int argc, char **argv, struct options *o)
{
	static const struct option longs[] = {
		{"config", required_argument, NULL, 'c'},
		{"foreground", no_argument, NULL, 'f'},
		{"test", no_argument, NULL, 't'},
		{"dump-config", no_argument, NULL, 'D'},
		{"debug", no_argument, NULL, 'd'},
		{"version", no_argument, NULL, 'V'},
		{"check-dns", no_argument, NULL, 'K'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;
	o->config = CONFIG_DEFAULT_FILE;
	while ((c = getopt_long(argc, argv, "c:ftdVh", longs, NULL)) != -1) {
		switch (c) {
		case 'c': o->config = optarg; break;
		case 'f': o->foreground = true; break;
		case 't': o->check = true; break;
		case 'D': o->dump = true; break;
		case 'K': o->check_dns = o->check = true; break;
		case 'd': o->debug = true; break;
		case 'V': printf("signetd %s\n", signet_version()); exit(0);
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "signetd: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return EXIT_USAGE;
	}
	return 0;
}

/* Config and keys, every problem printed; NULL if any is an error. */
static struct runtime *load_runtime(const char *path, FILE *report, bool to_log)
{
	struct diags d;
	diags_init(&d);
	struct signetd_config *cfg = NULL;
	struct keystore *ks = NULL;
	struct runtime *rt = NULL;
	if (config_load(path, &cfg, &d) == SIGNET_OK && keystore_load(cfg, &ks, &d) == SIGNET_OK)
		rt = runtime_new(cfg, ks);
	if (to_log) {
		for (size_t k = 0; k < d.n; k++)
			log_msg(d.v[k].level == DIAG_ERROR ? LOG_LVL_ERR : LOG_LVL_WARN, "%s",
				d.v[k].msg);
	} else {
		diags_print(&d, report, "signetd: ");
	}
	if (rt == NULL) {
		keystore_free(ks);
		config_free(cfg);
	}
	diags_free(&d);
	return rt;
}

/* The DMARC report writer (issue #15): started once after privileges are
 * dropped, so its store belongs to the user signetd runs as; every runtime
 * borrows it. A reload does not start, stop or move it (signetd.conf(5)). */
static struct report_writer *g_reports;

static struct runtime *reload(void *arg)
{
	struct runtime *rt = load_runtime(arg, stderr, true);
	if (rt != NULL)
		rt->reports = g_reports;
	return rt;
}

/* A store that cannot be opened is logged and mail flows unrecorded: reports
 * are never worth refusing mail for. */
static void start_reports(struct runtime *rt)
{
	const struct config_dmarc *dm = &rt->cfg->dmarc;
	if (!dm->enabled || !dm->reports_enabled)
		return;
	struct report_writer_opts o = {
		.path = dm->reports_db != NULL ? dm->reports_db : REPORT_STORE_DEFAULT_PATH,
		.retention_days = dm->reports_retention,
		.metrics = metrics_process(),
		.redis_servers = (const char *const *)rt->cfg->redis.servers,
		.n_redis_servers = rt->cfg->redis.n_servers,
		.redis_timeout = rt->cfg->redis.timeout,
		.redis_username = rt->cfg->redis.username,
		.redis_password = rt->cfg->redis.password,
		.redis_db = rt->cfg->redis.db,
	};
	struct signet_error err = {0};
	if (report_writer_start(&o, &g_reports, &err) != SIGNET_OK) {
		log_msg(LOG_LVL_ERR, "DMARC report data is not recorded: %s", err.msg);
		g_reports = NULL;
		return;
	}
	rt->reports = g_reports;
	if (o.n_redis_servers > 0)
		log_msg(LOG_LVL_INFO, "DMARC report data recorded in Redis (%s%s)",
			o.redis_servers[0],
			o.n_redis_servers > 1 ? " or the next that answers" : "");
	else
		log_msg(LOG_LVL_INFO, "DMARC report data recorded in %s", o.path);
}

static int listen_inet(const struct config_socket *sk, char *err, size_t errlen)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
	hints.ai_family = sk->family == CONFIG_SOCK_INET6 ? AF_INET6 : AF_UNSPEC;
	char port[16];
	snprintf(port, sizeof port, "%u", sk->port);
	struct addrinfo *ai = NULL;
	int rc = getaddrinfo(sk->address, port, &hints, &ai);
	if (rc != 0) {
		snprintf(err, errlen, "cannot resolve %s: %s", sk->spec, gai_strerror(rc));
		return -1;
	}
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 256) != 0) {
		snprintf(err, errlen, "cannot listen on %s: %s%s", sk->spec, strerror(errno),
			 errno == EADDRINUSE ? " (another signetd or milter is running there?)"
					     : "");
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	return fd;
}

/* "in use by pid N" from the pid file, or "" when there is none to read. */
static void pid_note(const char *pidfile, char *out, size_t outlen)
{
	out[0] = '\0';
	FILE *f = pidfile ? fopen(pidfile, "r") : NULL;
	long pid = 0;
	if (f != NULL && fscanf(f, "%ld", &pid) == 1 && pid > 0)
		snprintf(out, outlen, " by pid %ld", pid);
	if (f != NULL)
		fclose(f);
}

/* Before a socket file is replaced (issue #12): connect to it. Whoever
 * answers (or has a full backlog) is alive and keeps it: -1 with err.
 * Only ECONNREFUSED (nobody listens: left by a crash) makes it stale,
 * and it is removed; 0 also when there is no file. */
static int unix_take_over(const struct signetd_config *cfg, const struct sockaddr_un *sun,
			  char *err, size_t errlen)
{
	const char *path = cfg->socket.path;
	struct stat st;
	if (lstat(path, &st) != 0 || !S_ISSOCK(st.st_mode))
		return 0; /* nothing, or not a socket: bind says what is wrong */
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "cannot check socket %s: %s", path, strerror(errno));
		return -1;
	}
	int rc = connect(fd, (const struct sockaddr *)sun, sizeof *sun);
	int e = errno;
	close(fd);
	if (rc != 0 && e == ECONNREFUSED) {
		(void)unlink(path);
		return 0;
	}
	if (rc != 0 && e == ENOENT)
		return 0;
	if (rc == 0 || e == EAGAIN || e == EINPROGRESS) {
		char who[48];
		pid_note(cfg->pidfile, who, sizeof who);
		snprintf(err, errlen,
			 "socket %s in use%s: another signetd (or milter) is running there", path,
			 who);
	} else {
		snprintf(err, errlen, "cannot check socket %s: %s", path, strerror(e));
	}
	return -1;
}

static int listen_unix(const struct signetd_config *cfg, char *err, size_t errlen)
{
	const struct config_socket *sk = &cfg->socket;
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	if (strlen(sk->path) >= sizeof sun.sun_path) {
		snprintf(err, errlen, "socket path too long: %s", sk->path);
		return -1;
	}
	memcpy(sun.sun_path, sk->path, strlen(sk->path) + 1);
	if (unix_take_over(cfg, &sun, err, errlen) != 0)
		return -1;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof sun) != 0 || listen(fd, 256) != 0 ||
	    chmod(sk->path, cfg->socket_mode) != 0) {
		snprintf(err, errlen, "cannot listen on %s: %s", sk->spec, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (cfg->user != NULL) {
		struct passwd *pw = getpwnam(cfg->user);
		struct group *gr = cfg->group ? getgrnam(cfg->group) : NULL;
		if (pw != NULL && chown(sk->path, pw->pw_uid, gr ? gr->gr_gid : pw->pw_gid) != 0)
			fprintf(stderr, "signetd: warning: cannot chown %s: %s\n", sk->path,
				strerror(errno));
	}
	return fd;
}

/* After the socket is open and the keys are read (STYLE.md 9: least privilege). */
static int drop_privileges(const struct signetd_config *cfg, char *err, size_t errlen)
{
	if (cfg->user == NULL)
		return 0;
	struct passwd *pw = getpwnam(cfg->user);
	if (pw == NULL) {
		snprintf(err, errlen, "user %s does not exist (create it, or change `user`)",
			 cfg->user);
		return -1;
	}
	gid_t gid = pw->pw_gid;
	if (cfg->group != NULL) {
		struct group *gr = getgrnam(cfg->group);
		if (gr == NULL) {
			snprintf(err, errlen, "group %s does not exist", cfg->group);
			return -1;
		}
		gid = gr->gr_gid;
	}
	if (getuid() == pw->pw_uid && geteuid() == pw->pw_uid)
		return 0;
	if (initgroups(pw->pw_name, gid) != 0 || setgid(gid) != 0 || setuid(pw->pw_uid) != 0) {
		snprintf(err, errlen, "cannot switch to user %s: %s (start signetd as root)",
			 cfg->user, strerror(errno));
		return -1;
	}
	if (pw->pw_uid != 0 && setuid(0) == 0) {
		snprintf(err, errlen, "privileges could be regained after dropping them");
		return -1;
	}
	return 0;
}

static int daemonize(char *err, size_t errlen)
{
	pid_t pid = fork();
	if (pid < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		return -1;
	}
	if (pid > 0)
		_exit(0);
	if (setsid() < 0 || chdir("/") != 0) {
		snprintf(err, errlen, "setsid: %s", strerror(errno));
		return -1;
	}
	int fd = open("/dev/null", O_RDWR);
	if (fd >= 0) {
		(void)dup2(fd, 0);
		(void)dup2(fd, 1);
		(void)dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
	return 0;
}

static int write_pidfile(const char *pidfile, char *err, size_t errlen)
{
	if (pidfile == NULL)
		return 0;
	FILE *f = fopen(pidfile, "w");
	if (f == NULL || fprintf(f, "%ld\n", (long)getpid()) < 0 || fclose(f) != 0) {
		snprintf(err, errlen, "cannot write pid file %s: %s", pidfile, strerror(errno));
		return -1;
	}
	return 0;
}

/* Each MTA connection holds a descriptor: the soft limit goes up to the
 * hard one (systemd gives 1024 and 524288), logged. Returns the limit
 * (0: unlimited or unknown); server.c keeps connections within it. */
static unsigned long long raise_fd_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return 0;
	rlim_t was = rl.rlim_cur;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
			rl.rlim_cur = was;
	}
	if (rl.rlim_cur != was)
		log_msg(LOG_LVL_INFO, "file descriptor limit %llu (soft limit raised from %llu)",
			(unsigned long long)rl.rlim_cur, (unsigned long long)was);
	else
		log_msg(LOG_LVL_INFO, "file descriptor limit %llu",
			(unsigned long long)rl.rlim_cur);
	return rl.rlim_cur == RLIM_INFINITY ? 0 : (unsigned long long)rl.rlim_cur;
}

static int serve(struct runtime *rt, const struct options *o)
{
	const struct signetd_config *cfg = rt->cfg;
	char err[512] = "";
	log_open(cfg->log_target == CONFIG_LOG_STDERR, cfg->log_facility, o->debug);
	unsigned long long fd_limit = raise_fd_limit();
	int fd = cfg->socket.family == CONFIG_SOCK_UNIX
			 ? listen_unix(cfg, err, sizeof err)
			 : listen_inet(&cfg->socket, err, sizeof err);
	/* Both sockets are bound before privileges go; the metrics thread
	 * starts after daemonize (a fork keeps no threads). */
	int mfd = -2; /* -2: no metrics listener */
	if (fd >= 0 && cfg->metrics_listen != NULL)
		mfd = metrics_listen(cfg->metrics_listen, err, sizeof err);
	bool ok = fd >= 0 && mfd != -1 && (o->foreground || daemonize(err, sizeof err) == 0) &&
		  write_pidfile(cfg->pidfile, err, sizeof err) == 0 &&
		  drop_privileges(cfg, err, sizeof err) == 0;
	struct metrics_http *mh = NULL;
	if (ok && mfd >= 0) {
		const struct metrics_http_limits lim = {
			.max_connections = cfg->metrics_max_connections,
			.request_timeout = cfg->metrics_request_timeout,
		};
		mh = metrics_http_start(metrics_process(), mfd, &lim, err,
					sizeof err); /* takes mfd */
		mfd = -2;
		ok = mh != NULL;
	}
	if (!ok) {
		log_msg(LOG_LVL_ERR, "%s", err);
		if (o->foreground && cfg->log_target != CONFIG_LOG_STDERR)
			fprintf(stderr, "signetd: %s\n", err);
		if (mfd >= 0)
			close(mfd);
		if (fd >= 0)
			close(fd);
		runtime_unref(rt);
		return 1;
	}
	if (mh != NULL)
		log_msg(LOG_LVL_INFO, "metrics on http://%s/metrics", cfg->metrics_listen);
	start_reports(rt);
	struct server_params p = {
		.listen_fd = fd,
		.workers = cfg->workers,
		.dns = {.forwarders = (const char *const *)cfg->dns_forwarders,
			.nforwarders = cfg->n_dns_forwarders,
			.timeout_ms = (unsigned)(cfg->dns_timeout * 1000.0),
			.trust_anchor_file = cfg->dns_trust_anchor_file,
			.cache_entries = DNS_CACHE_ENTRIES},
		.max_conns = cfg->conn_max,
		.fd_limit = fd_limit,
		.idle_timeout_ms = (unsigned)(cfg->conn_idle_timeout * 1000.0),
		.packet_timeout_ms = (unsigned)(cfg->conn_packet_timeout * 1000.0),
		.reload = reload,
		.reload_arg = (void *)o->config,
	};
	char *socket_spec = strdup(cfg->socket.spec);
	char *unix_path = cfg->socket.family == CONFIG_SOCK_UNIX ? strdup(cfg->socket.path) : NULL;
	char *pidfile = cfg->pidfile ? strdup(cfg->pidfile) : NULL;
	unsigned workers = cfg->workers ? cfg->workers : 1;
	size_t nkeys = keystore_count(rt->keys);
	char redis_keys[400] = ""; /* "Redis 127.0.0.1:6379 (hash dkim_keys)" */
	if (cfg->signing.use_redis)
		snprintf(redis_keys, sizeof redis_keys, "Redis %s (hash %s%s%s)",
			 config_signing_redis(cfg)->servers[0], cfg->signing.key_prefix,
			 cfg->signing.selector_prefix ? ", selectors in " : "",
			 cfg->signing.selector_prefix ? cfg->signing.selector_prefix : "");
	struct server *srv = server_new(&p, rt, err, sizeof err);
	int rc = 1;
	if (srv == NULL) {
		log_msg(LOG_LVL_ERR, "%s", err);
		runtime_unref(rt);
	} else {
		if (redis_keys[0] != '\0')
			log_msg(LOG_LVL_INFO, "signetd %s listening on %s with keys from %s, %u %s",
				signet_version(), socket_spec ? socket_spec : "?", redis_keys,
				workers, plural(workers, "worker", "workers"));
		else
			log_msg(LOG_LVL_INFO, "signetd %s listening on %s with %zu %s, %u %s",
				signet_version(), socket_spec ? socket_spec : "?", nkeys,
				plural(nkeys, "key", "keys"), workers,
				plural(workers, "worker", "workers"));
		rc = server_run(srv) == 0 ? 0 : 1;
		server_free(srv);
	}
	report_writer_stop(g_reports); /* writes what is queued */
	g_reports = NULL;
	metrics_http_stop(mh);
	metrics_free(metrics_process());
	close(fd);
	if (unix_path != NULL)
		(void)unlink(unix_path);
	if (pidfile != NULL)
		(void)unlink(pidfile);
	free(socket_spec);
	free(unix_path);
	free(pidfile);
	log_msg(LOG_LVL_INFO, "signetd stopped");
	return rc;
}

/* -t --check-dns: every selector's record once; 1 when one is missing,
 * revoked, unusable or does not match its key. */
static int check_dns(const struct runtime *rt)
{
	struct diags d;
	char err[256] = "";
	size_t n = 0;
	diags_init(&d);
	bool ok = health_check_once(rt->cfg, rt->keys, &d, &n, err, sizeof err);
	diags_print(&d, stdout, "signetd: ");
	if (!ok)
		printf("signetd: DNS check not possible: %s\n", err);
	else
		printf("signetd: DNS check: %zu %s, %zu %s, %zu %s\n", n,
		       plural(n, "selector", "selectors"), d.nerrors,
		       plural(d.nerrors, "error", "errors"), d.nwarnings,
		       plural(d.nwarnings, "warning", "warnings"));
	int rc = ok && d.nerrors == 0 ? 0 : 1;
	diags_free(&d);
	fflush(stdout);
	return rc;
}

int main(int argc, char **argv)
{
	struct options o = {0};
	int rc = parse_args(argc, argv, &o);
	if (rc != 0)
		return rc;
	/* A write to a closed MTA connection must be an error, not a signal. */
	signal(SIGPIPE, SIG_IGN);
	struct runtime *rt = load_runtime(o.config, stderr, false);
	if (rt == NULL) {
		fprintf(stderr, "signetd: %s: configuration not usable (see above)\n", o.config);
		return EXIT_CONFIG;
	}
	if (o.dump) {
		config_dump(rt->cfg, stdout);
		runtime_unref(rt);
		return 0;
	}
	if (o.check) {
		size_t nkeys = keystore_count(rt->keys);
		if (rt->cfg->signing.use_redis)
			printf("signetd: %s: configuration OK, keys from Redis %s, hash %s "
			       "(fetched when signing)\n",
			       o.config, config_signing_redis(rt->cfg)->servers[0],
			       rt->cfg->signing.key_prefix);
		else
			printf("signetd: %s: configuration OK, %zu %s loaded\n", o.config, nkeys,
			       plural(nkeys, "key", "keys"));
		rc = o.check_dns ? check_dns(rt) : 0;
		runtime_unref(rt);
		return rc;
	}
	return serve(rt, &o);
}
