/* test_rotation.c: key rotation that waits for DNS (conf/rotation.c, issue
 * #17): the state machine with the clock injected, and the state file.
 * IDs: ROT-STEP-01..06 (transitions), ROT-FILE-01..03 (the file),
 * ROT-FLEET-02..04 (the same text kept in Redis, keys in Redis, selectors). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "rotation.h"

#define T0 1796600000u /* 2026-12-06 23:33:20 UTC */
#define TTL 300u

static const struct rotation_obs MATCH = {.kind = ROT_OBS_MATCH, .ttl = TTL};
static const struct rotation_obs ABSENT = {.kind = ROT_OBS_ABSENT};
static const struct rotation_obs TEMPFAIL = {.kind = ROT_OBS_TEMPFAIL};

/* example.com signing with s1, s2 made and pending. */
static void two(struct rotation *r)
{
	struct diags d;
	diags_init(&d);
	rotation_init(r);
	assert_true(rotation_adopt_active(r, "example.com", "s1", "/k/s1.key", T0 - 100, &d));
	assert_true(rotation_add_pending(r, "example.com", "s2", "/k/s2.key", T0, &d));
	assert_int_equal(d.nerrors, 0);
	diags_free(&d);
}

/* ROT-STEP-01: a matching record is waited for its TTL before the switch;
 * then the old active selector retires at the switch time. */
static void ROT_STEP_01_match_waits_ttl_then_switches(void **state)
{
	(void)state;
	struct rotation r;
	two(&r);
	assert_int_equal(rotation_observe(&r, 1, &MATCH, T0 + 10), ROT_EV_SEEN);
	assert_int_equal(r.v[1].state, ROT_PUBLISHED);
	assert_int_equal(r.v[1].wait_until, T0 + 10 + TTL);
	assert_string_equal(rotation_active(&r, "example.com")->selector, "s1");
	assert_int_equal(rotation_observe(&r, 1, &MATCH, T0 + 10 + TTL - 1), ROT_EV_NONE);
	assert_string_equal(rotation_active(&r, "EXAMPLE.com")->selector, "s1");
	assert_int_equal(rotation_observe(&r, 1, &MATCH, T0 + 10 + TTL), ROT_EV_SWITCHED);
	assert_string_equal(rotation_active(&r, "example.com")->selector, "s2");
	assert_int_equal(r.v[0].state, ROT_RETIRING);
	assert_int_equal(r.v[0].since, T0 + 10 + TTL);
	assert_int_equal(r.v[1].checked, T0 + 10 + TTL);
	rotation_free(&r);
}

/* ROT-STEP-02: a wrong record is a state with its problem; the same problem
 * again is no new event; the right record then starts the wait. */
static void ROT_STEP_02_wrong_record(void **state)
{
	(void)state;
	struct rotation r;
	two(&r);
	struct rotation_obs wrong = {.kind = ROT_OBS_WRONG, .problem = "p= is not this key\n"};
	assert_int_equal(rotation_observe(&r, 1, &wrong, T0 + 1), ROT_EV_WRONG);
	assert_int_equal(r.v[1].state, ROT_WRONG);
	assert_string_equal(r.v[1].note, "p= is not this key "); /* one line in the file */
	assert_int_equal(rotation_observe(&r, 1, &wrong, T0 + 2), ROT_EV_NONE);
	wrong.problem = "quotes inside the value";
	assert_int_equal(rotation_observe(&r, 1, &wrong, T0 + 3), ROT_EV_WRONG);
	assert_string_equal(r.v[1].note, "quotes inside the value");
	assert_int_equal(rotation_observe(&r, 1, &MATCH, T0 + 4), ROT_EV_SEEN);
	assert_string_equal(r.v[1].note, "");
	assert_string_equal(rotation_active(&r, "example.com")->selector, "s1");
	rotation_free(&r);
}

/* ROT-STEP-03: a record that goes away (or turns wrong) while waiting
 * restarts the wait; a temporary failure decides nothing. */
