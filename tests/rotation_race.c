/* rotation_race.c: a test-only driver of conf/rotation_redis.h (not a
 * signet subcommand; tests/integration/test_rotation_fleet.py runs it
 * against a real redis-server). It adds one pending selector with
 * rotation_redis_update while "another host" (a second connection) writes
 * the same state key between our read and our EXEC: once (MODE "once": the
 * retry must keep the other host's entry and add ours) or on every try
 * (MODE "always": the update must give up after ROTATION_REDIS_MAX_TRIES
 * and write nothing of ours).
 * usage: rotation_race ADDRESS:PORT KEY once|always
 * prints "tries N" and, on success, the stored state; exit 0 ok, 1 not. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redis_client.h"
#include "rotation_redis.h"

#define T0 1796600000u

struct race {
	struct redis_client *other;
	const char *key;
	bool always;
	unsigned tries;
};

/* "Another host": a rotation of its own, written after our WATCH. */
static void other_host_writes(struct race *rc, unsigned try)
{
	char line[128];
	int n = snprintf(line, sizeof line, "other%u.example s1 pending %u 0 0 redis:dkim_keys\n",
			 try, T0);
	struct redis_write w = {.op = REDIS_W_SET, .key = rc->key, .val = line, .len = (size_t)n};
	char *old = NULL;
	size_t len = 0;
	/* append to what is there, as a host would */
	enum redis_result r = redis_client_get(rc->other, rc->key, ROTATION_MAX_FILE,
					       "ROTATION_MAX_FILE", &old, &len);
	char *text = malloc(len + (size_t)n + 1);
	if (text == NULL)
		abort();
	int m = snprintf(text, len + (size_t)n + 1, "%s%s", r == REDIS_R_OK ? old : "", line);
	w.val = text, w.len = (size_t)m;
	if (redis_client_exec(rc->other, &w, 1) != REDIS_R_OK)
		fprintf(stderr, "other host: %s\n", redis_client_error(rc->other));
	free(text);
	free(old);
}

static enum rotation_redis_change change(struct rotation *r, struct rotation_redis_tx *tx,
					 void *arg, struct diags *d)
{
	struct race *rc = arg;
	unsigned try = rc->tries++;
	if (try == 0 || rc->always)
		other_host_writes(rc, try);
	if (!rotation_add_pending(r, "ours.example", "s2", "redis:dkim_keys", T0, d))
		return ROT_REDIS_ABORT;
	if (!rotation_redis_hset(tx, "DKIM_SELECTORS_TEST", "ours.example", "s2", d))
		return ROT_REDIS_ABORT;
	return ROT_REDIS_WRITE;
}

int main(int argc, char **argv)
{
	char why[REDIS_CLIENT_ERROR_MAX];
	if (argc != 4 || (strcmp(argv[3], "once") != 0 && strcmp(argv[3], "always") != 0)) {
		fprintf(stderr, "usage: rotation_race ADDRESS:PORT KEY once|always\n");
		return 2;
	}
	const char *servers[] = {argv[1]};
	struct redis_client *c = redis_client_connect(servers, 1, 2.0, NULL, why, sizeof why);
	struct race rc = {.key = argv[2], .always = strcmp(argv[3], "always") == 0};
	rc.other = c ? redis_client_connect(servers, 1, 2.0, NULL, why, sizeof why) : NULL;
	if (rc.other == NULL) {
		fprintf(stderr, "%s\n", why);
		redis_client_free(c);
		return 1;
	}
	struct rotation out;
	struct diags d;
	diags_init(&d);
	bool ok = rotation_redis_update(c, argv[2], change, &rc, &out, &d);
	printf("tries %u\n", rc.tries);
	diags_print(&d, stdout, "");
	if (ok) {
		size_t len = 0;
		char *text = rotation_format(&out, &len, &d);
		if (text != NULL)
			fwrite(text, 1, len, stdout);
		free(text);
		rotation_free(&out);
	}
	diags_free(&d);
	redis_client_free(rc.other);
	redis_client_free(c);
	return ok ? 0 : 1;
}
