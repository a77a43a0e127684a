/* config.h: signetd.conf (UCL, read with ucl.c) turned into a validated
 * struct signetd_config with every default filled in, every problem
 * reported with file:line:col, and rspamd's dkim_signing key names. Also
 * the CIDR matcher for local_addrs and the effective-config dump. It does
 * not load keys (keys.c) or decide anything about a message (policy.c). */
#ifndef SIGNETD_CONFIG_H
#define SIGNETD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#include <signet/dmarc.h>
#include <signet/psl.h>
#include <signet/signer.h>
#include <signet/signet.h>
#include <signet/verifier.h>

#include "diag.h"

#define CONFIG_DEFAULT_FILE "/etc/signet/signetd.conf"
#define CONFIG_DEFAULT_SOCKET "inet:8891@127.0.0.1"
#define CONFIG_DEFAULT_SOCKET_MODE 0660
#define CONFIG_DEFAULT_SELECTOR "dkim"        /* rspamd's default selector */
#define CONFIG_DEFAULT_KEY_PREFIX "dkim_keys" /* rspamd's default hash of keys in Redis */
#define CONFIG_DEFAULT_REDIS_REFRESH 60.0     /* dkim_signing.redis_refresh (seconds) */
#define CONFIG_MAX_REDIS_REFRESH 86400.0
#define CONFIG_MAX_REDIS_KEY_BYTES (64 * 1024) /* one key value in Redis (KEYFETCH_MAX_KEY_BYTES) */
#define CONFIG_DEFAULT_DNS_TIMEOUT 5.0         /* seconds */
#define CONFIG_MAX_DNS_TIMEOUT 300.0 /* longer than Postfix's milter_content_timeout is useless */
#define CONFIG_DEFAULT_HEALTH_INTERVAL                                                             \
	3600.0 /* seconds between key record checks (dns.health_interval) */
#define CONFIG_MAX_HEALTH_INTERVAL (7 * 86400.0)
#define CONFIG_MAX_WORKERS 256
/* connections { }: signetd.conf(5) gives the reasons for each default. */
#define CONFIG_DEFAULT_CONN_MAX 1000 /* 5x Postfix's 100 smtpd + 100 cleanup */
#define CONFIG_MAX_CONN_MAX 1000000
#define CONFIG_DEFAULT_CONN_IDLE_TIMEOUT 7210.0  /* seconds: libmilter's read timeout */
#define CONFIG_DEFAULT_CONN_PACKET_TIMEOUT 300.0 /* seconds: Postfix milter_content_timeout */
#define CONFIG_MAX_CONN_TIMEOUT 86400.0
/* metrics.max_connections: connections the listener serves at once; the
 * slow-header attack of issue #19 held all 16 of the old fixed limit. */
#define CONFIG_DEFAULT_METRICS_CONNECTIONS 64
#define CONFIG_MAX_METRICS_CONNECTIONS 1024 /* each one holds a descriptor and buffers */
/* metrics.request_timeout: one request's whole time, connect to response
 * sent (Prometheus's default scrape_timeout is 10 s too). */
#define CONFIG_DEFAULT_METRICS_TIMEOUT 10.0 /* seconds */
#define CONFIG_MAX_METRICS_TIMEOUT 300.0
#define CONFIG_MAX_RETIRE_AFTER (366 * 86400.0) /* rotation.retire_after */
#define CONFIG_MAX_LIST 1024      /* entries of one list (local_addrs, forwarders, ...) */
#define CONFIG_MAX_DOMAINS 100000 /* domain { } entries */

enum config_sock_family { CONFIG_SOCK_INET = 1, CONFIG_SOCK_INET6, CONFIG_SOCK_UNIX };

/* Where signetd listens: Postfix/libmilter syntax "inet:PORT@HOST",
 * "inet:PORT@[IPV6]", "inet6:PORT@HOST", "inet:PORT" (any address),
 * "unix:/path" or "local:/path". */
struct config_socket {
	enum config_sock_family family;
	char *spec;    /* owned: as written */
	char *address; /* owned: host or numeric address without brackets; NULL = any */
	unsigned port; /* inet/inet6: 1..65535 */
	char *path;    /* owned: unix */
};

struct cidr {
	int family; /* AF_INET or AF_INET6 */
	uint8_t addr[16];
	unsigned prefix;
};

