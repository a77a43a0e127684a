/* redis_client.c: the synchronous Redis client of redis_client.h. Every
 * command goes through command(), which checks the reply's type and turns
 * an I/O failure or an error reply into one message naming the server.
 * Binary-safe (redisCommandArgv); no command is built by formatting. */
#include "redis_client.h"

#include <hiredis/hiredis.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "config.h"

struct redis_client {
	redisContext *ctx;
	char server[REDIS_CLIENT_NAME_MAX];
	char error[REDIS_CLIENT_ERROR_MAX];
	bool broken;
};

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* s[0..len) percent-decoded (RFC 3986 2.1) into out; false on a bad
 * escape, a NUL byte or more than cap - 1 bytes. */
static bool percent_decode(const char *s, size_t len, char *out, size_t cap)
{
	size_t o = 0;
	for (size_t k = 0; k < len; k++) {
		int c = (unsigned char)s[k];
		if (c == '%') {
			if (k + 2 >= len || hexval(s[k + 1]) < 0 || hexval(s[k + 2]) < 0)
				return false;
			c = hexval(s[k + 1]) * 16 + hexval(s[k + 2]);
			k += 2;
		}
		if (c == 0 || o + 1 >= cap)
			return false;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return true;
}

/* "/DB": decimal 0..INT_MAX (Redis refuses what it does not have). */
static bool parse_db(const char *s, int *db)
{
	long long v = 0;
	if (*s == '\0')
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		v = v * 10 + (*s - '0');
		if (v > INT_MAX)
			return false;
	}
	*db = (int)v;
	return true;
}

/* USERINFO of "[USER]:PASSWORD" or "PASSWORD" (redis-cli -u). */
static bool parse_userinfo(const char *s, size_t len, struct redis_url *u)
{
	const char *colon = memchr(s, ':', len);
	const char *pw = s;
	size_t pwlen = len;
	if (colon != NULL) {
		if (!percent_decode(s, (size_t)(colon - s), u->username, sizeof u->username))
			return false;
		pw = colon + 1;
		pwlen = len - (size_t)(pw - s);
	}
	u->has_password = true;
	return percent_decode(pw, pwlen, u->password, sizeof u->password);
}

bool redis_client_parse_url(const char *url, struct redis_url *u)
{
	char host[64], hp[REDIS_CLIENT_NAME_MAX];
	unsigned port;
	memset(u, 0, sizeof *u);
	if (url == NULL)
		return false;
	bool scheme = strncmp(url, "redis://", 8) == 0;
	const char *rest = scheme ? url + 8 : url;
	const char *at = scheme ? strrchr(rest, '@') : NULL;
	if (at != NULL && !parse_userinfo(rest, (size_t)(at - rest), u))
		goto bad;
	const char *h = at != NULL ? at + 1 : rest;
	const char *slash = scheme ? strchr(h, '/') : NULL;
	size_t n = slash != NULL ? (size_t)(slash - h) : strlen(h);
	if (n >= sizeof hp || (slash != NULL && !parse_db(slash + 1, &u->db)))
		goto bad;
	memcpy(hp, h, n);
	hp[n] = '\0';
	if (!config_redis_server(hp, host, sizeof host, &port))
		goto bad;
	memcpy(u->server, hp, n + 1);
	return true;
bad:
	explicit_bzero(u, sizeof *u);
	return false;
}

struct redis_auth redis_client_url_auth(const struct redis_url *u)
{
	struct redis_auth a = {NULL, NULL, u->db};
	/* "redis://USER:@HOST:PORT": the user's password from the environment */
	bool own = u->has_password && u->password[0] != '\0';
	a.password = own ? u->password : getenv(REDIS_CLIENT_PASSWORD_ENV);
	if (a.password != NULL && a.password[0] == '\0')
		a.password = NULL; /* REDISCLI_AUTH= : none */
	if (a.password != NULL && u->username[0] != '\0')
		a.username = u->username;
	return a;
}

struct redis_auth redis_client_auth_of(const struct config_redis *r)
{
	struct redis_auth a = {r->password != NULL ? r->username : NULL, r->password, r->db};
	return a;
}

int redis_client_auth_argv(const struct redis_auth *a, const char *argv[3])
{
	if (a == NULL || a->password == NULL)
		return 0;
	int n = 0;
	argv[n++] = "AUTH";
	if (a->username != NULL && a->username[0] != '\0')
		argv[n++] = a->username;
	argv[n++] = a->password;
	return n;
}

