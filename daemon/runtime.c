/* runtime.c: the refcounted config + keys snapshot (runtime.h). */
#include <stdlib.h>

#include "config.h"
#include "keystore.h"
#include "runtime.h"

struct runtime *runtime_new(struct signetd_config *cfg, struct keystore *keys)
{
	struct runtime *rt = calloc(1, sizeof *rt);
	if (rt == NULL)
		return NULL;
	rt->cfg = cfg;
	rt->keys = keys;
	atomic_init(&rt->refs, 1);
	return rt;
}

struct runtime *runtime_ref(struct runtime *rt)
{
	atomic_fetch_add(&rt->refs, 1);
	return rt;
}

void runtime_unref(struct runtime *rt)
{
	if (rt == NULL || atomic_fetch_sub(&rt->refs, 1) != 1)
		return;
	keystore_free(rt->keys);
	config_free(rt->cfg);
	free(rt);
}