struct cidr_list {
	struct cidr *v; /* owned */
	size_t n;
};

enum config_on_error { CONFIG_TEMPFAIL = 1, CONFIG_ACCEPT, CONFIG_REJECT };
enum config_log_target { CONFIG_LOG_SYSLOG = 1, CONFIG_LOG_STDERR };

/* rspamd's use_domain: which address gives the signing domain. 0 = unset
 * (only for the _sign_networks/_sign_local variants). */
enum config_use_domain { USE_DOMAIN_HEADER = 1, USE_DOMAIN_ENVELOPE, USE_DOMAIN_AUTH };

/* One key to sign with: domain { NAME { selector; path; } } or one element
 * of selectors = [ ... ]. path is absolute, $domain/$selector replaced. */
struct config_key {
	char *selector;      /* owned */
	char *path;          /* owned */
	enum signet_alg alg; /* signet's `algorithm` key; SIGNET_ALG_UNKNOWN = any */
	const char *file;    /* where it was configured (owned by the config) */
	unsigned line, col;
};

struct config_domain {
	char *name;              /* owned: lower case, no trailing dot */
	struct config_key *keys; /* owned; 1..SIGNET_MAX_SIGNERS */
	size_t nkeys;
};

/* redis { } (issue #15 "Fleets"; conf/config_redis.c, signetd.conf(5) REDIS):
 * where a fleet of signetd writes its DMARC observations. */
#define CONFIG_MAX_REDIS_SERVERS 8
#define CONFIG_DEFAULT_REDIS_TIMEOUT 1.0 /* seconds: connect and each reply */
#define CONFIG_MAX_REDIS_TIMEOUT 60.0
struct config_redis {
	char **servers; /* owned: "ADDRESS:PORT" / "[IPV6]:PORT"; none = no Redis */
	size_t n_servers;
	double timeout; /* seconds; default CONFIG_DEFAULT_REDIS_TIMEOUT */
	char *username; /* owned or NULL: Redis 6 ACL user (AUTH USERNAME PASSWORD) */
	char *password; /* owned or NULL: AUTH after connecting; a secret, never printed */
	int db;         /* SELECT db after connecting when > 0 (rspamd db, dbname) */
};
void config_redis_free(struct config_redis *r);
/* Splits a redis.servers entry into host (no brackets) and port; false
 * when it is not a numeric ADDRESS:PORT or [IPV6]:PORT or host over cap. */
bool config_redis_server(const char *spec, char *host, size_t cap, unsigned *port);
struct signetd_config;
/* The Redis servers the signing keys come from, with their password,
 * username and db: dkim_signing's own when it lists servers (rspamd's
 * module-level setting wins), else redis { }. */
const struct config_redis *config_signing_redis(const struct signetd_config *cfg);

/* The dkim_signing section (rspamd key names and defaults). */
struct config_signing {
	bool enabled;                      /* signet: false turns signing off (default true) */
	bool sign_authenticated;           /* default true (rspamd: also auth_only) */
	bool sign_local;                   /* default true */
	enum config_use_domain use_domain; /* default header */
	enum config_use_domain use_domain_sign_networks; /* 0 = use_domain */
	enum config_use_domain use_domain_sign_local;    /* 0 = use_domain */
	bool allow_hdrfrom_mismatch;                     /* default false */
	bool allow_hdrfrom_mismatch_local;               /* default false */
	bool allow_hdrfrom_mismatch_sign_networks;       /* default false */
	bool allow_username_mismatch;                    /* default false */
	bool allow_envfrom_empty;                        /* default true */
	bool use_esld;                                   /* default true */
	bool try_fallback;                               /* default true */
	char *selector;     /* owned: top-level selector, default "dkim" */
	char *path;         /* owned: top-level path template or NULL */
	char *sign_headers; /* owned: colon list or NULL = library default */
	enum signet_idn_labels
		idn_labels;             /* signet: "auto" (default) or "a-labels" (DKIM-EAI-04) */
	struct cidr_list sign_networks; /* rspamd sign_networks, inline CIDR list only */
	struct config_domain *domains;  /* owned, sorted by name */
	size_t ndomains;
	/* Keys in Redis (rspamd's use_redis; issue #17 "Keys in Redis";
	 * daemon/keyfetch.h): the private key of SELECTOR for DOMAIN is
	 * HGET key_prefix "SELECTOR.DOMAIN"; with selector_prefix the selector
	 * is HGET selector_prefix "DOMAIN" first. Paths are then ignored. */
	bool use_redis;            /* default false */
	char *key_prefix;          /* owned: default CONFIG_DEFAULT_KEY_PREFIX */
	char *selector_prefix;     /* owned or NULL: selectors from this config */
	double redis_refresh;      /* signet: seconds a fetched key is used before it is
				       fetched again in the background; default 60 */
	struct config_redis redis; /* dkim_signing.servers/timeout (rspamd's module-level
				       Redis); no servers = the redis { } section's */
};