static void ROT_STEP_03_gone_and_tempfail(void **state)
{
	(void)state;
	struct rotation r;
	two(&r);
	assert_int_equal(rotation_observe(&r, 1, &MATCH, T0), ROT_EV_SEEN);
	assert_int_equal(rotation_observe(&r, 1, &TEMPFAIL, T0 + TTL), ROT_EV_NONE);
	assert_int_equal(r.v[1].state, ROT_PUBLISHED);
	assert_int_equal(rotation_observe(&r, 1, &ABSENT, T0 + TTL), ROT_EV_GONE);
	assert_int_equal(r.v[1].state, ROT_PENDING);
	assert_int_equal(rotation_observe(&r, 1, &ABSENT, T0 + TTL + 1), ROT_EV_NONE);
	assert_int_equal(rotation_observe(&r, 1, &MATCH, T0 + 2 * TTL), ROT_EV_SEEN);
	assert_int_equal(rotation_observe(&r, 1, &MATCH, T0 + 3 * TTL - 1), ROT_EV_NONE);
	assert_int_equal(rotation_observe(&r, 1, &MATCH, T0 + 3 * TTL), ROT_EV_SWITCHED);
	/* an active entry is not observed any more */
	assert_int_equal(rotation_observe(&r, 1, &ABSENT, T0 + 4 * TTL), ROT_EV_NONE);
	assert_int_equal(r.v[1].state, ROT_ACTIVE);
	rotation_free(&r);
}

/* ROT-STEP-04: TTL 0 switches at the first match; a huge TTL is waited at
 * most ROTATION_MAX_WAIT. */
static void ROT_STEP_04_ttl_bounds(void **state)
{
	(void)state;
	struct rotation r;
	two(&r);
	struct rotation_obs zero = {.kind = ROT_OBS_MATCH, .ttl = 0};
	assert_int_equal(rotation_observe(&r, 1, &zero, T0), ROT_EV_SWITCHED);
	rotation_free(&r);
	two(&r);
	struct rotation_obs huge = {.kind = ROT_OBS_MATCH, .ttl = UINT32_MAX};
	assert_int_equal(rotation_observe(&r, 1, &huge, T0), ROT_EV_SEEN);
	assert_int_equal(r.v[1].wait_until, T0 + ROTATION_MAX_WAIT);
	rotation_free(&r);
}

static void count_retired(const struct rotation_entry *e, void *arg)
{
	assert_string_equal(e->selector, "s1");
	(*(int *)arg)++;
}

/* ROT-STEP-05: retiring -> retired after retire_after, not a second before. */
static void ROT_STEP_05_retire_after(void **state)
{
	(void)state;
	struct rotation r;
	two(&r);
	struct rotation_obs zero = {.kind = ROT_OBS_MATCH, .ttl = 0};
	assert_int_equal(rotation_observe(&r, 1, &zero, T0), ROT_EV_SWITCHED);
	int calls = 0;
	uint64_t after = ROTATION_DEFAULT_RETIRE_AFTER;
	assert_int_equal(rotation_tick(&r, T0 + after - 1, after, count_retired, &calls), 0);
	assert_int_equal(rotation_tick(&r, T0 + after, after, count_retired, &calls), 1);
	assert_int_equal(calls, 1);
	assert_int_equal(r.v[0].state, ROT_RETIRED);
	assert_int_equal(rotation_tick(&r, T0 + 2 * after, after, count_retired, &calls), 0);
	/* a clock that went backwards retires nothing */
	rotation_free(&r);
	two(&r);
	assert_int_equal(rotation_observe(&r, 1, &zero, T0), ROT_EV_SWITCHED);
	assert_int_equal(rotation_tick(&r, T0 - 5, 0, NULL, NULL), 0);
	rotation_free(&r);
}

