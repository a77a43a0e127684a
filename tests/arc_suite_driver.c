/* arc_suite_driver.c: test-only runner of libsignet's ARC (arc.h) for
 * tests/integration/test_arc_suite.py (ValiMail's arc_test_suite). Not a
 * CLI command. Reads a message and a KEYSFILE (signet(1): "name value" per
 * line) and either prints the chain result:
 *   arc_suite_driver verify MSG KEYS            -> "cv=pass oldest-pass=0 reason=..."
 * or seals it and prints the three new field values (or "nothing"):
 *   arc_suite_driver sign MSG KEYS PEM DOMAIN SELECTOR TIME HEADERS AUTHRES
 * Exit 0 on success, 1 on an error (printed). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <signet/arc.h>
#include <signet/message.h>

#define MAX_FILE (64 * 1024 * 1024)
#define MAX_KEYS 64

struct keyline {
	char *name, *value;
};

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	char *buf = malloc(MAX_FILE + 1);
	size_t n = buf != NULL ? fread(buf, 1, MAX_FILE, f) : 0;
	fclose(f);
	if (buf != NULL)
		buf[n] = '\0';
	*len = n;
	return buf;
}

static size_t parse_keys(char *text, struct keyline *keys)
{
	size_t n = 0;
	for (char *line = strtok(text, "\n"); line != NULL && n < MAX_KEYS;
	     line = strtok(NULL, "\n")) {
		line[strcspn(line, "\r")] = '\0';
		if (line[0] == '#' || line[0] == '\0')
			continue;
		char *sp = strchr(line, ' ');
		if (sp == NULL)
			continue;
		*sp = '\0';
		keys[n].name = line;
		keys[n].value = sp + 1;
		n++;
	}
	return n;
}

static enum signet_status on_header(void *ctx, const uint8_t *name, size_t nlen,
				    const uint8_t *value, size_t vlen, struct signet_error *err)
{
	return signet_arc_header(ctx, name, nlen, value, vlen, err);
}

static enum signet_status on_eoh(void *ctx, struct signet_error *err)
{
	return signet_arc_end_of_headers(ctx, err);
}

static enum signet_status on_body(void *ctx, const uint8_t *p, size_t len, struct signet_error *err)
{
	return signet_arc_body(ctx, p, len, err);
}

/* Feeds the message and answers every key query from keys[]. */
static enum signet_status run(struct signet_arc *a, const char *msg, size_t len,
			      struct keyline *keys, size_t nkeys, struct signet_error *err)
{
	const struct signet_message_handler h = {on_header, on_eoh, on_body};
	struct signet_message *m = NULL;
	enum signet_status st = signet_message_new(&h, a, &m, err);
	if (st == SIGNET_OK)
		st = signet_message_feed(m, (const uint8_t *)msg, len, err);
	if (st == SIGNET_OK)
		st = signet_message_finish(m, err);
	signet_message_free(m);
	struct signet_query q;
	while (st == SIGNET_OK && signet_arc_next_query(a, &q)) {
		struct signet_txt txt[MAX_KEYS];
		size_t n = 0;
		for (size_t k = 0; k < nkeys; k++)
			if (strcasecmp(keys[k].name, q.name) == 0)
				txt[n++] = (struct signet_txt){(const uint8_t *)keys[k].value,
							       strlen(keys[k].value)};
		st = signet_arc_answer(a, q.id, n ? SIGNET_DNS_OK : SIGNET_DNS_NXDOMAIN, txt, n,
				       err);
	}
	return st == SIGNET_OK ? signet_arc_finish(a, err) : st;
}

static enum signet_status seal(struct signet_arc *a, char **argv, struct signet_error *err)
{
	size_t len = 0;
	char *pem = slurp(argv[4], &len);
	struct signet_key *key = NULL;
	if (pem == NULL) {
		fprintf(stderr, "cannot read %s\n", argv[4]);
		return SIGNET_ERR_INVAL;
	}
	enum signet_status st = signet_key_parse((const uint8_t *)pem, len, &key, err);
	free(pem);
	if (st != SIGNET_OK)
		return st;
	struct signet_arc_seal_params p = {
		.domain = argv[5],
		.selector = argv[6],
		.key = key,
		.timestamp = strtoull(argv[7], NULL, 10),
		.headers = argv[8],
		.authres = argv[9],
	};
	struct signet_arc_seal out;
	st = signet_arc_seal(a, &p, &out, err);
	signet_key_free(key);
	if (st == SIGNET_OK && out.aar == NULL)
		printf("nothing\n");
	else if (st == SIGNET_OK)
		printf("AAR:%s\nAMS:%s\nAS:%s\n", out.aar, out.ams, out.as);
	return st;
}

int main(int argc, char **argv)
{
	bool sign = argc == 10 && strcmp(argv[1], "sign") == 0;
	if (!sign && !(argc == 4 && strcmp(argv[1], "verify") == 0)) {
		fprintf(stderr,
			"usage: arc_suite_driver verify MSG KEYS | sign MSG KEYS PEM DOMAIN "
			"SELECTOR TIME HEADERS AUTHRES\n");
		return 64;
	}
	size_t mlen = 0, klen = 0;
	char *msg = slurp(argv[2], &mlen), *ktext = slurp(argv[3], &klen);
	struct keyline keys[MAX_KEYS];
	struct signet_error err = {0};
	struct signet_arc *a = NULL;
	enum signet_status st = SIGNET_ERR_INVAL;
	if (msg != NULL && ktext != NULL)
		st = signet_arc_new(NULL, &a, &err);
	if (st == SIGNET_OK)
		st = run(a, msg, mlen, keys, parse_keys(ktext, keys), &err);
	if (st == SIGNET_OK && !sign) {
		const struct signet_arc_result *r = signet_arc_result(a);
		printf("cv=%s oldest-pass=%u instances=%u reason=%s\n",
		       signet_result_name(r->result), r->oldest_pass, r->instances, r->reason);
	} else if (st == SIGNET_OK) {
		st = seal(a, argv, &err);
	}
	if (st != SIGNET_OK)
		fprintf(stderr, "error: %s: %s\n", signet_status_name(st), err.msg);
	signet_arc_free(a);
	free(msg);
	free(ktext);
	return st == SIGNET_OK ? 0 : 1;
}
