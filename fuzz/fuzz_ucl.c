/* fuzz_ucl.c: signetd's UCL config parser (conf/ucl.c). The config is
 * not attacker-controlled (SECURITY.md), but rspamd-style configs are copied
 * from elsewhere and a parser must not crash on them. .include is answered
 * with a fixed small document or "not found"; lower bounds are used so the
 * depth and size limits are reached with short inputs. Walks the tree. */
#include "fuzz.h"
#include "ucl.h"

static enum ucl_include_status include(void *ctx, const char *path, bool try_,
				       struct ucl_include_result *res)
{
	(void)ctx, (void)try_;
	if (strstr(path, "missing") != NULL) {
		snprintf(res->why, sizeof res->why, "No such file or directory");
		return UCL_INCLUDE_NOT_FOUND;
	}
	/* Recursive on purpose (an include of itself): the loop check must stop it. */
	static const char text[] = "key = \"v\";\n.include \"again.conf\"\nsub { a = 1k; }\n";
	res->text = malloc(sizeof text);
	FUZZ_CHECK(res->text != NULL);
	memcpy(res->text, text, sizeof text - 1);
	res->len = sizeof text - 1;
	res->canonical = strdup(strstr(path, "again") ? "/etc/again.conf" : path);
	FUZZ_CHECK(res->canonical != NULL);
	return UCL_INCLUDE_OK;
}

static void walk(const struct ucl_node *n, unsigned depth)
{
	FUZZ_CHECK(depth <= 64);
	for (; n != NULL; n = n->next) {
		if (n->type == UCL_STRING)
			FUZZ_CHECK(n->str != NULL && n->str[n->len] == '\0');
		FUZZ_CHECK(n->nkids <= n->capkids || n->kids == NULL);
		for (size_t k = 0; k < n->nkids; k++) {
			const struct ucl_node *kid = n->kids[k];
			if (n->type == UCL_OBJECT && kid->key != NULL)
				FUZZ_CHECK(ucl_find(n, kid->key) != NULL);
			walk(kid, depth + 1);
		}
		(void)ucl_type_name(n->type);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ucl_opts opts = {
		.include = include,
		.max_depth = 16,
		.max_include_depth = 4,
		.max_includes = 8,
		.max_string = 1024,
	};
	struct ucl_doc *doc = NULL;
	struct diags d;
	diags_init(&d);
	uint8_t *p = malloc(size ? size : 1); /* exact size: over-reads trap */
	FUZZ_CHECK(p != NULL);
	if (size > 0)
		memcpy(p, data, size);
	enum signet_status st = ucl_parse(&opts, "/etc/signet/fuzz.conf", p, size, &doc, &d);
	if (st == SIGNET_OK) {
		FUZZ_CHECK(doc != NULL && doc->root != NULL && doc->root->type == UCL_OBJECT);
		walk(doc->root, 1);
		ucl_doc_free(doc);
	} else {
		FUZZ_CHECK(doc == NULL);
		FUZZ_CHECK(d.nerrors >= 1); /* every failure says where and why */
	}
	diags_free(&d);
	free(p);
	return 0;
}