/* ROT-STEP-06: one rotation at a time per domain; names and paths checked. */
static void ROT_STEP_06_add_rules(void **state)
{
	(void)state;
	struct rotation r;
	struct diags d;
	two(&r);
	diags_init(&d);
	assert_false(rotation_add_pending(&r, "example.com", "s3", "/k/s3.key", T0, &d));
	assert_non_null(diags_find(&d, "already waits for selector s2 (pending)"));
	assert_false(rotation_add_pending(&r, "example.org", "s 1", "/k/x.key", T0, &d));
	assert_false(rotation_add_pending(&r, "example.org", "s1", "relative.key", T0, &d));
	assert_false(rotation_add_pending(&r, "example.org", "s1", "/k/with space.key", T0, &d));
	assert_true(rotation_add_pending(&r, "example.org", "s1", "/k/o.key", T0, &d));
	assert_false(rotation_add_pending(&r, "example.org", "s1", "/k/o2.key", T0, &d));
	/* adopting a domain already in rotation changes nothing */
	assert_true(rotation_adopt_active(&r, "example.com", "old", "/k/old.key", T0, &d));
	assert_int_equal(r.n, 3);
	diags_free(&d);
	rotation_free(&r);
}

/* ROT-FILE-01: save then load gives the same state; mode 0640; a missing
 * file is an empty state. */
static void ROT_FILE_01_roundtrip(void **state)
{
	(void)state;
	char dir[] = "/tmp/signet-rot-XXXXXX", path[64];
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/rotation.state", dir);
	struct rotation r, back;
	struct diags d;
	diags_init(&d);
	assert_true(rotation_load(path, &back, &d));
	assert_int_equal(back.n, 0);
	two(&r);
	struct rotation_obs wrong = {.kind = ROT_OBS_WRONG,
				     .problem = "key mismatch; see dnscheck"};
	assert_int_equal(rotation_observe(&r, 1, &wrong, T0 + 7), ROT_EV_WRONG);
	assert_true(rotation_save(path, &r, &d));
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640);
	assert_true(rotation_load(path, &back, &d));
	assert_int_equal(d.nerrors, 0);
	assert_int_equal(back.n, 2);
	for (size_t k = 0; k < 2; k++) {
		assert_string_equal(back.v[k].domain, r.v[k].domain);
		assert_string_equal(back.v[k].selector, r.v[k].selector);
		assert_int_equal(back.v[k].state, r.v[k].state);
		assert_int_equal(back.v[k].since, r.v[k].since);
		assert_int_equal(back.v[k].checked, r.v[k].checked);
		assert_string_equal(back.v[k].path, r.v[k].path);
		assert_string_equal(back.v[k].note, r.v[k].note);
	}
	rotation_free(&back);
	rotation_free(&r);
	diags_free(&d);
	unlink(path);
	rmdir(dir);
}

static void load_text(const char *text, const char *want)
{
	char path[] = "/tmp/signet-rot-file-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	struct rotation r;
	struct diags d;
	diags_init(&d);
	assert_false(rotation_load(path, &r, &d));
	if (diags_find(&d, want) == NULL)
		fail_msg("want an error with \"%s\"; got \"%s\"", want,
			 d.n ? d.v[0].msg : "(none)");
	assert_int_equal(r.n, 0);
	diags_free(&d);
	unlink(path);
}

/* ROT-FILE-02: each malformed entry is refused with file:line and why. */
static void ROT_FILE_02_malformed(void **state)
{
	(void)state;
	load_text("# c\nexample.com s1 active 1 0 0\n", ":2: fewer than 7 fields");
	load_text("exa mple.com\n", ":1: fewer than 7 fields");
	load_text("example..com s1 active 1 0 0 /k\n", ":1: the domain is not a domain name");
	load_text("example.com s1 sleeping 1 0 0 /k\n", ":1: unknown state");
	load_text("example.com s1 active -1 0 0 /k\n", ":1: a time is not a decimal");
	load_text("example.com s1 active 1 0 0 k\n", ":1: the key path is not an absolute path");
	load_text("example.com s1 active 1 0 0 /k\n\nexample.com s1 retiring 1 0 0 /k\n",
		  ":3: example.com/s1 is listed twice");
}