/* dmarc { } (DESIGN.md signetd config additions; conf/config_dmarc.c,
 * signetd.conf(5) gives the reasons for each default). */
enum config_dmarc_quarantine { CONFIG_QUARANTINE_HEADER = 1, CONFIG_QUARANTINE_HOLD };
struct config_dmarc {
	bool enabled;                            /* default true */
	enum signet_dmarc_mode discovery;        /* default RFC 9989 tree walk; "psl": RFC 7489 */
	bool enforce;                            /* default true: p=reject -> 550, hold if asked */
	enum config_dmarc_quarantine quarantine; /* default header */
	enum config_on_error on_temperror;       /* accept (default) or tempfail */
	char **trusted_arc_sealers; /* owned: lower-case A-label domains (at most CONFIG_MAX_LIST) */
	size_t n_trusted_arc_sealers;
	/* reports { } (issue #15): signetd records observations, `signet dmarc
	 * report -c` sends them (signetd.conf(5), DMARC REPORTS) */
	bool reports_enabled;            /* default false */
	char *reports_db;                /* owned or NULL: an absolute path */
	char *reports_org_name;          /* owned or NULL */
	char *reports_from;              /* owned or NULL: local@domain */
	unsigned reports_retention;      /* retention_days; default REPORT_STORE_RETENTION_DAYS */
	bool reports_only_authenticated; /* default true */
};
void config_dmarc_defaults(struct config_dmarc *d);
void config_dmarc_free(struct config_dmarc *d);
/* arc { } (DESIGN.md; conf/config_arc.c, signetd.conf(5)): ARC (RFC 8617)
 * of mail signetd does not sign, and sealing. */
enum config_arc_seal { CONFIG_ARC_SEAL_NONE = 1, CONFIG_ARC_SEAL_FORWARDED, CONFIG_ARC_SEAL_ALL };
#define CONFIG_ARC_SELECTOR_AUTO NULL /* arc.selector unset: the domain's first key */
struct config_arc {
	bool enabled;              /* arc.enabled (default true): verify, arc= into AR */
	enum config_arc_seal seal; /* arc.seal (default none) */
	char *selector;            /* owned or NULL: which dkim_signing selector seals */
	char **local_domains;      /* owned: arc.local_domains; none = dkim_signing's domains */
	size_t n_local_domains;
};
/* Is domain (ASCII, any case, trailing dot ignored) in arc.local_domains or
 * below one of them? False when the list is empty. */
bool config_arc_local_domain(const struct config_arc *a, const char *domain);
const char *config_arc_seal_name(enum config_arc_seal s);

