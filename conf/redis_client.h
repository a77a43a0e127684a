/* redis_client.h: a small synchronous Redis client (hiredis) for the CLI
 * and for signetd's main thread, never for a worker loop (issue #17): the
 * first reachable server of a list, one timeout for the connect and for
 * each reply, values read only up to the caller's cap, and errors that name
 * the server ("Redis 127.0.0.1:6379: Connection refused"). AUTH ([USER]
 * PASSWORD, Redis 6 ACL users too) and SELECT DB are sent first on every
 * connection (rspamd's password, username, db). hiredis 0.14: no TLS, so
 * the password crosses the network in clear; keep Redis on loopback or a
 * private network. */
#ifndef SIGNET_CONF_REDIS_CLIENT_H
#define SIGNET_CONF_REDIS_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#define REDIS_CLIENT_NAME_MAX 72   /* "[IPV6]:PORT" of the server in use */
#define REDIS_CLIENT_ERROR_MAX 512 /* the last error, as it is reported */
#define REDIS_CLIENT_DEFAULT_PORT 6379
#define REDIS_CLIENT_KEY_NAME_MAX 256 /* a hash or key name signet is told to use */
#define REDIS_CLIENT_CRED_MAX 512     /* a username or password, decoded, with its NUL */
#define REDIS_CLIENT_PASSWORD_ENV "REDISCLI_AUTH" /* as redis-cli: keeps it out of ps */

enum redis_result {
	REDIS_R_OK = 0,
	REDIS_R_MISSING,  /* the key or field does not exist */
	REDIS_R_EXISTS,   /* redis_client_hset with only_new: the field exists */
	REDIS_R_CONFLICT, /* redis_client_exec: a watched key changed, nothing written */
	REDIS_R_ERROR,    /* I/O, an error reply, a reply of the wrong type or over the cap;
			     redis_client_error says which */
};

struct redis_client; /* opaque: the connection and its last error */
struct redisContext; /* hiredis */
struct config_redis;

/* What is sent after connecting: AUTH [username] password when password
 * is set, then SELECT db when db > 0. Borrowed strings; NULL = none. */
struct redis_auth {
	const char *username;
	const char *password;
	int db;
};
/* The credentials of a redis { } / dkim_signing section (borrowed). */
struct redis_auth redis_client_auth_of(const struct config_redis *r);

/* A --redis argument: "redis://[[USER]:PASSWORD@]ADDRESS:PORT[/DB]" (the
 * form redis-cli -u takes; USER and PASSWORD percent-decoded; "PASSWORD@"
 * without a colon is a password), "redis://[IPV6]:PORT..." or
 * "ADDRESS:PORT" / "[IPV6]:PORT", numeric. */
struct redis_url {
	char server[REDIS_CLIENT_NAME_MAX]; /* as redis.servers takes it */
	char username[REDIS_CLIENT_CRED_MAX];
	char password[REDIS_CLIENT_CRED_MAX];
	bool has_password;
	int db; /* 0 when the URL names none */
};
bool redis_client_parse_url(const char *url, struct redis_url *u);
/* What a refused --redis is told (it never repeats the URL: it may hold
 * a password). */
#define REDIS_CLIENT_URL_FORMS                                                                     \
	"redis://ADDRESS:PORT or redis://[IPV6]:PORT (numeric; with AUTH and a database "          \
	"redis://[[USER]:PASSWORD@]ADDRESS:PORT[/DB], e.g. redis://:secret@127.0.0.1:6379/3)"
/* The credentials of u: its password, else (none or an empty one, as in
 * "redis://USER:@HOST:PORT") the environment's REDIS_CLIENT_PASSWORD_ENV
 * (as redis-cli), else none. Borrowed from u and the environment. */
struct redis_auth redis_client_url_auth(const struct redis_url *u);