/* One handshake command: an error reply or I/O failure into why. */
static bool handshake_cmd(redisContext *ctx, int argc, const char **argv, const char *what,
			  char *why, size_t cap)
{
	redisReply *r = redisCommandArgv(ctx, argc, argv, NULL);
	if (r == NULL) {
		snprintf(why, cap, "%s: %s", what, ctx->errstr[0] ? ctx->errstr : "no reply");
		return false;
	}
	bool ok = r->type == REDIS_REPLY_STATUS;
	if (r->type == REDIS_REPLY_ERROR)
		snprintf(why, cap, "%s: %.200s", what, r->str);
	else if (!ok)
		snprintf(why, cap, "%s: unexpected reply (type %d)", what, r->type);
	freeReplyObject(r);
	return ok;
}

bool redis_client_handshake(struct redisContext *ctx, const struct redis_auth *a, char *why,
			    size_t cap)
{
	const char *argv[3];
	int argc = redis_client_auth_argv(a, argv);
	if (argc > 0 && !handshake_cmd(ctx, argc, argv, "AUTH", why, cap))
		return false; /* "AUTH", never its arguments */
	if (a == NULL || a->db <= 0)
		return true;
	char db[16], what[24];
	snprintf(db, sizeof db, "%d", a->db);
	snprintf(what, sizeof what, "SELECT %d", a->db);
	const char *sel[] = {"SELECT", db};
	return handshake_cmd(ctx, 2, sel, what, why, cap);
}

bool redis_client_key_name_ok(const char *s)
{
	size_t len = strlen(s);
	bool ok = len > 0 && len <= REDIS_CLIENT_KEY_NAME_MAX;
	for (size_t k = 0; ok && k < len; k++)
		ok = (unsigned char)s[k] > 0x20 && s[k] != 0x7f;
	return ok;
}

static struct timeval timeval_of(double seconds)
{
	if (seconds <= 0)
		seconds = CONFIG_DEFAULT_REDIS_TIMEOUT;
	struct timeval tv = {.tv_sec = (time_t)seconds};
	tv.tv_usec = (suseconds_t)((seconds - (double)tv.tv_sec) * 1e6);
	return tv;
}

/* One server: a context, or NULL with the reason appended to why. */
static redisContext *connect_one(const char *server, struct timeval tv,
				 const struct redis_auth *auth, char *why, size_t cap)
{
	char hs[REDIS_CLIENT_ERROR_MAX];
	char host[64];
	unsigned port;
	size_t used = strlen(why);
	const char *sep = used > 0 ? "; " : "";
	if (!config_redis_server(server, host, sizeof host, &port)) {
		snprintf(why + used, cap - used, "%sRedis %s: not a numeric ADDRESS:PORT", sep,
			 server);
		return NULL;
	}
	redisContext *ctx = redisConnectWithTimeout(host, (int)port, tv);
	bool up = ctx != NULL && ctx->err == 0 && redisSetTimeout(ctx, tv) == REDIS_OK;
	if (up && redis_client_handshake(ctx, auth, hs, sizeof hs))
		return ctx;
	snprintf(why + used, cap - used, "%sRedis %s: %s", sep, server,
		 up                              ? hs
		 : ctx != NULL && ctx->errstr[0] ? ctx->errstr
						 : "out of memory");
	if (ctx != NULL)
		redisFree(ctx);
	return NULL;
}

struct redis_client *redis_client_connect(const char *const *servers, size_t n, double timeout,
					  const struct redis_auth *auth, char *why, size_t cap)
{
	struct timeval tv = timeval_of(timeout);
	if (cap == 0)
		return NULL;
	why[0] = '\0';
	if (n == 0) {
		snprintf(why, cap, "no Redis server configured");
		return NULL;
	}
	for (size_t k = 0; k < n; k++) {
		redisContext *ctx = connect_one(servers[k], tv, auth, why, cap);
		if (ctx == NULL)
			continue;
		struct redis_client *c = calloc(1, sizeof *c);
		if (c == NULL) {
			redisFree(ctx);
			snprintf(why, cap, "out of memory");
			return NULL;
		}
		c->ctx = ctx;
		snprintf(c->server, sizeof c->server, "%s", servers[k]);
		why[0] = '\0';
		return c;
	}
	return NULL;
}

void redis_client_free(struct redis_client *c)
{
	if (c == NULL)
		return;
	redisFree(c->ctx);
	free(c);
}

const char *redis_client_server(const struct redis_client *c)
{
	return c->server;
}

const char *redis_client_error(const struct redis_client *c)
{
	return c->error;
}

bool redis_client_broken(const struct redis_client *c)
{
	return c->broken;
}

static void set_error(struct redis_client *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void set_error(struct redis_client *c, const char *fmt, ...)
{
	int n = snprintf(c->error, sizeof c->error, "Redis %s: ", c->server);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->error + n, sizeof c->error - (size_t)n, fmt, ap);
	va_end(ap);
}

