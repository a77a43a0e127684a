/* diag.c: the diagnostics list (see diag.h). Messages are formatted once
 * into exactly-sized allocations; the list has a ceiling. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"

void diags_init(struct diags *d)
{
	memset(d, 0, sizeof *d);
}

void diags_free(struct diags *d)
{
	if (d == NULL)
		return;
	for (size_t k = 0; k < d->n; k++)
		free(d->v[k].msg);
	free(d->v);
	memset(d, 0, sizeof *d);
}

static bool diags_grow(struct diags *d)
{
	if (d->n < d->cap)
		return true;
	size_t ncap = d->cap ? d->cap * 2 : 8;
	struct diag *v = realloc(d->v, ncap * sizeof *v);
	if (v == NULL)
		return false;
	d->v = v;
	d->cap = ncap;
	return true;
}

void diags_add(struct diags *d, enum diag_level level, const char *fmt, ...)
{
	if (level == DIAG_ERROR)
		d->nerrors++;
	else
		d->nwarnings++;
	if (d->n >= DIAG_MAX_COUNT || !diags_grow(d)) {
		d->dropped++;
		return;
	}
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		d->dropped++;
		return;
	}
	size_t len = (size_t)n < DIAG_MAX_MSG ? (size_t)n : DIAG_MAX_MSG;
	char *msg = malloc(len + 1);
	if (msg == NULL) {
		d->dropped++;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(msg, len + 1, fmt, ap);
	va_end(ap);
	if ((size_t)n > len && len >= 3)
		memcpy(msg + len - 3, "...", 3); /* visibly cut, never silently */
	d->v[d->n].level = level;
	d->v[d->n].msg = msg;
	d->n++;
}

void diags_print(const struct diags *d, FILE *f, const char *prefix)
{
	for (size_t k = 0; k < d->n; k++)
		fprintf(f, "%s%s: %s\n", prefix ? prefix : "",
			d->v[k].level == DIAG_ERROR ? "error" : "warning", d->v[k].msg);
	if (d->dropped > 0)
		fprintf(f, "%s%zu more %s not shown (limit %d or out of memory)\n",
			prefix ? prefix : "", d->dropped, d->dropped == 1 ? "message" : "messages",
			DIAG_MAX_COUNT);
}

const char *diags_find(const struct diags *d, const char *needle)
{
	for (size_t k = 0; k < d->n; k++)
		if (strstr(d->v[k].msg, needle) != NULL)
			return d->v[k].msg;
	return NULL;
}