/* ROT-FILE-03: the file is bounded (ROTATION_MAX_FILE). */
static void ROT_FILE_03_bounded(void **state)
{
	(void)state;
	size_t n = ROTATION_MAX_FILE + 1;
	char *big = malloc(n + 1);
	assert_non_null(big);
	memset(big, '#', n);
	big[n] = '\0';
	load_text(big, "ROTATION_MAX_FILE");
	free(big);
}

static void assert_same(const struct rotation *a, const struct rotation *b)
{
	assert_int_equal(a->n, b->n);
	for (size_t k = 0; k < a->n; k++) {
		assert_string_equal(a->v[k].domain, b->v[k].domain);
		assert_string_equal(a->v[k].selector, b->v[k].selector);
		assert_int_equal(a->v[k].state, b->v[k].state);
		assert_int_equal(a->v[k].since, b->v[k].since);
		assert_int_equal(a->v[k].wait_until, b->v[k].wait_until);
		assert_int_equal(a->v[k].checked, b->v[k].checked);
		assert_string_equal(a->v[k].path, b->v[k].path);
		assert_string_equal(a->v[k].note, b->v[k].note);
	}
}

/* ROT-FLEET-02: rotation_format gives the state file's text (what
 * rotation_save writes), and rotation_parse reads it back to the same
 * state, keys in Redis ("redis:HASH") included. */
static void ROT_FLEET_02_text_roundtrip(void **state)
{
	(void)state;
	struct rotation r, back;
	struct diags d;
	diags_init(&d);
	rotation_init(&r);
	assert_true(rotation_adopt_active(&r, "example.com", "s1", "redis:dkim_keys", T0 - 9, &d));
	assert_true(rotation_add_pending(&r, "example.com", "s2", "redis:dkim_keys", T0, &d));
	assert_true(rotation_add_pending(&r, "example.org", "e1", "/k/e1.key", T0, &d));
	struct rotation_obs wrong = {.kind = ROT_OBS_WRONG, .problem = "p= is not this key"};
	assert_int_equal(rotation_observe(&r, 1, &wrong, T0 + 7), ROT_EV_WRONG);
	assert_int_equal(rotation_observe(&r, 2, &MATCH, T0 + 8), ROT_EV_SEEN);
	size_t len = 0;
	char *text = rotation_format(&r, &len, &d);
	assert_non_null(text);
	assert_int_equal(strlen(text), len);
	assert_non_null(strstr(text, "example.com s2 wrong 1796600007 0 1796600007 redis:dkim_keys "
				     "p= is not this key\n"));
	assert_true(rotation_parse(text, len, "redis", &back, &d));
	assert_int_equal(d.nerrors, 0);
	assert_same(&r, &back);
	assert_string_equal(rotation_key_hash(&back.v[0]), "dkim_keys");
	assert_null(rotation_key_hash(&back.v[2]));
	/* the file holds the same bytes */
	char path[] = "/tmp/signet-rot-fmt-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	assert_true(rotation_save(path, &r, &d));
	char file[4096];
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	size_t got = fread(file, 1, sizeof file, f);
	fclose(f);
	unlink(path);
	assert_int_equal(got, len);
	assert_memory_equal(file, text, len);
	free(text);
	rotation_free(&back);
	/* an empty text (a key never written) is no rotation */
	assert_true(rotation_parse("", 0, "redis", &back, &d));
	assert_int_equal(back.n, 0);
	rotation_free(&back);
	rotation_free(&r);
	diags_free(&d);
}

static void parse_err(const char *text, size_t len, const char *want)
{
	struct rotation r;
	struct diags d;
	diags_init(&d);
	assert_false(rotation_parse(text, len, "Redis 127.0.0.1:6379 key k", &r, &d));
	if (diags_find(&d, want) == NULL)
		fail_msg("want an error with \"%s\"; got \"%s\"", want,
			 d.n ? d.v[0].msg : "(none)");
	assert_int_equal(r.n, 0);
	assert_null(r.v);
	diags_free(&d);
}

/* ROT-FLEET-03: malformed text from Redis is refused with where and why:
 * a NUL byte, more than ROTATION_MAX_FILE, a key path that is neither
 * absolute nor redis:HASH, a truncated line; the limit itself is read. */
