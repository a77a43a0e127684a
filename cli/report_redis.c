/* report_redis.c: one day of DMARC observations from Redis into a report
 * store (report_redis.h). Synchronous hiredis with a timeout on the
 * connect and each reply. */
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "config.h"
#include "redis_client.h"
#include "report_redis.h"
#include "report_redis_codec.h"

struct loader {
	redisContext *c;
	struct report_store *dst;
	int64_t day;
	uint64_t rows;
	char *why;
	size_t cap;
};

static bool fail(struct loader *l, const char *fmt, const char *a, const char *b)
{
	snprintf(l->why, l->cap, fmt, a, b);
	return false;
}

/* A reply of the wanted type, or false with why set (NULL reply: I/O). */
static redisReply *command(struct loader *l, int want, const char *fmt, const char *k,
			   const char *f)
{
	redisReply *r = f ? redisCommand(l->c, fmt, k, f) : redisCommand(l->c, fmt, k);
	if (r == NULL) {
		fail(l, "Redis: %s%s", l->c->errstr, "");
		return NULL;
	}
	if (r->type == want || (want == REDIS_REPLY_STRING && r->type == REDIS_REPLY_NIL))
		return r;
	fail(l, "Redis: unexpected reply to a command on %s%s", k,
	     r->type == REDIS_REPLY_ERROR ? " (an error)" : "");
	freeReplyObject(r);
	return NULL;
}

static bool load_rows(struct loader *l, const char *domain, const struct report_policy *pol)
{
	char key[REPORT_REDIS_MAX_KEY];
	if (report_redis_key_rows(l->day, domain, key, sizeof key) != SIGNET_OK)
		return fail(l, "Redis: policy domain '%.64s%s' too long", domain, "...");
	redisReply *r = command(l, REDIS_REPLY_ARRAY, "HGETALL %s", key, NULL);
	if (r == NULL)
		return false;
	bool ok = r->elements / 2 <= REPORT_REDIS_MAX_ROWS ||
		  fail(l, "Redis: %s has more than REPORT_REDIS_MAX_ROWS rows%s", key, "");
	for (size_t k = 0; ok && k + 1 < r->elements; k += 2) {
		redisReply *f = r->element[k], *v = r->element[k + 1];
		struct report_obs o = {.day = l->day, .policy_domain = domain, .policy = *pol};
		struct signet_error err = {0};
		char *end = NULL;
		unsigned long long n =
			v->type == REDIS_REPLY_STRING ? strtoull(v->str, &end, 10) : 0;
		if (f->type != REDIS_REPLY_STRING || strlen(f->str) != f->len || end == NULL ||
		    *end != '\0' || end == v->str) {
			ok = fail(l,
				  "Redis: %s holds a field that is not a signet row with a count%s",
				  key, "");
			break;
		}
		if (report_redis_decode_row(f->str, &o, &err) != SIGNET_OK ||
		    report_store_add_count(l->dst, &o, n, &err) != SIGNET_OK) {
			ok = fail(l, "Redis %s: %s", key, err.msg);
			break;
		}
		l->rows++;
	}
	freeReplyObject(r);
	return ok;
}

static bool load_domain(struct loader *l, const char *domain)
{
	char key[REPORT_REDIS_MAX_KEY];
	struct report_policy pol = {.pct = -1};
	struct signet_error err = {0};
	if (report_redis_key_policy(l->day, key, sizeof key) != SIGNET_OK)
		return fail(l, "Redis: key too long%s%s", "", "");
	redisReply *r = command(l, REDIS_REPLY_STRING, "HGET %s %s", key, domain);
	if (r == NULL)
		return false;
	bool ok = true;
	/* The policy hash outlives no row hash (same EXPIRE); without it the
	 * report says what the rows say, and policy_published is empty. */
	if (r->type == REDIS_REPLY_STRING &&
	    (strlen(r->str) != r->len ||
	     report_redis_decode_policy(r->str, &pol, &err) != SIGNET_OK))
		ok = fail(l, "Redis %s: the policy of %s is not in signet's format", key, domain);
	ok = ok && load_rows(l, domain, &pol);
	freeReplyObject(r); /* pol points into it until here */
	return ok;
}

/* The one --redis URL parser (conf/redis_client.h), then host and port. */
static bool parse_url(const char *url, struct redis_url *u, char *host, size_t cap, unsigned *port)
{
	return redis_client_parse_url(url, u) && config_redis_server(u->server, host, cap, port);
}

bool report_redis_load(const char *url, const struct redis_auth *config_auth, double timeout,
		       int64_t day, struct report_store *dst, uint64_t *rows, char *why, size_t cap)
{
	char host[64], key[REPORT_REDIS_MAX_KEY];
	unsigned port;
	struct loader l = {.dst = dst, .day = day, .why = why, .cap = cap};
	struct redis_url u;
	char hs[REDIS_CLIENT_ERROR_MAX];
	if (!parse_url(url, &u, host, sizeof host, &port))
		return fail(&l, "--redis is not %s%s", REDIS_CLIENT_URL_FORMS, "");
	struct timeval tv = {.tv_sec = (time_t)timeout,
			     .tv_usec = (suseconds_t)((timeout - (double)(time_t)timeout) * 1e6)};
	l.c = redisConnectWithTimeout(host, (int)port, tv);
	struct redis_auth auth = config_auth ? *config_auth : redis_client_url_auth(&u);
	bool up = l.c != NULL && l.c->err == 0 && redisSetTimeout(l.c, tv) == REDIS_OK;
	if (!up || !redis_client_handshake(l.c, &auth, hs, sizeof hs)) {
		fail(&l, "cannot connect to Redis at redis://%s: %s", u.server,
		     up    ? hs
		     : l.c ? l.c->errstr
			   : "out of memory");
		explicit_bzero(&u, sizeof u);
		if (l.c)
			redisFree(l.c);
		return false;
	}
	explicit_bzero(&u, sizeof u);
	bool ok = report_redis_key_domains(day, key, sizeof key) == SIGNET_OK;
	redisReply *r = ok ? command(&l, REDIS_REPLY_ARRAY, "SMEMBERS %s", key, NULL) : NULL;
	ok = r != NULL;
	if (ok && r->elements > REPORT_REDIS_MAX_DOMAINS)
		ok = fail(&l, "Redis: %s has more than REPORT_REDIS_MAX_DOMAINS domains%s", key,
			  "");
	ok = ok && report_store_begin(dst, &(struct signet_error){0}) == SIGNET_OK;
	for (size_t k = 0; ok && k < r->elements; k++) {
		redisReply *d = r->element[k];
		ok = d->type == REDIS_REPLY_STRING && strlen(d->str) == d->len
			     ? load_domain(&l, d->str)
			     : fail(&l, "Redis: %s holds a member that is not a domain%s", key, "");
	}
	if (r != NULL && ok) {
		struct signet_error err = {0};
		if (report_store_commit(dst, &err) != SIGNET_OK)
			ok = fail(&l, "%s%s", err.msg, "");
	} else if (r != NULL) {
		report_store_rollback(dst);
	}
	if (r)
		freeReplyObject(r);
	redisFree(l.c);
	*rows = l.rows;
	return ok;
}
