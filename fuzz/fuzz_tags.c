/* fuzz_tags.c: the tag=value list parser (lib/tags.c, RFC 6376 3.2) and the
 * colon-list iterator. Checks that every span lies inside the input and
 * that the result does not depend on what follows the given length. */
#include "fuzz.h"
#include "tags.h"

static void inside(struct signet_span s, const uint8_t *p, size_t n)
{
	FUZZ_CHECK(s.len == 0 || (s.p >= p && s.len <= n && (size_t)(s.p - p) <= n - s.len));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* An exact-size copy: ASan then catches a read one byte past the end. */
	uint8_t *p = malloc(size ? size : 1);
	FUZZ_CHECK(p != NULL);
	if (size > 0)
		memcpy(p, data, size);
	static struct tag_list l;
	struct signet_error err = {0};
	enum signet_status st = tag_list_parse(p, size, &l, &err);
	FUZZ_CHECK(st == SIGNET_OK || st == SIGNET_ERR_SYNTAX || st == SIGNET_ERR_LIMIT);
	FUZZ_CHECK(err.msg[sizeof err.msg - 1] == '\0');
	if (st == SIGNET_OK) {
		FUZZ_CHECK(l.count <= SIGNET_MAX_TAGS);
		for (size_t k = 0; k < l.count; k++) {
			const struct tag *t = &l.tags[k];
			inside(t->name, p, size);
			inside(t->value, p, size);
			inside(t->raw, p, size);
			FUZZ_CHECK(t->name.len > 0);
			/* DKIM-TAG-03: names are unique, so lookup finds this one. */
			char name[64];
			if (t->name.len < sizeof name &&
			    memchr(t->name.p, 0, t->name.len) == NULL) {
				memcpy(name, t->name.p, t->name.len);
				name[t->name.len] = '\0';
				FUZZ_CHECK(tag_list_find(&l, name) == t);
			}
			size_t pos = 0, items = 0;
			struct signet_span item;
			while (tag_value_list_next(t->value, &pos, &item)) {
				inside(item, p, size);
				FUZZ_CHECK(++items <= t->value.len + 1);
			}
		}
	}
	free(p);
	return 0;
}