static void ROT_FLEET_03_text_malformed(void **state)
{
	(void)state;
	static const char nul[] = "example.com s1 active 1 0 0 /k\0x\n";
	parse_err(nul, sizeof nul - 1, "holds a NUL byte");
	static const char *no_hash = "example.com s1 active 1 0 0 redis:\n";
	parse_err(no_hash, strlen(no_hash),
		  "Redis 127.0.0.1:6379 key k:1: the key path is not an absolute path");
	static const char *cut = "# ok\nexample.com s1 active 1";
	parse_err(cut, strlen(cut), ":2: fewer than 7 fields");
	size_t n = ROTATION_MAX_FILE + 1;
	char *big = malloc(n);
	assert_non_null(big);
	memset(big, '#', n);
	parse_err(big, n, "longer than ROTATION_MAX_FILE");
	struct rotation r;
	struct diags d;
	diags_init(&d);
	assert_true(rotation_parse(big, n - 1, "k", &r, &d)); /* at the limit: comments */
	assert_int_equal(r.n, 0);
	rotation_free(&r);
	free(big);
	/* a state that would not fit is not written */
	rotation_init(&r);
	char p[ROTATION_PATH_MAX];
	memset(p, 'k', sizeof p - 1);
	p[0] = '/';
	p[sizeof p - 1] = '\0';
	for (unsigned k = 0; k < ROTATION_MAX_FILE / (ROTATION_PATH_MAX - 1) + 1; k++) {
		char dom[32];
		snprintf(dom, sizeof dom, "d%u.example", k);
		assert_true(rotation_add_pending(&r, dom, "s1", p, T0, &d));
	}
	size_t len = 0;
	assert_null(rotation_format(&r, &len, &d));
	assert_non_null(diags_find(&d, "longer than ROTATION_MAX_FILE"));
	rotation_free(&r);
	diags_free(&d);
}

static bool taken_upto(const char *sel, void *arg)
{
	const char *last = arg; /* names up to and including last are taken */
	return last != NULL && strcmp(sel, last) <= 0 && strlen(sel) >= strlen("ed20261206");
}

/* ROT-FLEET-04: the dated selector (one rule for both modes): type and
 * date, then a letter per further rotation that day, until z. */
static void ROT_FLEET_04_dated_selector(void **state)
{
	(void)state;
	char out[64];
	assert_true(rotation_dated_selector("ed25519", T0, taken_upto, NULL, out, sizeof out));
	assert_string_equal(out, "ed20261206");
	assert_true(rotation_dated_selector("rsa", T0, taken_upto, NULL, out, sizeof out));
	assert_string_equal(out, "rsa20261206");
	assert_true(
		rotation_dated_selector("ed25519", T0, taken_upto, "ed20261206", out, sizeof out));
	assert_string_equal(out, "ed20261206b");
	assert_true(
		rotation_dated_selector("ed25519", T0, taken_upto, "ed20261206y", out, sizeof out));
	assert_string_equal(out, "ed20261206z");
	assert_false(
		rotation_dated_selector("ed25519", T0, taken_upto, "ed20261206z", out, sizeof out));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ROT_STEP_01_match_waits_ttl_then_switches),
		cmocka_unit_test(ROT_STEP_02_wrong_record),
		cmocka_unit_test(ROT_STEP_03_gone_and_tempfail),
		cmocka_unit_test(ROT_STEP_04_ttl_bounds),
		cmocka_unit_test(ROT_STEP_05_retire_after),
		cmocka_unit_test(ROT_STEP_06_add_rules),
		cmocka_unit_test(ROT_FILE_01_roundtrip),
		cmocka_unit_test(ROT_FILE_02_malformed),
		cmocka_unit_test(ROT_FILE_03_bounded),
		cmocka_unit_test(ROT_FLEET_02_text_roundtrip),
		cmocka_unit_test(ROT_FLEET_03_text_malformed),
		cmocka_unit_test(ROT_FLEET_04_dated_selector),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
