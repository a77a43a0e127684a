/* signkeys.c: signkeys.h. */
#include <stdio.h>
#include <stdlib.h>

#include <signet/key.h>

#include "signkeys.h"

struct signkeys *signkeys_new(const char *domain)
{
	struct signkeys *k = calloc(1, sizeof *k);
	if (k == NULL)
		return NULL;
	k->refs = 1;
	snprintf(k->domain, sizeof k->domain, "%s", domain);
	return k;
}

struct signkeys *signkeys_ref(struct signkeys *k)
{
	if (k != NULL)
		k->refs++;
	return k;
}

void signkeys_unref(struct signkeys *k)
{
	if (k == NULL || --k->refs > 0)
		return;
	for (size_t j = 0; j < k->n; j++)
		signet_key_free(k->key[j]);
	free(k);
}
