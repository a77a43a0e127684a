/* rotation_redis.c: the rotation state in Redis (rotation_redis.h). The
 * text is rotation.c's (rotation_parse, rotation_format); this file only
 * moves it and makes each change atomic against the other hosts. */
#include "rotation_redis.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct tx_write {
	enum redis_write_op op;
	char *hash, *field, *value; /* owned */
};

struct rotation_redis_tx {
	struct tx_write v[ROTATION_REDIS_MAX_WRITES];
	size_t n;
};

bool rotation_redis_load(struct redis_client *c, const char *key, struct rotation *r,
			 struct diags *d)
{
	char *text = NULL, name[320];
	size_t len = 0;
	rotation_init(r);
	enum redis_result res =
		redis_client_get(c, key, ROTATION_MAX_FILE, "ROTATION_MAX_FILE", &text, &len);
	if (res == REDIS_R_MISSING)
		return true;
	if (res != REDIS_R_OK) {
		diags_add(d, DIAG_ERROR, "rotation state: %s", redis_client_error(c));
		return false;
	}
	snprintf(name, sizeof name, "Redis %s key %.256s", redis_client_server(c), key);
	bool ok = rotation_parse(text, len, name, r, d);
	free(text);
	return ok;
}

static bool add(struct rotation_redis_tx *tx, enum redis_write_op op, const char *hash,
		const char *field, const char *value, struct diags *d)
{
	if (tx->n == ROTATION_REDIS_MAX_WRITES) {
		diags_add(d, DIAG_ERROR,
			  "rotation: more than ROTATION_REDIS_MAX_WRITES (%d) key writes at once",
			  ROTATION_REDIS_MAX_WRITES);
		return false;
	}
	struct tx_write *w = &tx->v[tx->n];
	*w = (struct tx_write){.op = op,
			       .hash = strdup(hash),
			       .field = strdup(field),
			       .value = strdup(value ? value : "")};
	if (w->hash == NULL || w->field == NULL || w->value == NULL) {
		free(w->hash), free(w->field), free(w->value);
		diags_add(d, DIAG_ERROR, "out of memory");
		return false;
	}
	tx->n++;
	return true;
}

bool rotation_redis_hset(struct rotation_redis_tx *tx, const char *hash, const char *field,
			 const char *value, struct diags *d)
{
	return add(tx, REDIS_W_HSET, hash, field, value, d);
}

bool rotation_redis_hdel(struct rotation_redis_tx *tx, const char *hash, const char *field,
			 struct diags *d)
{
	return add(tx, REDIS_W_HDEL, hash, field, NULL, d);
}

static void tx_clear(struct rotation_redis_tx *tx)
{
	for (size_t k = 0; k < tx->n; k++)
		free(tx->v[k].hash), free(tx->v[k].field), free(tx->v[k].value);
	tx->n = 0;
}

/* MULTI, SET key text, the hash writes, EXEC. */
static enum redis_result write_state(struct redis_client *c, const char *key,
				     const struct rotation *r, const struct rotation_redis_tx *tx,
				     struct diags *d)
{
	size_t len = 0;
	char *text = rotation_format(r, &len, d);
	struct redis_write *w = text ? calloc(tx->n + 1, sizeof *w) : NULL;
	if (w == NULL) {
		if (text != NULL)
			diags_add(d, DIAG_ERROR, "out of memory");
		free(text);
		return REDIS_R_ERROR;
	}
	w[0] = (struct redis_write){.op = REDIS_W_SET, .key = key, .val = text, .len = len};
	for (size_t k = 0; k < tx->n; k++)
		w[k + 1] = (struct redis_write){.op = tx->v[k].op,
						.key = tx->v[k].hash,
						.field = tx->v[k].field,
						.val = tx->v[k].value,
						.len = strlen(tx->v[k].value)};
	enum redis_result res = redis_client_exec(c, w, tx->n + 1);
	if (res == REDIS_R_ERROR)
		diags_add(d, DIAG_ERROR, "rotation state: %s", redis_client_error(c));
	free(w);
	free(text);
	return res;
}

/* One try: REDIS_R_OK (done), REDIS_R_CONFLICT (again) or REDIS_R_ERROR. */
static enum redis_result try_once(struct redis_client *c, const char *key, rotation_redis_fn fn,
				  void *arg, struct rotation *r, struct rotation_redis_tx *tx,
				  struct diags *d)
{
	if (redis_client_watch(c, key) != REDIS_R_OK) {
		diags_add(d, DIAG_ERROR, "rotation state: %s", redis_client_error(c));
		return REDIS_R_ERROR;
	}
	if (!rotation_redis_load(c, key, r, d)) {
		if (!redis_client_broken(c))
			(void)redis_client_unwatch(c);
		return REDIS_R_ERROR;
	}
	enum rotation_redis_change ch = fn(r, tx, arg, d);
	if (ch != ROT_REDIS_WRITE) {
		if (redis_client_unwatch(c) != REDIS_R_OK) {
			diags_add(d, DIAG_ERROR, "rotation state: %s", redis_client_error(c));
			return REDIS_R_ERROR;
		}
		return ch == ROT_REDIS_KEEP ? REDIS_R_OK : REDIS_R_ERROR;
	}
	return write_state(c, key, r, tx, d);
}

bool rotation_redis_update(struct redis_client *c, const char *key, rotation_redis_fn fn, void *arg,
			   struct rotation *out, struct diags *d)
{
	struct rotation_redis_tx *tx = calloc(1, sizeof *tx);
	struct rotation r;
	rotation_init(&r);
	if (tx == NULL) {
		diags_add(d, DIAG_ERROR, "out of memory");
		return false;
	}
	enum redis_result res = REDIS_R_CONFLICT;
	for (unsigned k = 0; res == REDIS_R_CONFLICT && k < ROTATION_REDIS_MAX_TRIES; k++) {
		rotation_free(&r);
		tx_clear(tx);
		res = try_once(c, key, fn, arg, &r, tx, d);
	}
	if (res == REDIS_R_CONFLICT)
		diags_add(d, DIAG_ERROR,
			  "rotation state: Redis %s key %s changed under this change "
			  "ROTATION_REDIS_MAX_TRIES (%d) times in a row; try again",
			  redis_client_server(c), key, ROTATION_REDIS_MAX_TRIES);
	tx_clear(tx);
	free(tx);
	if (res == REDIS_R_OK && out != NULL)
		*out = r;
	else
		rotation_free(&r);
	return res == REDIS_R_OK;
}
