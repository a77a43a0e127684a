/* fuzz_arc.c: ARC (lib/arc_sig.c, lib/arc.c, RFC 8617). Input: [mode]
 * [chunk seed] then bytes.
 * mode % 4 == 0..2: one field value of kind AAR / AMS / AS through
 * arc_sig_parse; the parsed spans must stay inside the input and every
 * bound hold. mode % 4 == 3: a whole message through signet_arc (chunked),
 * every key query answered with the fixed RFC 8463 keys (a name other
 * than brisbane._domainkey.football.example.com gets the RSA one, the
 * suite's dummy key), then sealed with the ed25519 key; the result must be
 * well-formed, and a message we sealed with cv=none or pass must validate
 * as pass when run again (cv=fail: fail). Never verifies the input's own
 * signatures beyond that. */
#include <signet/arc.h>
#include <signet/message.h>

#include <strings.h>

#include "arc_sig.h"
#include "fuzz.h"

static const char ed_name[] = "brisbane._domainkey.football.example.com";
static const char ed_rec[] = "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
static const char ed_seed[] = "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=";
static const char rsa_rec[] =
	"v=DKIM1; k=rsa; "
	"p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qh"
	"dR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hst"
	"T5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB";

static void inside(struct signet_span s, const uint8_t *p, size_t n)
{
	FUZZ_CHECK(s.len == 0 || (s.p >= p && s.len <= n && (size_t)(s.p - p) <= n - s.len));
}

static void one_field(enum arc_kind kind, const uint8_t *data, size_t size)
{
	uint8_t *p = malloc(size ? size : 1);
	FUZZ_CHECK(p != NULL);
	if (size > 0)
		memcpy(p, data, size);
	static struct arc_sig s;
	struct signet_error err = {0};
	enum signet_status st = arc_sig_parse(kind, p, size, &s, &err);
	FUZZ_CHECK(err.msg[sizeof err.msg - 1] == '\0');
	if (st != SIGNET_OK) {
		FUZZ_CHECK(st == SIGNET_ERR_SYNTAX && err.msg[0] != '\0');
	} else {
		FUZZ_CHECK(s.instance >= 1 && s.instance <= SIGNET_ARC_MAX_INSTANCES);
		if (kind != ARC_AAR) {
			FUZZ_CHECK(s.alg == SIGNET_ALG_RSA_SHA256 ||
				   s.alg == SIGNET_ALG_ED25519_SHA256);
			FUZZ_CHECK(s.b_len > 0 && s.b_len <= sizeof s.b && s.bh_len <= sizeof s.bh);
			FUZZ_CHECK(s.nh <= SIGNET_MAX_H_NAMES);
			inside(s.d, p, size), inside(s.s, p, size), inside(s.b_raw, p, size);
			for (size_t k = 0; k < s.nh; k++)
				inside(s.hnames[k], p, size);
		}
	}
	free(p);
}

static enum signet_status on_header(void *ctx, const uint8_t *n, size_t nl, const uint8_t *v,
				    size_t vl, struct signet_error *e)
{
	return signet_arc_header(ctx, n, nl, v, vl, e);
}
static enum signet_status on_eoh(void *ctx, struct signet_error *e)
{
	return signet_arc_end_of_headers(ctx, e);
}
static enum signet_status on_body(void *ctx, const uint8_t *p, size_t l, struct signet_error *e)
{
	return signet_arc_body(ctx, p, l, e);
}

