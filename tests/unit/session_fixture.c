/* session_fixture.c: the shared scaffolding of the session tests (see
 * session_fixture.h): a key file, a runtime, packets in, a connection,
 * the captured log. No checks of session.c itself. */
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

#include "config.h"
#include "diag.h"
#include "keystore.h"
#include "log.h"
#include "milter.h"
#include "session_fixture.h"

char g_dir[64];
struct signet_key *g_key;

int fixture_setup(const char *tmpl)
{
	struct signet_error err = {0};
	char pem[4096], path[128];
	size_t len;
	snprintf(g_dir, sizeof g_dir, "%s", tmpl);
	if (mkdtemp(g_dir) == NULL ||
	    signet_key_generate(SIGNET_KEY_ED25519, 0, &g_key, &err) != SIGNET_OK ||
	    signet_key_write_pem(g_key, pem, sizeof pem, &len, &err) != SIGNET_OK)
		return -1;
	snprintf(path, sizeof path, "%s/ed.key", g_dir);
	FILE *f = fopen(path, "w");
	if (f == NULL)
		return -1;
	fputs(pem, f);
	fclose(f);
	log_open(true, "mail", false);
	return chmod(path, 0600);
}

int fixture_teardown(void)
{
	char cmd[128];
	signet_key_free(g_key);
	snprintf(cmd, sizeof cmd, "rm -rf %s", g_dir);
	return system(cmd) == 0 ? 0 : -1;
}

struct runtime *fixture_runtime(const char *extra)
{
	char text[4096];
	int n = snprintf(text, sizeof text,
			 "authserv_id = \"" AUTHSERV "\";\n"
			 "local_addrs = [\"127.0.0.0/8\"];\n"
			 "dkim_signing { domain { example.com { selector = ed2024; path = "
			 "\"%s/ed.key\"; } } }\n%s",
			 g_dir, extra);
	assert_true(n > 0 && (size_t)n < sizeof text);
	return fixture_runtime_text(text);
}

struct runtime *fixture_runtime_text(const char *text)
{
	struct diags d;
	diags_init(&d);
	struct signetd_config *cfg = NULL;
	struct keystore *ks = NULL;
	if (config_parse("t.conf", (const uint8_t *)text, strlen(text), &cfg, &d) != SIGNET_OK ||
	    keystore_load(cfg, &ks, &d) != SIGNET_OK) {
		diags_print(&d, stderr, "  ");
		fail_msg("config or keys did not load");
	}
	diags_free(&d);
	struct runtime *rt = runtime_new(cfg, ks);
	assert_non_null(rt);
	return rt;
}

/* ---- packets in ---- */

void pk(struct signet_buf *in, uint8_t cmd, const void *data, size_t len)
{
	uint32_t n = (uint32_t)len + 1;
	uint8_t h[5] = {(uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n, cmd};
	assert_int_equal(buf_append(in, h, 5), SIGNET_OK);
	if (len)
		assert_int_equal(buf_append(in, data, len), SIGNET_OK);
}

void pk2(struct signet_buf *in, uint8_t cmd, const char *a, const char *b)
{
	uint8_t d[1024];
	size_t la = strlen(a), lb = strlen(b);
	assert_true(la + lb + 2 <= sizeof d);
	memcpy(d, a, la + 1);
	memcpy(d + la + 1, b, lb + 1);
	pk(in, cmd, d, la + lb + 2);
}

void pk_str(struct signet_buf *in, uint8_t cmd, const char *s)
{
	pk(in, cmd, s, strlen(s) + 1);
}

void pk_optneg(struct signet_buf *in)
{
	uint8_t o[12] = {0, 0, 0, 6, 0, 0, 0x01, 0xff, 0, 0x10, 0, 0};
	pk(in, SMFIC_OPTNEG, o, sizeof o);
}

void pk_connect_port(struct signet_buf *in, const char *addr, uint16_t port)
{
	uint8_t d[128];
	size_t n = 0, la = strlen(addr) + 1;
	assert_true(7 + 3 + la <= sizeof d);
	memcpy(d, "client\0", 7), n = 7;
	d[n++] = SMFIA_INET;
	d[n++] = (uint8_t)(port >> 8), d[n++] = (uint8_t)port;
	memcpy(d + n, addr, la), n += la;
	pk(in, SMFIC_CONNECT, d, n);
}

/* ---- one connection ---- */

void conn_start(struct conn *c, struct runtime *rt, const char *addr, uint16_t port)
{
	c->s = session_new(rt, "test");
	assert_non_null(c->s);
	runtime_unref(rt); /* the session holds its own reference */
	buf_init(&c->in, FIXTURE_IN_CAP);
	buf_init(&c->out, FIXTURE_OUT_CAP);
	if (addr == NULL)
		return; /* the caller starts before OPTNEG */
	pk2(&c->in, SMFIC_MACRO, "Cj", AUTHSERV);
	pk_optneg(&c->in);
	pk_connect_port(&c->in, addr, port);
	assert_int_equal(session_feed(c->s, c->in.data, c->in.len, &c->out), SESSION_OK);
	buf_reset(&c->in);
	buf_reset(&c->out);
}

void conn_close(struct conn *c)
{
	session_free(c->s);
	buf_free(&c->in);
	buf_free(&c->out);
}

/* ---- the log ---- */

static int g_saved_stderr = -1;

static void log_path(char *path, size_t cap)
{
	snprintf(path, cap, "%s/log", g_dir);
}

void fixture_log_start(void)
{
	char path[128];
	fflush(stderr);
	log_path(path, sizeof path);
	g_saved_stderr = dup(2);
	assert_non_null(freopen(path, "w", stderr));
}

void fixture_log_end(char *out, size_t cap)
{
	char path[128];
	fflush(stderr);
	assert_int_not_equal(dup2(g_saved_stderr, 2), -1);
	close(g_saved_stderr);
	log_path(path, sizeof path);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	size_t got = fread(out, 1, cap - 1, f);
	out[got] = '\0';
	fclose(f);
}

enum session_status conn_feed(struct conn *c)
{
	buf_reset(&c->out);
	enum session_status st = session_feed(c->s, c->in.data, c->in.len, &c->out);
	buf_reset(&c->in);
	return st;
}

size_t replies(const struct signet_buf *out, struct reply *r, size_t max)
{
	size_t n = 0;
	for (size_t off = 0; off < out->len; n++) {
		assert_true(out->len - off >= 5);
		const uint8_t *p = out->data + off;
		size_t len =
			((size_t)p[0] << 24 | (size_t)p[1] << 16 | (size_t)p[2] << 8 | p[3]) - 1;
		assert_true(out->len - off - 5 >= len);
		if (n < max) {
			memset(&r[n], 0, sizeof r[n]);
			r[n].cmd = p[4];
			const uint8_t *d = p + 5;
			if ((p[4] == SMFIR_INSHEADER || p[4] == SMFIR_CHGHEADER) && len >= 6) {
				r[n].index = (uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 |
					     (uint32_t)d[2] << 8 | d[3];
				snprintf(r[n].name, sizeof r[n].name, "%s", (const char *)d + 4);
				size_t nl = strlen(r[n].name) + 1;
				r[n].val = d + 4 + nl;
				r[n].vlen = len - 4 - nl - 1;
			} else if (p[4] == SMFIR_REPLYCODE) {
				snprintf(r[n].text, sizeof r[n].text, "%.*s", (int)len - 1,
					 (const char *)d);
			}
		}
		off += 5 + len;
	}
	return n;
}