/* Sends argv and checks the reply's type: want, or NIL when nil_ok. The
 * reply (caller frees) or NULL with the error set. */
static redisReply *command(struct redis_client *c, int want, bool nil_ok, int argc,
			   const char **argv, const size_t *lens)
{
	if (c->broken) {
		set_error(c, "the connection failed earlier; reconnect");
		return NULL;
	}
	redisReply *r = redisCommandArgv(c->ctx, argc, argv, lens);
	if (r == NULL) {
		c->broken = true; /* hiredis: the context cannot be used again */
		set_error(c, "%s", c->ctx->errstr[0] ? c->ctx->errstr : "no reply");
		return NULL;
	}
	if (r->type == want || (nil_ok && r->type == REDIS_REPLY_NIL))
		return r;
	const char *key = argc > 1 ? argv[1] : "";
	if (r->type == REDIS_REPLY_ERROR)
		set_error(c, "%s %.256s: %.200s", argv[0], key, r->str);
	else
		set_error(c, "%s %.256s: unexpected reply (type %d)", argv[0], key, r->type);
	freeReplyObject(r);
	return NULL;
}

static enum redis_result take_string(struct redis_client *c, redisReply *r, size_t max,
				     const char *max_name, const char *what, char **val,
				     size_t *len)
{
	if (r->type == REDIS_REPLY_NIL || r->len == 0) {
		freeReplyObject(r);
		return REDIS_R_MISSING;
	}
	if (r->len > max) {
		set_error(c, "%.300s is longer than %s (%zu bytes)", what, max_name, max);
		freeReplyObject(r);
		return REDIS_R_ERROR;
	}
	*val = malloc(r->len + 1);
	if (*val == NULL) {
		set_error(c, "out of memory");
		freeReplyObject(r);
		return REDIS_R_ERROR;
	}
	memcpy(*val, r->str, r->len);
	(*val)[r->len] = '\0';
	*len = r->len;
	freeReplyObject(r);
	return REDIS_R_OK;
}

enum redis_result redis_client_get(struct redis_client *c, const char *key, size_t max,
				   const char *max_name, char **val, size_t *len)
{
	char end[24];
	snprintf(end, sizeof end, "%zu", max); /* one byte past max: tells "too long" */
	const char *argv[] = {"GETRANGE", key, "0", end};
	redisReply *r = command(c, REDIS_REPLY_STRING, false, 4, argv, NULL);
	if (r == NULL)
		return REDIS_R_ERROR;
	return take_string(c, r, max, max_name, key, val, len);
}

static enum redis_result integer(struct redis_client *c, int argc, const char **argv,
				 const size_t *lens, long long *out)
{
	redisReply *r = command(c, REDIS_REPLY_INTEGER, false, argc, argv, lens);
	if (r == NULL)
		return REDIS_R_ERROR;
	*out = r->integer;
	freeReplyObject(r);
	return REDIS_R_OK;
}

enum redis_result redis_client_hget(struct redis_client *c, const char *hash, const char *field,
				    size_t max, const char *max_name, char **val, size_t *len)
{
	char what[300];
	long long n;
	const char *slen[] = {"HSTRLEN", hash, field};
	snprintf(what, sizeof what, "%.140s field %.140s", hash, field);
	if (integer(c, 3, slen, NULL, &n) != REDIS_R_OK)
		return REDIS_R_ERROR;
	if (n > (long long)max) {
		set_error(c, "%s is longer than %s (%zu bytes)", what, max_name, max);
		return REDIS_R_ERROR;
	}
	const char *argv[] = {"HGET", hash, field};
	redisReply *r = command(c, REDIS_REPLY_STRING, true, 3, argv, NULL);
	if (r == NULL)
		return REDIS_R_ERROR;
	return take_string(c, r, max, max_name, what, val, len);
}

enum redis_result redis_client_hset(struct redis_client *c, const char *hash, const char *field,
				    const char *val, size_t len, bool only_new)
{
	const char *argv[] = {only_new ? "HSETNX" : "HSET", hash, field, val};
	size_t lens[] = {strlen(argv[0]), strlen(hash), strlen(field), len};
	long long n;
	if (integer(c, 4, argv, lens, &n) != REDIS_R_OK)
		return REDIS_R_ERROR;
	return only_new && n == 0 ? REDIS_R_EXISTS : REDIS_R_OK;
}

enum redis_result redis_client_hexists(struct redis_client *c, const char *hash, const char *field)
{
	const char *argv[] = {"HEXISTS", hash, field};
	long long n;
	if (integer(c, 3, argv, NULL, &n) != REDIS_R_OK)
		return REDIS_R_ERROR;
	return n ? REDIS_R_OK : REDIS_R_MISSING;
}