/* AUTH and SELECT on a connected hiredis context (the callers that keep
 * their own context: signetd's DMARC writer, signet dmarc report). False
 * with why = "AUTH: WRONGPASS ..." / "SELECT 3: ERR DB index is out of
 * range" (Redis's own words; never the password). a may be NULL. */
bool redis_client_handshake(struct redisContext *ctx, const struct redis_auth *a, char *why,
			    size_t cap);
/* The AUTH command of a (argv[0] "AUTH"): its argc (2 or 3), or 0 when
 * a sets no password. For the async client (daemon/keyfetch.c). */
int redis_client_auth_argv(const struct redis_auth *a, const char *argv[3]);

/* A key or hash name signet accepts from a config or command line: 1 to
 * REDIS_CLIENT_KEY_NAME_MAX printable characters, no spaces (Redis takes
 * any bytes; a space or a control character is surely a typo). */
bool redis_client_key_name_ok(const char *s);

/* Connects to the first of servers ("ADDRESS:PORT" / "[IPV6]:PORT") that
 * accepts within timeout seconds and takes auth (redis_client_handshake;
 * NULL: none); commands then time out after timeout too. NULL when none
 * does: why says what each one answered. */
struct redis_client *redis_client_connect(const char *const *servers, size_t n, double timeout,
					  const struct redis_auth *auth, char *why, size_t cap);
void redis_client_free(struct redis_client *c);

/* "ADDRESS:PORT" of the server in use; borrowed until redis_client_free. */
const char *redis_client_server(const struct redis_client *c);
/* The last error ("Redis 127.0.0.1:6379: ..."); borrowed until the next call. */
const char *redis_client_error(const struct redis_client *c);
/* True once the connection failed (a timeout, a reset): reconnect. */
bool redis_client_broken(const struct redis_client *c);

/* GET key, read at most max bytes (GETRANGE: a bigger value is never
 * transferred whole; it is an error naming max_name). A missing key and an
 * empty value are both REDIS_R_MISSING. *val (malloc'd, NUL-terminated,
 * caller frees) and *len on REDIS_R_OK. */
enum redis_result redis_client_get(struct redis_client *c, const char *key, size_t max,
				   const char *max_name, char **val, size_t *len);
/* HGET hash field, at most max bytes (HSTRLEN first). As redis_client_get. */
enum redis_result redis_client_hget(struct redis_client *c, const char *hash, const char *field,
				    size_t max, const char *max_name, char **val, size_t *len);
/* HSET (HSETNX with only_new: REDIS_R_EXISTS when the field is there). */
enum redis_result redis_client_hset(struct redis_client *c, const char *hash, const char *field,
				    const char *val, size_t len, bool only_new);
/* HEXISTS: REDIS_R_OK (exists), REDIS_R_MISSING or REDIS_R_ERROR. */
enum redis_result redis_client_hexists(struct redis_client *c, const char *hash, const char *field);
enum redis_result redis_client_hdel(struct redis_client *c, const char *hash, const char *field);
/* HKEYS hash when it has at most max fields (HLEN first: an error above):
 * *fields (each and the array malloc'd, caller frees) and *n. */
enum redis_result redis_client_hkeys(struct redis_client *c, const char *hash, size_t max,
				     char ***fields, size_t *n);

/* Optimistic transactions: WATCH key, read, then redis_client_exec. */
enum redis_result redis_client_watch(struct redis_client *c, const char *key);
enum redis_result redis_client_unwatch(struct redis_client *c);

enum redis_write_op { REDIS_W_SET, REDIS_W_HSET, REDIS_W_HDEL };
struct redis_write {
	enum redis_write_op op;
	const char *key;   /* the string key, or the hash */
	const char *field; /* HSET, HDEL */
	const char *val;   /* SET, HSET: val[0..len) */
	size_t len;
};
/* MULTI, the writes, EXEC: all or nothing. REDIS_R_CONFLICT when a key
 * watched since the last redis_client_watch changed (nothing written). */
enum redis_result redis_client_exec(struct redis_client *c, const struct redis_write *w, size_t n);

#endif