struct signetd_config {
	char *file; /* owned: the main config file name */
	struct config_socket socket;
	unsigned socket_mode;                 /* unix socket permissions, default 0660 */
	char *user;                           /* owned or NULL: keep the starting user */
	char *group;                          /* owned or NULL: the user's group */
	char *pidfile;                        /* owned or NULL: none */
	char *authserv_id;                    /* owned or NULL: use the MTA's macro j */
	struct cidr_list local_addrs;         /* default 127.0.0.0/8, ::1 */
	enum config_on_error on_error_sign;   /* default tempfail */
	enum config_on_error on_error_verify; /* default accept */
	char **dns_forwarders;                /* owned: "IP" or "IP@PORT"; none = system resolver */
	size_t n_dns_forwarders;
	double dns_timeout;                  /* seconds, default 5 */
	char *dns_trust_anchor_file;         /* owned or NULL: no DNSSEC validation */
	double dns_health_interval;          /* seconds between checks of the published key records
					   against the keys; 0 = off; default 1 h */
	enum signet_l_policy l_policy;       /* verify.l_policy: default SIGNET_L_POLICY_UNSIGNED */
	enum config_on_error verify_on_fail; /* verify.on_fail: accept (default) or reject */
	enum config_on_error verify_on_temperror; /* verify.on_temperror: accept (default) or
						     tempfail (DKIM-VER-16) */
	bool spf_enabled; /* spf.enabled (default true): SPF of MAIL FROM (RFC 7208) */
	bool spf_helo;    /* spf.helo (default true): SPF of the HELO name too */
	/* rotation { } (issue #17, rotation.h) */
	char *rotation_state;              /* owned or NULL: ROTATION_DEFAULT_STATE */
	double rotation_retire_after;      /* seconds; default ROTATION_DEFAULT_RETIRE_AFTER */
	char *rotation_redis_key;          /* owned or NULL: ROTATION_DEFAULT_REDIS_KEY; the
					   state in Redis with dkim_signing.use_redis */
	char *psl_file;                    /* owned or NULL (""): verify.public_suffix_list, default
					   SIGNET_PSL_DEFAULT_FILE (DKIM-VER-17) */
	struct signet_psl *psl;            /* owned: that list as config_load read it; NULL when
					   off, missing or malformed (a warning says which) */
	enum config_log_target log_target; /* default syslog */
	char *log_facility;                /* owned: default "mail" */
	unsigned workers;                  /* default: online CPUs */
	unsigned conn_max;                 /* connections.max: open MTA connections at most */
	double conn_idle_timeout;          /* connections.idle_timeout: seconds between packets */
	double conn_packet_timeout;        /* connections.packet_timeout: seconds a packet may
					   stay incomplete */
	char *metrics_listen;              /* owned or NULL: metrics.listen, "127.0.0.1:9187" or
					   "[::1]:9187"; NULL = no metrics listener (default) */
	unsigned metrics_max_connections;  /* metrics.max_connections, default 64 */
	double metrics_request_timeout;    /* metrics.request_timeout (seconds), default 10 */
	struct config_signing signing;
	struct config_dmarc dmarc; /* dmarc { } */
	struct config_arc arc;     /* arc { } */
	struct config_redis redis; /* redis { } */
	char **files;              /* owned: every file read (for the nodes' file names) */
	size_t nfiles;
};

/* Reads path (NULL: CONFIG_DEFAULT_FILE) and its includes, then the public
 * suffix list of verify.public_suffix_list (a list that cannot be read or
 * parsed is a warning, and cfg->psl stays NULL). On success
 * (warnings may have been added to d) *out is the caller's: config_free.
 * Any error in d makes the result SIGNET_ERR_SYNTAX (or the parser's code)
 * and *out NULL. */
SIGNET_MUST_USE enum signet_status config_load(const char *path, struct signetd_config **out,
					       struct diags *d);

/* The same from text in memory named name; .include still reads files
 * (relative to name's directory); the public suffix list is not read
 * (cfg->psl NULL). For tests and `signet policy`. */
SIGNET_MUST_USE enum signet_status config_parse(const char *name, const uint8_t *text, size_t len,
						struct signetd_config **out, struct diags *d);

void config_free(struct signetd_config *cfg);

/* Writes the effective config as UCL that config_parse reads back to the
 * same config (signetd --dump-config). */
void config_dump(const struct signetd_config *cfg, FILE *f);

/* Is the client in local_addrs? sa: AF_INET or AF_INET6 (v4-mapped v6
 * addresses match IPv4 entries); addr: a numeric address, optionally
 * "IPv6:"-prefixed or in brackets. Anything else is not local. */
bool config_addr_is_local(const struct signetd_config *cfg, const struct sockaddr *sa);
bool config_addr_str_is_local(const struct signetd_config *cfg, const char *addr);

/* The matcher itself (also for sign_networks). */
bool cidr_list_match_sa(const struct cidr_list *l, const struct sockaddr *sa);
bool cidr_list_match_str(const struct cidr_list *l, const char *addr);
/* Parses "192.0.2.0/24", "2001:db8::/32", "::1" (a host). false on bad syntax. */
bool cidr_parse(const char *s, struct cidr *out);

const char *config_use_domain_name(enum config_use_domain u);

#endif