/* A finished run of msg; NULL when the splitter refused the input. */
static struct signet_arc *run(const uint8_t *msg, size_t len, struct fuzz_rng *rng)
{
	static const struct signet_message_handler h = {on_header, on_eoh, on_body};
	struct signet_arc *a = NULL;
	struct signet_message *m = NULL;
	struct signet_error err = {0};
	FUZZ_CHECK(signet_arc_new(NULL, &a, &err) == SIGNET_OK);
	FUZZ_CHECK(signet_message_new(&h, a, &m, &err) == SIGNET_OK);
	enum signet_status st = SIGNET_OK;
	for (size_t off = 0; st == SIGNET_OK && off < len;) {
		size_t n = fuzz_chunk(rng, len - off);
		st = signet_message_feed(m, msg + off, n, &err);
		off += n;
	}
	if (st == SIGNET_OK)
		st = signet_message_finish(m, &err);
	signet_message_free(m);
	if (st != SIGNET_OK) {
		/* Only the splitter's own limits may refuse a message. */
		FUZZ_CHECK(st == SIGNET_ERR_LIMIT || st == SIGNET_ERR_SYNTAX);
		signet_arc_free(a);
		return NULL;
	}
	struct signet_query q;
	while (signet_arc_next_query(a, &q)) {
		const char *rec = strcasecmp(q.name, ed_name) == 0 ? ed_rec : rsa_rec;
		struct signet_txt t = {(const uint8_t *)rec, strlen(rec)};
		FUZZ_CHECK(signet_arc_answer(a, q.id, SIGNET_DNS_OK, &t, 1, &err) == SIGNET_OK);
	}
	FUZZ_CHECK(signet_arc_finish(a, &err) == SIGNET_OK);
	const struct signet_arc_result *r = signet_arc_result(a);
	FUZZ_CHECK(r != NULL && r->reason[sizeof r->reason - 1] == '\0');
	FUZZ_CHECK(r->result == SIGNET_RESULT_NONE || r->result == SIGNET_RESULT_PASS ||
		   r->result == SIGNET_RESULT_FAIL);
	FUZZ_CHECK(r->instances <= SIGNET_ARC_MAX_INSTANCES && r->oldest_pass <= r->instances);
	FUZZ_CHECK(r->result != SIGNET_RESULT_PASS || r->instances >= 1);
	return a;
}

static void whole(const uint8_t *msg, size_t len, const uint8_t seed[2])
{
	struct fuzz_rng rng;
	fuzz_rng_init(&rng, seed, 2);
	struct signet_arc *a = run(msg, len, &rng);
	if (a == NULL)
		return;
	static struct signet_key *key;
	struct signet_error err = {0};
	if (key == NULL)
		FUZZ_CHECK(signet_key_parse((const uint8_t *)ed_seed, strlen(ed_seed), &key,
					    &err) == SIGNET_OK);
	struct signet_arc_seal_params p = {.domain = "football.example.com",
					   .selector = "brisbane",
					   .key = key,
					   .authres = "fuzz.example; arc=none",
					   .timestamp = 1528637909};
	struct signet_arc_seal s;
	enum signet_status st = signet_arc_seal(a, &p, &s, &err);
	FUZZ_CHECK(st == SIGNET_OK || st == SIGNET_ERR_LIMIT);
	/* A message starting with WSP would fold its first line into the AAR
	 * we put above it: no invariant to check there. */
	bool folds = len > 0 && (msg[0] == ' ' || msg[0] == '\t');
	if (st == SIGNET_OK && s.aar != NULL && !folds) {
		bool fail = strstr(s.as, "cv=fail") != NULL;
		struct fuzz_bytes b = {0};
		const char *parts[] = {"ARC-Seal:",
				       s.as,
				       "\r\nARC-Message-Signature:",
				       s.ams,
				       "\r\nARC-Authentication-Results:",
				       s.aar,
				       "\r\n"};
		for (size_t k = 0; k < sizeof parts / sizeof parts[0]; k++)
			fuzz_put(&b, parts[k], strlen(parts[k]));
		fuzz_put(&b, msg, len);
		struct signet_arc *again = run(b.p, b.len, &rng);
		FUZZ_CHECK(again != NULL);
		enum signet_result want = fail ? SIGNET_RESULT_FAIL : SIGNET_RESULT_PASS;
		if (signet_arc_result(again)->result != want) {
			fprintf(stderr, "resealed: %s\n", signet_arc_result(again)->reason);
			FUZZ_CHECK(signet_arc_result(again)->result == want);
		}
		signet_arc_free(again);
		free(b.p);
	} else if (st == SIGNET_OK && s.aar == NULL) {
		FUZZ_CHECK(s.ams == NULL && s.as == NULL);
	}
	signet_arc_free(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	if (data[0] % 4 == 3)
		whole(data + 2, size - 2, data);
	else
		one_field((enum arc_kind)(data[0] % 4), data + 2, size - 2);
	return 0;
}