enum redis_result redis_client_hkeys(struct redis_client *c, const char *hash, size_t max,
				     char ***fields, size_t *n)
{
	*fields = NULL;
	*n = 0;
	const char *hlen[] = {"HLEN", hash};
	long long count;
	if (integer(c, 2, hlen, NULL, &count) != REDIS_R_OK)
		return REDIS_R_ERROR;
	if (count == 0)
		return REDIS_R_MISSING;
	if ((unsigned long long)count > max) {
		set_error(c, "HLEN %.256s: %lld fields, more than the %zu read", hash, count, max);
		return REDIS_R_ERROR;
	}
	const char *argv[] = {"HKEYS", hash};
	redisReply *r = command(c, REDIS_REPLY_ARRAY, false, 2, argv, NULL);
	if (r == NULL)
		return REDIS_R_ERROR;
	/* it may have grown between HLEN and HKEYS: still bounded by max */
	char **v = calloc(r->elements ? r->elements : 1, sizeof *v);
	for (size_t k = 0; v != NULL && k < r->elements && *n < max; k++) {
		const redisReply *e = r->element[k];
		if (e->type == REDIS_REPLY_STRING && (v[*n] = strndup(e->str, e->len)) != NULL)
			(*n)++;
	}
	freeReplyObject(r);
	if (v == NULL) {
		set_error(c, "out of memory");
		return REDIS_R_ERROR;
	}
	*fields = v;
	return *n ? REDIS_R_OK : REDIS_R_MISSING;
}

enum redis_result redis_client_hdel(struct redis_client *c, const char *hash, const char *field)
{
	const char *argv[] = {"HDEL", hash, field};
	long long n;
	if (integer(c, 3, argv, NULL, &n) != REDIS_R_OK)
		return REDIS_R_ERROR;
	return n ? REDIS_R_OK : REDIS_R_MISSING;
}

static enum redis_result status(struct redis_client *c, int argc, const char **argv,
				const size_t *lens)
{
	redisReply *r = command(c, REDIS_REPLY_STATUS, false, argc, argv, lens);
	if (r == NULL)
		return REDIS_R_ERROR;
	freeReplyObject(r);
	return REDIS_R_OK;
}

enum redis_result redis_client_watch(struct redis_client *c, const char *key)
{
	const char *argv[] = {"WATCH", key};
	return status(c, 2, argv, NULL);
}

enum redis_result redis_client_unwatch(struct redis_client *c)
{
	const char *argv[] = {"UNWATCH"};
	return status(c, 1, argv, NULL);
}

/* One write inside MULTI: the server answers QUEUED (a status). */
static enum redis_result queue(struct redis_client *c, const struct redis_write *w)
{
	switch (w->op) {
	case REDIS_W_SET: {
		const char *argv[] = {"SET", w->key, w->val};
		size_t lens[] = {3, strlen(w->key), w->len};
		return status(c, 3, argv, lens);
	}
	case REDIS_W_HSET: {
		const char *argv[] = {"HSET", w->key, w->field, w->val};
		size_t lens[] = {4, strlen(w->key), strlen(w->field), w->len};
		return status(c, 4, argv, lens);
	}
	case REDIS_W_HDEL: {
		const char *argv[] = {"HDEL", w->key, w->field};
		return status(c, 3, argv, NULL);
	}
	}
	set_error(c, "unknown write");
	return REDIS_R_ERROR;
}

enum redis_result redis_client_exec(struct redis_client *c, const struct redis_write *w, size_t n)
{
	const char *multi[] = {"MULTI"}, *exec[] = {"EXEC"}, *discard[] = {"DISCARD"};
	if (status(c, 1, multi, NULL) != REDIS_R_OK)
		return REDIS_R_ERROR;
	for (size_t k = 0; k < n; k++)
		if (queue(c, &w[k]) != REDIS_R_OK) {
			char why[REDIS_CLIENT_ERROR_MAX];
			memcpy(why, c->error, sizeof why);
			if (!c->broken)
				(void)status(c, 1, discard, NULL);
			memcpy(c->error, why, sizeof why);
			return REDIS_R_ERROR;
		}
	redisReply *r = command(c, REDIS_REPLY_ARRAY, true, 1, exec, NULL);
	if (r == NULL)
		return REDIS_R_ERROR;
	enum redis_result res = r->type == REDIS_REPLY_NIL ? REDIS_R_CONFLICT : REDIS_R_OK;
	for (size_t k = 0; res == REDIS_R_OK && k < r->elements; k++)
		if (r->element[k]->type == REDIS_REPLY_ERROR) {
			set_error(c, "EXEC: %.200s", r->element[k]->str);
			res = REDIS_R_ERROR;
		}
	freeReplyObject(r);
	return res;
}
