/* session.c: one milter connection (session.h). Packets from the codec
 * drive one message at a time: headers are kept until end of headers, when
 * the policy decides between signing and verifying; the body streams into
 * libsignet; at end of message the replies (header edits, then the final
 * verdict) go out in one buffer. Key lookups start at end of headers, so
 * DNS overlaps the body (DESIGN.md). */
#include <arpa/inet.h>
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <signet/ar.h>
#include <signet/signer.h>
#include <signet/spf.h>
#include <signet/verifier.h>

#include "buf.h"
#include "clock.h"
#include "config.h"
#include "header_store.h"
#include "log.h"
#include "metrics.h"
#include "milter.h"
#include "policy.h"
#include "runtime.h"
#include "session.h"
#include "session_dmarc.h"
#include "session_report.h"
#include "session_arc.h"
#include "signkeys.h"

/* Input held while waiting: for DNS at EOM (the MTA sends nothing then), or
 * for Redis keys at EOH, when the MTA (NR_EOH, NR_BODY) streams the body:
 * server.c reads no more while the keys are fetched, so one read of its
 * (WORKER_READ_SIZE, 256 KB) must fit, with room for the packet it cut. */
#define SESSION_MAX_HELD (512 * 1024)
#define SESSION_MAX_LOOKUPS SIGNET_MAX_SIGNATURES
/* SPF (RFC 7208 4.6.4): the lookups one check may ask at most: its record,
 * 10 DNS-querying terms, each an mx or ptr with up to 10 names to resolve
 * (1 + 10 * 11), and an exp= TXT. The evaluator's own limits keep it there;
 * past it a question is answered as a temporary failure. Two checks per
 * message (MAIL FROM, HELO) beside the DKIM keys: lookup ids keep 8 bits
 * for the index (LOOKUP_INDEX), so this must stay below (256 - 16) / 2. */
#define SESSION_MAX_SPF_LOOKUPS 112
/* RFC 7208 4.6.4: a check may be given up after "at least 20 seconds";
 * looked at when an answer comes (each within dns.timeout). */
#define SESSION_SPF_MAX_MS 20000
enum spf_which { SPF_MAILFROM = 0, SPF_HELO, SPF_CHECKS };
/* Authentication-Results claiming our authserv-id removed per message
 * (AR-DEL-01). Every one is removed, also in a message over the header
 * limits (SIGNET_MAX_HEADER_FIELDS: those fields are counted, not kept);
 * past this many the message is refused (SESSION_TOO_MANY_OURS_AR), never
 * passed on with one left. A real message has none: a relay chain adds one
 * per hop and Postfix's hopcount_limit is 50. The bound keeps their indices
 * at 8 KiB per message. */
#define SESSION_MAX_OURS_AR 2048
#define SESSION_TOO_MANY_OURS_AR "550", "5.7.1", "Too many forged Authentication-Results fields"

enum msg_mode { MODE_NONE, MODE_SIGN, MODE_VERIFY, MODE_PASS };

struct lookup {
	unsigned query_id; /* the verifier's */
	char name[600];
	bool handed_out, answered, secure;
};

/* A lookup of one SPF check; name borrowed from the evaluator until answered. */
struct spf_lookup {
	unsigned query_id; /* the evaluator's */
	const char *name;
	enum signet_rrtype type;
	uint8_t which; /* enum spf_which */
	bool handed_out, answered;
};

/* One SPF check of the message (NULL e: not made). */
struct spf_check {
	struct signet_spf *e;
	unsigned asked;       /* lookups asked (SESSION_MAX_SPF_LOOKUPS) */
	const char *given_up; /* non-NULL: temperror for this reason */
	uint64_t t0_us;
	char *identity; /* owned: smtp.mailfrom (postmaster@HELO for <>) or smtp.helo */
};

/* The SPF checks of one message and their lookups: allocated only for a
 * message that is checked (about 6 KiB), so idle connections and mail
 * that is signed do not carry it. */
struct spf_state {
	struct spf_check chk[SPF_CHECKS];
	struct spf_lookup lookups[SPF_CHECKS * SESSION_MAX_SPF_LOOKUPS];
	size_t n;
};

static void spf_state_free(struct spf_state *st)
{
	if (st == NULL)
		return;
	for (size_t k = 0; k < SPF_CHECKS; k++) {
		signet_spf_free(st->chk[k].e);
		free(st->chk[k].identity);
	}
	free(st);
}

struct message {
	enum msg_mode mode;
	struct header_store hs;
	bool headers_over_limit;
	char sender[512];
	char auth[256];
	uint32_t ar_count;      /* Authentication-Results seen */
	uint32_t *ours;         /* owned: 1-based indices of ours (AR-DEL-01) */
	size_t nours, ours_cap; /* nours may pass SESSION_MAX_OURS_AR (counted, not kept) */
	bool ours_nomem;        /* an index could not be kept: refuse the message */
	char signed_as[512];    /* "d=... s=... a=..." per signature, from the decision */
	unsigned objects;       /* signers + verifiers made for it: at most 1 */
	struct signet_signer *signer;
	struct signet_verifier *verifier;
	struct lookup lookups[SESSION_MAX_LOOKUPS];
	size_t nlookups;
	struct spf_state *spf;   /* owned; NULL: no SPF check for this message */
	struct session_arc *arc; /* owned; NULL: no ARC for this message (session_arc.h) */
	bool waiting_eom;        /* EOM seen, lookups outstanding */
	/* dkim_signing.use_redis (keyfetch.h): the EOH reply waits for the keys */
	bool waiting_keys;                         /* EOH seen, keys asked of Redis */
	bool keys_asked;                           /* handed out by session_next_key_request */
	struct policy_decision *redis_sign;        /* owned: the decision the keys complete */
	struct signkeys *keys;                     /* a reference while the signer uses them */
	const char *selectors[SIGNET_MAX_SIGNERS]; /* session_next_key_request's view */
	char note[700];                            /* why not signed, or a failure */
	uint64_t t0_us; /* clock_us() at MAIL: the log line's "in N ms" */
	/* metrics (metrics.h) */
	enum policy_reason why;     /* MODE_VERIFY: why not signed */
	enum metrics_action action; /* set by finish_eom and below */
	enum metrics_alg algs[SIGNET_MAX_SIGNERS];
	size_t nalgs;
	uint64_t work_us;     /* time spent on it (not the MTA's) */
	uint64_t eom_wait_us; /* when EOM started waiting for key lookups */
	/* DMARC (issue #14) */
	struct session_dmarc *dmarc;     /* owned; NULL: no DMARC check (session_dmarc.h) */
	bool verifier_finished;          /* signet_verifier_finish done (before DMARC) */
	bool dmarc_counted, dmarc_acted; /* dmarc_result, dmarc_action to count */
	enum signet_dmarc_result dmarc_result;
	enum metrics_dmarc_action dmarc_action;
	char dmarc_arc_why[600]; /* "arc-override: sealed by a.example, b.example"; "" none */
	char rcpt_domain[256];   /* the first RCPT's domain (reports' envelope_to); "" none */
};

struct session {
	struct runtime *rt;
	char peer[64];
	struct milter_decoder dec;
	struct milter_macros macros;
	uint32_t protocol; /* negotiated SMFIP_* */
	uint32_t actions;  /* negotiated SMFIF_* */
	bool negotiated;
	char client_addr[64]; /* from CONNECT; "" for unix/unknown */
	char helo[256];       /* HELO/EHLO name (SPF, RFC 7208 2.3); "" none */
	bool non_smtp;        /* MILTER-PFX-01: Postfix's emulated CONNECT (port 0) */
	struct message msg;
	enum session_state state; /* step_rules */
	unsigned generation;      /* bumped per message: stale DNS answers are ignored */
	struct signet_buf held;   /* input received while waiting */
};

/* Lookup ids carry the message generation, so an answer that arrives after
 * an ABORT (or a failed message) cannot land on the next message's query.
 * 10 bits of index: DKIM keys, the SPF checks', then DMARC's. */
#define LOOKUP_GEN_MASK 0x3fffffu
#define LOOKUP_ID(gen, k) ((((gen)&LOOKUP_GEN_MASK) << 10) | (unsigned)(k))
#define LOOKUP_GEN(id) ((id) >> 10)
#define LOOKUP_INDEX(id) ((id)&0x3ffu)
#define ARC_LOOKUP_BASE (SESSION_MAX_LOOKUPS + SPF_CHECKS * SESSION_MAX_SPF_LOOKUPS)
#define DMARC_LOOKUP_BASE (ARC_LOOKUP_BASE + SESSION_ARC_MAX_LOOKUPS)

static void copy_span(char *dst, size_t cap, struct signet_span s)
{
	size_t n = s.len < cap - 1 ? s.len : cap - 1;
	memcpy(dst, s.p, n);
	dst[n] = '\0';
}

static void message_reset(struct session *s)
{
	struct message *m = &s->msg;
	s->generation = (s->generation + 1) & LOOKUP_GEN_MASK;
	header_store_free(&m->hs);
	signet_signer_free(m->signer);
	signet_verifier_free(m->verifier);
	spf_state_free(m->spf);
	session_dmarc_free(m->dmarc);
	session_arc_free(m->arc);
	free(m->ours);
	free(m->redis_sign);
	signkeys_unref(m->keys); /* after the signer that used them */
	memset(m, 0, sizeof *m);
	header_store_init(&m->hs);
	m->t0_us = clock_us();
}

struct session *session_new(struct runtime *rt, const char *peer)
{
	struct session *s = calloc(1, sizeof *s);
	if (s == NULL)
		return NULL;
	s->rt = runtime_ref(rt);
	snprintf(s->peer, sizeof s->peer, "%s", peer ? peer : "mta");
	milter_decoder_init(&s->dec, 0);
	/* BODY data goes from the caller's buffer to libsignet without a copy
	 * (feed_body hashes each fragment before session_feed returns). */
	milter_decoder_body_fragments(&s->dec, true);
	milter_macros_init(&s->macros);
	buf_init(&s->held, SESSION_MAX_HELD);
	header_store_init(&s->msg.hs);
	return s;
}

void session_free(struct session *s)
{
	if (s == NULL)
		return;
	message_reset(s);
	header_store_free(&s->msg.hs);
	milter_decoder_free(&s->dec);
	buf_free(&s->held);
	runtime_unref(s->rt);
	free(s);
}

/* Our authserv-id: the configured one, else the MTA's host name (macro j). */
static const char *authserv_id(const struct session *s)
{
	const char *j = milter_macros_get(&s->macros, "j");
	if (s->rt->cfg->authserv_id != NULL)
		return s->rt->cfg->authserv_id;
	return j != NULL && signet_ar_authserv_id_valid(j) ? j : "localhost";
}

static const char *queue_id(const struct session *s)
{
	const char *i = milter_macros_get(&s->macros, "i");
	return i && *i ? i : "NOQUEUE";
}

/* A reply to cmd, unless an NR_ flag says the MTA expects none (MILTER-CONV-04). */
static bool reply(struct session *s, uint8_t cmd, uint8_t what, struct signet_buf *out)
{
	if (!milter_reply_expected(s->protocol, cmd))
		return true;
	struct signet_error err = {0};
	if (milter_put_reply(out, what, &err) != SIGNET_OK) {
		log_msg(LOG_LVL_ERR, "%s: cannot encode a reply: %s", s->peer, err.msg);
		return false;
	}
	return true;
}

static bool on_optneg(struct session *s, const struct milter_command *c, struct signet_buf *out)
{
	struct milter_optneg ours;
	struct signet_error err = {0};
	/* MILTER-NEG-04: only the macros we read, per stage. */
	static const struct milter_symlist lists[] = {
		{SMFIM_CONNECT, "j {daemon_name}"},
		{SMFIM_ENVFROM, "i {auth_authen} {auth_type}"},
		{SMFIM_EOH, "i"},
		{SMFIM_EOM, "i"},
	};
	if (milter_negotiate(&c->u.optneg, true, &ours, &err) != SIGNET_OK) {
		log_msg(LOG_LVL_ERR, "%s: milter negotiation failed: %s", s->peer, err.msg);
		return false;
	}
	if (s->rt->cfg->spf_enabled) {
		/* SPF needs the HELO name (RFC 7208 2.3, 2.4: also for <>). */
		ours.protocol &= ~SMFIP_NOHELO;
		ours.protocol |= c->u.optneg.protocol & SMFIP_NR_HELO;
	}
	const struct config_dmarc *dm = &s->rt->cfg->dmarc;
	if (dm->enabled && dm->enforce && dm->quarantine == CONFIG_QUARANTINE_HOLD)
		ours.actions |= c->u.optneg.actions & SMFIF_QUARANTINE; /* the hold queue */
	/* ARC-SEAL-02: a seal depends on where the mail goes (RCPT); issue #15:
	 * a report observation names the envelope_to domain. */
	if ((s->rt->cfg->arc.enabled && s->rt->cfg->arc.seal != CONFIG_ARC_SEAL_NONE) ||
	    (dm->enabled && dm->reports_enabled)) {
		ours.protocol &= ~SMFIP_NORCPT;
		ours.protocol |= c->u.optneg.protocol & SMFIP_NR_RCPT;
	}
	bool symlist = (ours.actions & SMFIF_SETSYMLIST) != 0;
	if (milter_put_optneg(out, &ours, symlist ? lists : NULL,
			      symlist ? sizeof lists / sizeof lists[0] : 0, &err) != SIGNET_OK) {
		log_msg(LOG_LVL_ERR, "%s: cannot encode the negotiation reply: %s", s->peer,
			err.msg);
		return false;
	}
	s->protocol = ours.protocol;
	s->actions = ours.actions;
	s->negotiated = true;
	return true;
}

static void on_connect(struct session *s, const struct milter_command *c)
{
	const struct milter_connect *k = &c->u.connect;
	/* MILTER-PFX-01: for sendmail(1)/pickup mail Postfix's cleanup
	 * emulates a connection from localhost with port 0; a real SMTP client
	 * always has a port. Local sockets count as local too. */
	s->non_smtp = k->family == SMFIA_UNIX || k->family == SMFIA_UNKNOWN || k->port == 0;
	if (k->family == SMFIA_INET || k->family == SMFIA_INET6)
		copy_span(s->client_addr, sizeof s->client_addr, k->address);
	else
		s->client_addr[0] = '\0';
}

/* A HELO name longer than any domain name (RFC 5321 4.5.3.1.2: 255) is
 * not kept, rather than cut into another name: no HELO check then. */
static void on_helo(struct session *s, const struct milter_command *c)
{
	s->helo[0] = '\0';
	if (c->u.helo.len < sizeof s->helo)
		copy_span(s->helo, sizeof s->helo, c->u.helo);
	else
		log_msg(LOG_LVL_DEBUG, "%s: HELO name of %zu bytes not kept", s->peer,
			c->u.helo.len);
}

/* ---- SPF (RFC 7208) of mail not signed: started at MAIL, its lookups
 * overlap the rest of the message, its results due at EOM ---- */

/* The client address as the evaluator takes it; false when there is none
 * (unix socket) or it does not parse. Postfix writes IPv6 as "IPv6:...". */
static bool client_ip(const struct session *s, struct signet_spf_request *req)
{
	const char *a = s->client_addr;
	if (strncmp(a, "IPv6:", 5) == 0)
		a += 5;
	if (inet_pton(AF_INET, a, req->ip) == 1)
		return true;
	req->ipv6 = true;
	return inet_pton(AF_INET6, a, req->ip) == 1;
}

/* Authenticated and local mail (non-SMTP, local_addrs, sign_networks) is
 * ours to sign, not to check (DESIGN.md; issues #13, #14). */
static bool mail_from_outside(const struct session *s)
{
	const struct signetd_config *cfg = s->rt->cfg;
	return !s->non_smtp && s->msg.auth[0] == '\0' && s->client_addr[0] != '\0' &&
	       !cidr_list_match_str(&cfg->local_addrs, s->client_addr) &&
	       !cidr_list_match_str(&cfg->signing.sign_networks, s->client_addr);
}

static bool spf_wanted(const struct session *s)
{
	return s->rt->cfg->spf_enabled && mail_from_outside(s);
}

/* The MAIL FROM address without its <>, whole (a copy; NULL when out of
 * memory): message.sender keeps 511 bytes, and a cut address would be
 * checked for another domain. The packet bounds its length. */
static char *sender_address(struct signet_span raw)
{
	const char *p = (const char *)raw.p;
	size_t n = raw.len;
	if (n > 0 && p[n - 1] == '\0')
		n--;
	if (n >= 2 && p[0] == '<' && p[n - 1] == '>') {
		p++;
		n -= 2;
	}
	if (memchr(p, '\0', n) != NULL)
		n = strlen(p);
	char *out = malloc(n + 1);
	if (out != NULL) {
		memcpy(out, p, n);
		out[n] = '\0';
	}
	return out;
}

static char *join2(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	char *out = malloc(la + lb + 1);
	if (out != NULL) {
		memcpy(out, a, la);
		memcpy(out + la, b, lb + 1);
	}
	return out;
}

static void spf_start(struct session *s, enum spf_which which, const char *sender)
{
	struct message *m = &s->msg;
	struct signet_spf_request req = {
		.mail_from = sender,
		.helo = s->helo[0] ? s->helo : NULL,
		.identity = which == SPF_HELO ? SIGNET_SPF_HELO : SIGNET_SPF_MAILFROM,
		.receiver = authserv_id(s),
		.now = (uint64_t)time(NULL),
	};
	struct signet_error err = {0};
	struct spf_check *c = &m->spf->chk[which];
	if (!client_ip(s, &req))
		return;
	if (signet_spf_new(&req, &c->e, &err) != SIGNET_OK) {
		log_msg(LOG_LVL_WARN, "%s: SPF check not started: %s", queue_id(s), err.msg);
		c->e = NULL;
		return;
	}
	c->t0_us = clock_us();
	/* RFC 7208 2.4: a null sender is checked as postmaster@HELO. */
	c->identity = which == SPF_HELO   ? join2("", s->helo)
		      : sender[0] == '\0' ? join2("postmaster@", s->helo)
					  : join2("", sender);
	if (c->identity == NULL) {
		log_msg(LOG_LVL_WARN, "%s: SPF check not started: out of memory", queue_id(s));
		signet_spf_free(c->e);
		c->e = NULL;
	}
}

/* Takes the evaluators' new questions into spf->lookups (handed out by
 * session_next_lookup). A check that would pass SESSION_MAX_SPF_LOOKUPS is
 * given up (temperror); the evaluator's limits keep it below. */
static void spf_pull(struct session *s)
{
	struct spf_state *st = s->msg.spf;
	for (size_t w = 0; st != NULL && w < SPF_CHECKS; w++) {
		struct spf_check *c = &st->chk[w];
		struct signet_spf_query q;
		while (c->e != NULL && c->given_up == NULL && signet_spf_next_query(c->e, &q)) {
			if (c->asked == SESSION_MAX_SPF_LOOKUPS) {
				c->given_up = "over SESSION_MAX_SPF_LOOKUPS DNS lookups";
				break;
			}
			c->asked++;
			st->lookups[st->n++] = (struct spf_lookup){.query_id = q.id,
								   .name = q.name,
								   .type = q.type,
								   .which = (uint8_t)w};
		}
	}
}

static void spf_start_checks(struct session *s, struct signet_span mail_from)
{
	if (!spf_wanted(s))
		return;
	char *sender = sender_address(mail_from);
	s->msg.spf = sender ? calloc(1, sizeof *s->msg.spf) : NULL;
	if (s->msg.spf == NULL) {
		log_msg(LOG_LVL_WARN, "%s: SPF not checked: out of memory", s->peer);
		free(sender);
		return;
	}
	spf_start(s, SPF_MAILFROM, sender);
	/* RFC 7208 2.3: the HELO identity, when there is a name to check. */
	if (s->rt->cfg->spf_helo && s->helo[0] != '\0')
		spf_start(s, SPF_HELO, sender);
	free(sender); /* the evaluator keeps its own copy */
	spf_pull(s);
}

/* Signed or passed through: SPF results would go nowhere. Lookups in
 * flight become unwanted (session_lookup_wanted). */
static void spf_stop(struct message *m)
{
	spf_state_free(m->spf);
	m->spf = NULL;
}

static bool spf_check_done(const struct spf_check *c)
{
	return c->e == NULL || c->given_up != NULL || signet_spf_done(c->e);
}

/* Check w finished, or not made. */
static bool spf_done(const struct message *m, size_t w)
{
	return m->spf == NULL || spf_check_done(&m->spf->chk[w]);
}

/* Check w as Authentication-Results gets it; false when it was not made. */
static bool spf_ar_entry(const struct message *m, enum spf_which w, struct signet_ar_spf *out)
{
	if (m->spf == NULL || m->spf->chk[w].e == NULL)
		return false;
	const struct spf_check *c = &m->spf->chk[w];
	const struct signet_spf_outcome *o = c->given_up ? NULL : signet_spf_outcome(c->e);
	*out = (struct signet_ar_spf){
		.result = o ? o->result : SIGNET_SPF_TEMPERROR,
		.identity = w == SPF_HELO ? SIGNET_SPF_HELO : SIGNET_SPF_MAILFROM,
		.value = c->identity,
		.reason = o             ? o->reason
			  : c->given_up ? c->given_up
					: "no result at end of message",
	};
	return true;
}

/* The checks made, in order, into out[SPF_CHECKS]. */
static size_t spf_ar_entries(const struct message *m, struct signet_ar_spf *out)
{
	size_t n = 0;
	for (size_t w = 0; w < SPF_CHECKS; w++)
		n += spf_ar_entry(m, (enum spf_which)w, &out[n]);
	return n;
}

/* "; spf=pass smtp.mailfrom=a@b (why), spf=none smtp.helo=x" for the log. */
static void spf_describe(const struct message *m, char *line, size_t cap)
{
	struct signet_ar_spf e[SPF_CHECKS];
	size_t n = spf_ar_entries(m, e), len = 0;
	line[0] = '\0';
	for (size_t k = 0; k < n && len < cap; k++) {
		bool helo = e[k].identity == SIGNET_SPF_HELO;
		int w = snprintf(line + len, cap - len, "%sspf=%s smtp.%s=%s (%s)", k ? ", " : "; ",
				 signet_spf_result_name(e[k].result), helo ? "helo" : "mailfrom",
				 e[k].value, e[k].reason ? e[k].reason : "");
		if (w < 0)
			break;
		len += (size_t)w;
	}
}

/* ---- DMARC (issue #14; session_dmarc.h): made at MAIL for mail that is
 * checked, its lookups started at the first From header field, evaluated
 * once DKIM and SPF are in at end of message ---- */

static void dmarc_start(struct session *s)
{
	const struct signetd_config *cfg = s->rt->cfg;
	if (!cfg->dmarc.enabled || !mail_from_outside(s))
		return;
	s->msg.dmarc = session_dmarc_new(cfg->dmarc.discovery, cfg->psl);
	if (s->msg.dmarc == NULL)
		log_msg(LOG_LVL_WARN, "%s: DMARC not checked: out of memory", s->peer);
}

/* Signed or passed through: no DMARC (lookups in flight become unwanted). */
static void dmarc_stop(struct message *m)
{
	session_dmarc_free(m->dmarc);
	m->dmarc = NULL;
}

/* The SPF input of DMARC: the MAIL FROM check (postmaster@HELO for <>). */
static void dmarc_spf_input(const struct message *m, struct session_dmarc_inputs *in)
{
	struct signet_ar_spf e;
	in->spf_result = SIGNET_SPF_NONE;
	in->spf_domain = NULL;
	if (!spf_ar_entry(m, SPF_MAILFROM, &e))
		return;
	const char *at = strrchr(e.value, '@');
	in->spf_result = e.result;
	in->spf_domain = at != NULL && at[1] != '\0' ? at + 1 : NULL;
}

/* RFC 9989 7.1 local policy / RFC 8617 7.2: the ARC chain (its lookups
 * are done by now) passes and every sealer is trusted (dmarc.
 * trusted_arc_sealers): a failure is not enforced; the AR reason and the
 * log line name the sealers that vouched ("arc-override"). */
static bool dmarc_arc_override(struct session *s)
{
	struct message *m = &s->msg;
	session_arc_finish(m->arc);
	const struct signet_arc_result *r = session_arc_result(m->arc);
	char names[SIGNET_ARC_MAX_INSTANCES][254];
	const char *sealers[SIGNET_ARC_MAX_INSTANCES];
	size_t n = 0;
	for (unsigned i = 1; r != NULL && i <= r->instances && n < SIGNET_ARC_MAX_INSTANCES; i++) {
		bool known = session_arc_sealer(m->arc, i, names[n], sizeof names[n]);
		sealers[n] = known ? names[n] : NULL;
		n++;
	}
	const char *why = NULL;
	bool trusted = session_dmarc_arc_trusted(&s->rt->cfg->dmarc, r, sealers, n, &why);
	m->dmarc_arc_why[0] = '\0';
	if (trusted) {
		size_t len = (size_t)snprintf(m->dmarc_arc_why, sizeof m->dmarc_arc_why,
					      "arc-override: sealed by");
		for (size_t k = 0; k < n && len < sizeof m->dmarc_arc_why; k++)
			len += (size_t)snprintf(m->dmarc_arc_why + len,
						sizeof m->dmarc_arc_why - len, "%s %s",
						k ? "," : "", sealers[k]);
	}
	return trusted;
}

/* DKIM and SPF are done: the DKIM results are final and DMARC starts. */
static void dmarc_begin(struct session *s)
{
	struct message *m = &s->msg;
	struct signet_error err = {0};
	if (m->verifier != NULL && !m->verifier_finished) {
		m->verifier_finished = true;
		if (signet_verifier_finish(m->verifier, &err) != SIGNET_OK) {
			snprintf(m->note, sizeof m->note, "verification failed: %s", err.msg);
			signet_verifier_free(m->verifier);
			m->verifier = NULL;
		}
	}
	if (m->verifier == NULL) {
		dmarc_stop(m); /* no Authentication-Results to put it in */
		return;
	}
	struct signet_dmarc_dkim dk[SIGNET_DMARC_MAX_DKIM];
	struct session_dmarc_inputs in = {.dkim = dk};
	for (size_t k = 0; k < signet_verifier_count(m->verifier); k++) {
		const struct signet_sig_result *r = signet_verifier_result(m->verifier, k);
		if (r->result == SIGNET_RESULT_PASS && in.ndkim < SIGNET_DMARC_MAX_DKIM)
			dk[in.ndkim++] =
				(struct signet_dmarc_dkim){.domain = r->d, .selector = r->s};
	}
	dmarc_spf_input(m, &in);
	in.trusted_arc = dmarc_arc_override(s);
	session_dmarc_evaluate(m->dmarc, &in);
}

/* ARC (session_arc.h), made when first needed: at the first RCPT when
 * arc.seal needs the recipients, else at EOH for mail that is verified
 * (never per MAIL: an MTA may send many). A trusted client is one whose
 * Authentication-Results with our authserv-id we wrote at reception (a
 * local list or forwarder). */
static void arc_ensure(struct session *s)
{
	const struct signetd_config *cfg = s->rt->cfg;
	if (s->msg.arc != NULL || !cfg->arc.enabled)
		return;
	bool trusted = s->non_smtp || s->client_addr[0] == '\0' ||
		       cidr_list_match_str(&cfg->local_addrs, s->client_addr) ||
		       cidr_list_match_str(&cfg->signing.sign_networks, s->client_addr);
	s->msg.arc = session_arc_new(cfg, s->rt->keys, trusted, s->msg.auth[0] != '\0',
				     (const uint8_t *)s->msg.sender, strlen(s->msg.sender));
	if (s->msg.arc == NULL)
		log_msg(LOG_LVL_WARN, "%s: ARC not checked: out of memory", s->peer);
}

static void on_rcpt(struct session *s, const struct milter_command *c)
{
	struct message *m = &s->msg;
	if (m->rcpt_domain[0] == '\0') { /* RFC 9990 envelope_to: the first recipient's */
		struct signet_span a = c->u.env.addr;
		const uint8_t *at = a.len ? memrchr(a.p, '@', a.len) : NULL;
		if (at != NULL) {
			size_t n = a.len - (size_t)(at + 1 - a.p);
			while (n > 0 && (at[n] == '>' || at[n] == ' '))
				n--;
			struct signet_span d = {.p = at + 1, .len = n};
			copy_span(m->rcpt_domain, sizeof m->rcpt_domain, d);
		}
	}
	if (s->rt->cfg->arc.seal == CONFIG_ARC_SEAL_NONE)
		return;
	arc_ensure(s);
	session_arc_rcpt(s->msg.arc, c->u.env.addr.p, c->u.env.addr.len);
}

static void on_mail(struct session *s, const struct milter_command *c)
{
	message_reset(s);
	copy_span(s->msg.sender, sizeof s->msg.sender, c->u.env.addr);
	const char *auth = milter_macros_get(&s->macros, "auth_authen");
	snprintf(s->msg.auth, sizeof s->msg.auth, "%s", auth ? auth : "");
	spf_start_checks(s, c->u.env.addr);
	dmarc_start(s);
}

/* AR-DEL-01: remembers the index of an Authentication-Results claiming our
 * authserv-id. Past SESSION_MAX_OURS_AR they are only counted (finish_eom
 * refuses the message); the array grows by doubling up to that bound. */
static void note_ours(struct message *m, uint32_t index)
{
	if (m->nours < SESSION_MAX_OURS_AR && m->nours == m->ours_cap) {
		size_t cap = m->ours_cap ? 2 * m->ours_cap : 8;
		uint32_t *p = realloc(m->ours, cap * sizeof *p);
		if (p == NULL) {
			m->ours_nomem = true;
			m->nours++;
			return;
		}
		m->ours = p;
		m->ours_cap = cap;
	}
	if (m->nours < m->ours_cap)
		m->ours[m->nours] = index;
	m->nours++;
}

/* Keeps the field; notes Authentication-Results that claim our id. */
static void on_header(struct session *s, const struct milter_command *c)
{
	struct message *m = &s->msg;
	struct signet_span name = c->u.header.name, value = c->u.header.value;
	static const uint8_t empty[1] = {0};
	enum signet_status st;
	if (s->protocol & SMFIP_HDR_LEADSPC) {
		st = header_store_add(&m->hs, name.p, name.len, value.len ? value.p : empty,
				      value.len, NULL);
	} else {
		/* MILTER-NEG-03: without HDR_LEADSPC the MTA removed one SP after
		 * the colon; put it back (relaxed canonicalization cannot tell). */
		struct signet_buf v;
		buf_init(&v, SIGNET_MAX_HEADER_FIELD + 1);
		st = buf_append(&v, " ", 1);
		if (st == SIGNET_OK)
			st = buf_append(&v, value.p, value.len);
		if (st == SIGNET_OK)
			st = header_store_add(&m->hs, name.p, name.len, v.data, v.len, NULL);
		buf_free(&v);
	}
	if (st != SIGNET_OK)
		m->headers_over_limit = true;
	if (m->dmarc != NULL && span_eq_nocase(name, "From"))
		session_dmarc_from(m->dmarc, value.p, value.len); /* starts its lookups */
	if (span_eq_nocase(name, "Authentication-Results")) {
		m->ar_count++;
		if (signet_ar_is_ours(value.p, value.len, authserv_id(s)))
			note_ours(m, m->ar_count);
	}
}

/* Hands the kept fields to the signer or verifier. */
static enum signet_status replay_headers(struct session *s, bool to_signer,
					 struct signet_error *err)
{
	const struct header_store *hs = &s->msg.hs;
	for (size_t k = 0; k < hs->count; k++) {
		struct signet_span n = header_store_raw_name(hs, k), v = header_store_value(hs, k);
		enum signet_status st =
			to_signer ? signet_signer_header(s->msg.signer, n.p, n.len, v.p, v.len, err)
				  : signet_verifier_header(s->msg.verifier, n.p, n.len, v.p, v.len,
							   err);
		if (st != SIGNET_OK)
			return st;
	}
	return to_signer ? signet_signer_end_of_headers(s->msg.signer, err)
			 : signet_verifier_end_of_headers(s->msg.verifier, err);
}

/* "d=example.com s=sel a=rsa-sha256" for each signature, for the log line:
 * what the policy chose, so the signer's output is not parsed again. */
static void note_signature(struct message *m, size_t k, const char *domain, const char *selector,
			   bool ed25519)
{
	size_t len = strlen(m->signed_as);
	snprintf(m->signed_as + len, sizeof m->signed_as - len, "%sd=%s s=%s a=%s", k ? ", " : "",
		 domain, selector, ed25519 ? "ed25519-sha256" : "rsa-sha256");
}

static void start_signing(struct session *s, const struct policy_decision *d)
{
	struct message *m = &s->msg;
	struct signet_error err = {0};
	enum signet_status st = signet_signer_new(&m->signer, &err);
	if (st == SIGNET_OK)
		m->objects++;
	for (size_t k = 0; st == SIGNET_OK && k < d->nsigs; k++) {
		struct signet_sign_params p = {
			.domain = d->domain,
			.selector = d->sigs[k].selector,
			.key = d->sigs[k].key,
			.hdr_canon =
				SIGNET_CANON_RELAXED, /* MILTER-CONV-07: simple cannot be rebuilt */
			.body_canon = SIGNET_CANON_RELAXED,
			.headers = s->rt->cfg->signing.sign_headers,
			.timestamp = (uint64_t)time(NULL),
			.idn = s->rt->cfg->signing.idn_labels, /* DKIM-EAI-04 */
		};
		st = signet_signer_add(m->signer, &p, &err);
		if (st != SIGNET_OK)
			break;
		bool ed = signet_key_type(p.key) == SIGNET_KEY_ED25519;
		if (m->nalgs < SIGNET_MAX_SIGNERS)
			m->algs[m->nalgs++] = ed ? METRICS_ED25519_SHA256 : METRICS_RSA_SHA256;
		note_signature(m, k, d->domain, p.selector, ed);
	}
	if (st == SIGNET_OK)
		st = replay_headers(s, true, &err);
	if (st != SIGNET_OK) {
		snprintf(m->note, sizeof m->note, "signing failed: %s", err.msg);
		signet_signer_free(m->signer);
		m->signer = NULL;
	}
}

static void start_verifying(struct session *s)
{
	struct message *m = &s->msg;
	struct signet_error err = {0};
	/* verify.l_policy (RFC 6376 8.2): default, content after l= is policy. */
	struct signet_verify_options o = {.now = (uint64_t)time(NULL),
					  .l_policy = s->rt->cfg->l_policy,
					  .psl = s->rt->cfg->psl}; /* DKIM-VER-17 */
	enum signet_status st = signet_verifier_new(&o, &m->verifier, &err);
	if (st == SIGNET_OK) {
		m->objects++;
		st = replay_headers(s, false, &err);
	}
	if (st != SIGNET_OK) {
		snprintf(m->note, sizeof m->note, "verification failed: %s", err.msg);
		signet_verifier_free(m->verifier);
		m->verifier = NULL;
		return;
	}
	struct signet_query q;
	while (m->nlookups < SESSION_MAX_LOOKUPS && signet_verifier_next_query(m->verifier, &q)) {
		struct lookup *l = &m->lookups[m->nlookups++];
		l->query_id = q.id;
		snprintf(l->name, sizeof l->name, "%s", q.name);
	}
}

static void arc_stop(struct message *m)
{
	session_arc_free(m->arc);
	m->arc = NULL;
}

/* Mail we sign is ours: no SPF, DMARC or ARC verdict on it. */
static void sign_mode(struct message *m)
{
	m->mode = MODE_SIGN;
	spf_stop(m);
	dmarc_stop(m);
	arc_stop(m); /* ARC-SEAL-02: signed mail is ours, never sealed as a forward */
}

/* The chain is verified beside DKIM, from the same fields. */
static void arc_start(struct session *s)
{
	char why[300];
	if (s->msg.verifier != NULL)
		arc_ensure(s);
	if (s->msg.arc == NULL)
		return;
	if (s->msg.verifier == NULL ||
	    !session_arc_start(s->msg.arc, &s->msg.hs, authserv_id(s), why, sizeof why)) {
		if (s->msg.verifier != NULL)
			log_msg(LOG_LVL_WARN, "%s: %s", queue_id(s), why);
		arc_stop(&s->msg);
	}
}

/* End of headers: sign or verify (DESIGN.md "Who is signed"). */
static void on_eoh(struct session *s)
{
	struct message *m = &s->msg;
	if (m->headers_over_limit) {
		/* MILTER-ERR-04: accept as is and say why. */
		m->mode = MODE_PASS;
		snprintf(m->note, sizeof m->note, "not processed: %s",
			 m->hs.over_limit_reason[0] ? m->hs.over_limit_reason : "header limit");
		spf_stop(m);
		dmarc_stop(m);
		arc_stop(m);
		return;
	}
	const char *froms[8];
	size_t from_len[8], nfrom = 0;
	for (size_t k = 0; k < m->hs.count; k++) {
		if (!span_eq_nocase(header_store_name(&m->hs, k), "from"))
			continue;
		struct signet_span v = header_store_value(&m->hs, k);
		if (nfrom < 8) {
			froms[nfrom] = (const char *)v.p;
			from_len[nfrom] = v.len;
		}
		nfrom++; /* policy counts them all; it reads the first */
	}
	struct policy_facts f = {
		.non_smtp = s->non_smtp,
		.client_addr = s->client_addr[0] ? s->client_addr : NULL,
		.auth_user = m->auth[0] ? m->auth : NULL,
		.env_from = m->sender,
		.from = froms,
		.from_len = from_len,
		.n_from = nfrom,
	};
	struct policy_decision d;
	uint64_t t = clock_us();
	if (policy_decide(s->rt->cfg, s->rt->keys, &f, &d) != SIGNET_OK) {
		d.sign = false;
		d.code = POLICY_OTHER;
		snprintf(d.reason, sizeof d.reason, "no signing decision possible");
	}
	if (d.sign && d.from_redis) {
		/* FLEET-KEYS-02: the keys come from Redis; the EOH reply (and with
		 * it the body) waits for them (session_key_answer) */
		if ((m->redis_sign = malloc(sizeof d)) != NULL) {
			*m->redis_sign = d;
			m->waiting_keys = true;
		} else {
			snprintf(m->note, sizeof m->note, "signing failed: out of memory");
			sign_mode(m);
		}
	} else if (d.sign) {
		sign_mode(m);
		start_signing(s, &d);
	} else {
		m->mode = MODE_VERIFY;
		m->why = d.code;
		snprintf(m->note, sizeof m->note, "not signed: %s", d.reason);
		start_verifying(s);
		arc_start(s);
	}
	m->work_us += clock_us() - t;
}

static void feed_body(struct session *s, struct signet_span body)
{
	struct message *m = &s->msg;
	struct signet_error err = {0};
	if (body.len == 0)
		return;
	uint64_t t = clock_us();
	if (m->signer && signet_signer_body(m->signer, body.p, body.len, &err) != SIGNET_OK) {
		snprintf(m->note, sizeof m->note, "signing failed: %s", err.msg);
		signet_signer_free(m->signer);
		m->signer = NULL;
	}
	char why[300];
	if (m->arc && !session_arc_body(m->arc, body.p, body.len, why, sizeof why))
		log_msg(LOG_LVL_WARN, "%s: %s", queue_id(s), why);
	if (m->verifier && signet_verifier_body(m->verifier, body.p, body.len, &err) != SIGNET_OK) {
		snprintf(m->note, sizeof m->note, "verification failed: %s", err.msg);
		signet_verifier_free(m->verifier);
		m->verifier = NULL;
	}
	m->work_us += clock_us() - t;
}

/* Appends a header edit in wire form (MILTER-PFX-07, MILTER-NEG-03). */
static bool put_header(struct session *s, bool insert, uint32_t idx, const char *name,
		       const char *value, struct signet_buf *out)
{
	struct signet_buf wire;
	struct signet_error err = {0};
	buf_init(&wire, 65536);
	bool lead = (s->protocol & SMFIP_HDR_LEADSPC) != 0;
	enum signet_status st = SIGNET_OK;
	if (value[0] != '\0')
		st = milter_header_value_wire((const uint8_t *)value, strlen(value), lead, &wire,
					      &err);
	if (st == SIGNET_OK)
		st = insert ? milter_put_insheader(out, idx, name, wire.data, wire.len, &err)
			    : milter_put_chgheader(out, idx, name, wire.data, wire.len, &err);
	buf_free(&wire);
	if (st != SIGNET_OK)
		log_msg(LOG_LVL_ERR, "%s: %s: cannot encode %s: %s", s->peer, queue_id(s), name,
			err.msg);
	return st == SIGNET_OK;
}

/* AR-DEL-01, AR-DEL-05, MILTER-EOM-02: forged ones out, highest index first
 * (all of them: finish_eom refused the message if any was not kept). */
static bool remove_forged_ar(struct session *s, struct signet_buf *out)
{
	assert(s->msg.nours <= SESSION_MAX_OURS_AR && !s->msg.ours_nomem);
	for (size_t k = s->msg.nours; k-- > 0;)
		if (!put_header(s, false, s->msg.ours[k], "Authentication-Results", "", out))
			return false;
	return true;
}

static bool finish_sign(struct session *s, struct signet_buf *out)
{
	struct message *m = &s->msg;
	struct signet_error err = {0};
	if (m->signer && signet_signer_finish(m->signer, &err) != SIGNET_OK) {
		snprintf(m->note, sizeof m->note, "signing failed: %s", err.msg);
		signet_signer_free(m->signer);
		m->signer = NULL;
	}
	if (m->signer == NULL) {
		/* MILTER-ERR-01: never let mail out unsigned silently (on_error.sign). */
		bool tempfail = s->rt->cfg->on_error_sign == CONFIG_TEMPFAIL;
		m->action = tempfail ? METRICS_DEFERRED : METRICS_PASSED;
		log_msg(LOG_LVL_ERR, "%s: %s; %s", queue_id(s), m->note,
			tempfail ? "message deferred (on_error.sign = tempfail)"
				 : "message accepted unsigned (on_error.sign = accept)");
		if (tempfail)
			return milter_put_replycode(out, "451", "4.7.0",
						    "DKIM signing failed, try again later",
						    &err) == SIGNET_OK;
		/* AR-DEL-01: let through unsigned, but never with a forged field. */
		return remove_forged_ar(s, out) && reply(s, SMFIC_BODYEOB, SMFIR_CONTINUE, out);
	}
	if (!remove_forged_ar(s, out))
		return false;
	/* MILTER-EOM-01, DKIM-SIGN-06: at the very top; the first key ends up first. */
	for (size_t k = signet_signer_count(m->signer); k-- > 0;)
		if (!put_header(s, true, 0, "DKIM-Signature", signet_signer_signature(m->signer, k),
				out))
			return false;
	m->action = METRICS_SIGNED;
	log_msg(LOG_LVL_INFO, "%s: signed (%s) in %u ms", queue_id(s), m->signed_as,
		clock_ms_since(m->t0_us));
	return reply(s, SMFIC_BODYEOB, SMFIR_CONTINUE, out);
}

static void describe_results(const struct session *s, char *line, size_t cap)
{
	const struct signet_verifier *v = s->msg.verifier;
	size_t n = signet_verifier_count(v);
	snprintf(line, cap, "%s", n ? "" : "dkim=none");
	for (size_t k = 0; k < n; k++) {
		const struct signet_sig_result *r = signet_verifier_result(v, k);
		size_t len = strlen(line);
		bool secure = false;
		for (size_t j = 0; j < s->msg.nlookups; j++)
			if (s->msg.lookups[j].secure &&
			    strstr(s->msg.lookups[j].name, r->d) != NULL)
				secure = true;
		int n = snprintf(line + len, cap - len, "%sdkim=%s d=%s s=%s a=%s%s%s%s%s",
				 k ? ", " : "", signet_result_name(r->result), r->d[0] ? r->d : "-",
				 r->s[0] ? r->s : "-", r->a[0] ? r->a : "-",
				 secure ? " (dnssec)" : "", r->reason[0] ? " (" : "", r->reason,
				 r->reason[0] ? ")" : "");
		if (n < 0 || (size_t)n >= cap - len) {
			/* tag values are whole and may be long: a log line that does
			 * not fit says so instead of ending mid-value */
			memcpy(line + cap - 4, "...", 4);
			return;
		}
	}
}

/* DKIM-VER-16 (RFC 6376 6.3): what verify.on_temperror and verify.on_fail
 * make of the results. One passing signature is enough to accept. A
 * temporary key lookup failure may defer the message (a retry may pass), and
 * then a failed signature beside it must not reject it; a signature that does
 * not verify may reject, never defer. permerror, policy and neutral only go
 * into Authentication-Results: DMARC, not DKIM alone, judges those. */
static enum metrics_action verify_verdict(const struct signetd_config *cfg,
					  const struct signet_sig_result *const *res, size_t n)
{
	bool temp = false, fail = false;
	for (size_t k = 0; k < n; k++) {
		if (res[k]->result == SIGNET_RESULT_PASS)
			return METRICS_VERIFIED;
		temp |= res[k]->result == SIGNET_RESULT_TEMPERROR;
		fail |= res[k]->result == SIGNET_RESULT_FAIL;
	}
	if (temp)
		return cfg->verify_on_temperror == CONFIG_TEMPFAIL ? METRICS_DEFERRED
								   : METRICS_VERIFIED;
	if (fail && cfg->verify_on_fail == CONFIG_REJECT)
		return METRICS_REJECTED;
	return METRICS_VERIFIED;
}

/* The 4xx/5xx of verify_verdict, logged with the results. */
static bool refuse_verified(struct session *s, enum metrics_action verdict, struct signet_buf *out)
{
	struct message *m = &s->msg;
	struct signet_error err = {0};
	char line[1024], spf_line[1024], arc_line[600]; /* the one log line: spf=, arc= */
	describe_results(s, line, sizeof line);
	spf_describe(m, spf_line, sizeof spf_line);
	session_arc_finish(m->arc);
	session_arc_describe(m->arc, arc_line, sizeof arc_line);
	m->action = verdict;
	bool defer = verdict == METRICS_DEFERRED;
	log_msg(LOG_LVL_INFO, "%s: %s; verified: %s%s%s; %s in %u ms", queue_id(s), m->note, line,
		spf_line, arc_line,
		defer ? "message deferred (verify.on_temperror = tempfail)"
		      : "message rejected (verify.on_fail = reject)",
		clock_ms_since(m->t0_us));
	/* RFC 3463 X.4.3: a directory (DNS) server failure; RFC 7372 3.1:
	 * X.7.20 "No passing DKIM signature found". */
	enum signet_status st =
		defer ? milter_put_replycode(out, "451", "4.4.3",
					     "DKIM key lookup failed, try again later", &err)
		      : milter_put_replycode(out, "550", "5.7.20",
					     "No passing DKIM signature found", &err);
	if (st != SIGNET_OK)
		log_msg(LOG_LVL_ERR, "%s: cannot encode a reply: %s", queue_id(s), err.msg);
	return st == SIGNET_OK;
}

/* The metrics of DMARC (count_message counts them). */
static void dmarc_note(struct message *m, const struct signet_dmarc_outcome *o,
		       enum session_dmarc_action a)
{
	if (o == NULL)
		return;
	m->dmarc_counted = true;
	m->dmarc_result = o->result;
	m->dmarc_acted = session_dmarc_metric(a, &m->dmarc_action);
}

/* Disposition quarantine with dmarc.quarantine = "hold": Postfix puts the
 * message in its hold queue (SMFIR_QUARANTINE, negotiated in on_optneg). */
static bool dmarc_hold(struct session *s, const struct signet_dmarc_outcome *o,
		       struct signet_buf *out)
{
	char why[512];
	struct signet_error err = {0};
	snprintf(why, sizeof why, "DMARC policy of %s: quarantine",
		 o->policy_domain ? o->policy_domain : "?");
	if (milter_put_quarantine(out, why, &err) != SIGNET_OK) {
		log_msg(LOG_LVL_ERR, "%s: cannot encode a quarantine: %s", queue_id(s), err.msg);
		return false;
	}
	return true;
}

/* DMARC's 550 5.7.1 (disposition reject, dmarc.enforce) or 451 4.4.3
 * (temperror, dmarc.on_temperror = tempfail), logged with the results. */
static bool refuse_dmarc(struct session *s, const struct signet_dmarc_outcome *o,
			 const struct session_dmarc_verdict *v, struct signet_buf *out)
{
	struct message *m = &s->msg;
	struct signet_error err = {0};
	char line[1024], spf_line[1024], arc_line[600], dm_line[1024], text[512];
	bool reject = v->action == SESSION_DMARC_REJECT;
	describe_results(s, line, sizeof line);
	spf_describe(m, spf_line, sizeof spf_line);
	session_arc_describe(m->arc, arc_line, sizeof arc_line);
	session_dmarc_log_line(m->dmarc, v, dm_line, sizeof dm_line);
	m->action = reject ? METRICS_REJECTED : METRICS_DEFERRED;
	log_msg(LOG_LVL_INFO, "%s: %s; verified: %s%s%s%s; message %s in %u ms", queue_id(s),
		m->note, line, spf_line, arc_line, dm_line,
		reject ? "rejected (DMARC)" : "deferred (DMARC temperror)",
		clock_ms_since(m->t0_us));
	if (reject)
		session_dmarc_reject_text(o, text, sizeof text);
	else
		session_dmarc_tempfail_text(o, text, sizeof text);
	if (milter_put_replycode(out, reject ? "550" : "451", reject ? "5.7.1" : "4.4.3", text,
				 &err) != SIGNET_OK) {
		log_msg(LOG_LVL_ERR, "%s: cannot encode a reply: %s", queue_id(s), err.msg);
		return false;
	}
	return true;
}

/* ARC-AR-01: smtp.remote-ip, the SMTP client (none for local submission). */
static const char *remote_ip(const struct session *s)
{
	const char *a = s->client_addr;
	if (s->non_smtp || a[0] == '\0')
		return NULL;
	return strncmp(a, "IPv6:", 5) == 0 ? a + 5 : a;
}

/* ARC-SEAL-02: the three fields above our Authentication-Results (each
 * inserted at 0: ARC-Seal ends up first), when arc.seal asks for them. */
static bool arc_seal(struct session *s, const char *ar, struct signet_buf *out)
{
	const char *as, *ams, *aar;
	if (!session_arc_seal(s->msg.arc, ar, &as, &ams, &aar))
		return true;
	return put_header(s, true, 0, "ARC-Authentication-Results", aar, out) &&
	       put_header(s, true, 0, "ARC-Message-Signature", ams, out) &&
	       put_header(s, true, 0, "ARC-Seal", as, out);
}

/* Issue #15: the message's DMARC outcome for the aggregate reports (also a
 * rejected one: its disposition is what the report tells the owner). The
 * writer copies and queues it; nothing here waits. */
static void dmarc_record(struct session *s, const struct signet_dmarc_outcome *dmo,
			 const struct signet_sig_result *const *res, size_t n)
{
	struct message *m = &s->msg;
	if (s->rt->reports == NULL || dmo == NULL)
		return;
	struct signet_ar_spf spf;
	struct session_report_facts f = {
		.dmarc = dmo,
		.mode = s->rt->cfg->dmarc.discovery,
		.source_ip = remote_ip(s),
		.mail_from = m->sender,
		.rcpt_domain = m->rcpt_domain[0] ? m->rcpt_domain : NULL,
		.helo = s->helo,
		.dkim = res,
		.ndkim = n,
		.spf = spf_ar_entry(m, SPF_MAILFROM, &spf) ? &spf : NULL,
		.override_comment = m->dmarc_arc_why[0] ? m->dmarc_arc_why : NULL,
		.now = (long long)time(NULL),
	};
	(void)session_report_submit(s->rt->reports, &f);
}

static bool finish_verify(struct session *s, struct signet_buf *out)
{
	struct message *m = &s->msg;
	struct signet_error err = {0};
	if (m->verifier && !m->verifier_finished &&
	    signet_verifier_finish(m->verifier, &err) != SIGNET_OK) {
		snprintf(m->note, sizeof m->note, "verification failed: %s", err.msg);
		signet_verifier_free(m->verifier);
		m->verifier = NULL;
	}
	if (!remove_forged_ar(s, out))
		return false;
	if (m->verifier == NULL) {
		bool tempfail = s->rt->cfg->on_error_verify == CONFIG_TEMPFAIL;
		m->action = tempfail ? METRICS_DEFERRED : METRICS_PASSED;
		log_msg(LOG_LVL_ERR, "%s: %s; %s", queue_id(s), m->note,
			tempfail ? "message deferred (on_error.verify = tempfail)"
				 : "message accepted without Authentication-Results");
		if (tempfail)
			return milter_put_replycode(out, "451", "4.7.0",
						    "DKIM verification failed, try again later",
						    &err) == SIGNET_OK;
		return reply(s, SMFIC_BODYEOB, SMFIR_CONTINUE, out);
	}
	const char *id = authserv_id(s);
	size_t n = signet_verifier_count(m->verifier);
	const struct signet_sig_result *res[SIGNET_MAX_SIGNATURES];
	for (size_t k = 0; k < n; k++)
		res[k] = signet_verifier_result(m->verifier, k);
	enum metrics_action verdict = verify_verdict(s->rt->cfg, res, n);
	if (verdict != METRICS_VERIFIED)
		return refuse_verified(s, verdict, out);
	const struct signet_dmarc_outcome *dmo = m->dmarc ? session_dmarc_outcome(m->dmarc) : NULL;
	struct session_dmarc_verdict dv =
		session_dmarc_decide(&s->rt->cfg->dmarc, dmo, !mail_from_outside(s),
				     (s->actions & SMFIF_QUARANTINE) != 0);
	dmarc_note(m, dmo, dv.action);
	dmarc_record(s, dmo, res, n);
	if (dv.action == SESSION_DMARC_REJECT || dv.action == SESSION_DMARC_TEMPFAIL)
		return refuse_dmarc(s, dmo, &dv, out);
	char ar[8192];
	size_t arlen;
	struct signet_ar_spf spf[SPF_CHECKS];
	session_arc_finish(m->arc);
	struct signet_ar_dmarc ar_dmarc = {.outcome = dmo, .reason = m->dmarc_arc_why};
	struct signet_ar_results all = {.dkim = res,
					.ndkim = n,
					.spf = spf,
					.nspf = spf_ar_entries(m, spf),
					.arc = session_arc_ar_entry(m->arc, remote_ip(s)),
					.dmarc = dmo ? &ar_dmarc : NULL};
	if (signet_ar_format_results(id, &all, ar, sizeof ar, &arlen, &err) != SIGNET_OK) {
		log_msg(LOG_LVL_ERR, "%s: cannot format Authentication-Results: %s", queue_id(s),
			err.msg);
		return reply(s, SMFIC_BODYEOB, SMFIR_CONTINUE, out);
	}
	/* AR-POS-01: on top, above the MTA's own Received. */
	if (!put_header(s, true, 0, "Authentication-Results", ar, out) || !arc_seal(s, ar, out))
		return false;
	if (dv.action == SESSION_DMARC_HOLD && !dmarc_hold(s, dmo, out))
		return false;
	m->action = METRICS_VERIFIED;
	char line[1024], spf_line[1024], arc_line[600], dm_line[1024]; /* spf=, arc=, dmarc= */
	describe_results(s, line, sizeof line);
	spf_describe(m, spf_line, sizeof spf_line);
	session_arc_describe(m->arc, arc_line, sizeof arc_line);
	session_dmarc_log_line(m->dmarc, &dv, dm_line, sizeof dm_line);
	log_msg(LOG_LVL_INFO, "%s: %s; verified: %s%s%s%s%s in %u ms", queue_id(s), m->note, line,
		spf_line, arc_line, dm_line,
		m->nours ? "; removed a forged Authentication-Results" : "",
		clock_ms_since(m->t0_us));
	return reply(s, SMFIC_BODYEOB, SMFIR_CONTINUE, out);
}

/* The message's counters and time (metrics.h): relaxed atomics only. */
static void count_message(const struct message *m)
{
	struct metrics *mx = metrics_process();
	metrics_message(mx, m->action);
	if (m->dmarc_counted)
		metrics_dmarc_result(mx, m->dmarc_result);
	if (m->dmarc_acted)
		metrics_dmarc_action(mx, m->dmarc_action);
	if (m->mode == MODE_VERIFY)
		metrics_not_signed(mx, m->why);
	if (m->action == METRICS_SIGNED) {
		for (size_t k = 0; k < m->nalgs; k++)
			metrics_signature(mx, m->algs[k]);
		metrics_observe(mx, METRICS_SIGN_SECONDS, m->work_us);
	} else if (m->mode == MODE_VERIFY && m->verifier != NULL) {
		/* verified, or refused by verify.on_fail / on_temperror */
		size_t n = signet_verifier_count(m->verifier);
		for (size_t k = 0; k < n; k++)
			metrics_verify_result(mx, signet_verifier_result(m->verifier, k)->result);
		if (n == 0)
			metrics_verify_result(mx, SIGNET_RESULT_NONE);
		metrics_observe(mx, METRICS_VERIFY_SECONDS, m->work_us);
	}
	const struct signet_arc_result *arc = session_arc_result(m->arc);
	enum signet_result cv;
	if (arc != NULL)
		metrics_arc_result(mx, arc->result);
	if (session_arc_sealed(m->arc, &cv))
		metrics_arc_seal(mx, cv);
}

/* AR-DEL-01: more forged Authentication-Results than we remove (or one we
 * could not note): refused, since passing it on would leave one behind. */
static bool refuse_forged_ar(struct session *s, struct signet_buf *out)
{
	struct message *m = &s->msg;
	struct signet_error err = {0};
	m->action = METRICS_REJECTED;
	signet_verifier_free(m->verifier); /* not finished: no results to count */
	m->verifier = NULL;
	log_msg(LOG_LVL_WARN,
		"%s: message rejected: %zu Authentication-Results fields claim our "
		"authserv-id %s (%s; we remove at most %d)",
		queue_id(s), m->nours, authserv_id(s), m->ours_nomem ? "out of memory" : "forged",
		SESSION_MAX_OURS_AR);
	if (milter_put_replycode(out, SESSION_TOO_MANY_OURS_AR, &err) != SIGNET_OK) {
		log_msg(LOG_LVL_ERR, "%s: cannot encode a reply: %s", queue_id(s), err.msg);
		return false;
	}
	return true;
}

static bool finish_eom(struct session *s, struct signet_buf *out)
{
	struct message *m = &s->msg;
	bool ok;
	uint64_t t = clock_us();
	m->action = METRICS_PASSED; /* unless finish_sign/finish_verify say otherwise */
	if (m->nours > SESSION_MAX_OURS_AR || m->ours_nomem) {
		ok = refuse_forged_ar(s, out);
	} else if (m->mode == MODE_SIGN) {
		ok = finish_sign(s, out);
	} else if (m->mode == MODE_VERIFY) {
		ok = finish_verify(s, out);
	} else {
		log_msg(LOG_LVL_WARN, "%s: %s", queue_id(s), m->note);
		ok = remove_forged_ar(s, out) && reply(s, SMFIC_BODYEOB, SMFIR_CONTINUE, out);
	}
	m->work_us += clock_us() - t;
	if (ok)
		count_message(m);
	message_reset(s);
	milter_macros_reset_message(&s->macros);
	return ok;
}

/* The DKIM key lookups answered and the SPF checks finished (an SPF
 * lookup the evaluator no longer needs is not waited for). */
static bool lookups_done(const struct message *m)
{
	for (size_t k = 0; k < m->nlookups; k++)
		if (!m->lookups[k].answered)
			return false;
	for (size_t k = 0; k < SPF_CHECKS; k++)
		if (!spf_done(m, k))
			return false;
	return session_arc_lookups_done(m->arc);
}

/* Ready to finish: DKIM and SPF done, then DMARC (started here) done. */
static bool eom_ready(struct session *s)
{
	struct message *m = &s->msg;
	if (!lookups_done(m))
		return false;
	if (m->dmarc != NULL && !session_dmarc_started(m->dmarc))
		dmarc_begin(s);
	return m->dmarc == NULL || session_dmarc_done(m->dmarc);
}

static void on_body_start(struct session *s)
{
	/* An MTA that sent no EOH (or NOEOH): decide at the first body packet. */
	struct message *m = &s->msg;
	if (m->mode != MODE_NONE)
		return;
	on_eoh(s);
	if (m->waiting_keys) {
		/* FLEET-KEYS-02: keys from Redis are waited for at EOH, with the
		 * EOH reply; here the packet in hand (a body chunk the signer
		 * would miss) cannot wait, and no EOH reply is due: on_error.sign */
		m->waiting_keys = false;
		sign_mode(m);
		snprintf(m->note, sizeof m->note,
			 "signing failed: the keys of %s come from Redis at the end of the "
			 "header, and the MTA sent the body without it (no EOH)",
			 m->redis_sign->domain);
	}
}

/* MILTER-CONV-01/02, MILTER-ERR-03: which step may come in which state.
 * Per-message objects (signer, verifier, the header store) are made only on
 * a step that moves the message forward, so no step can make them twice: a
 * second EOH, a HEADER after EOH, BODY or EOM outside a message are
 * protocol errors (logged; the connection is closed and Postfix applies
 * milter_default_action). MAIL or HELO inside a message end it as ABORT
 * would and start over (libmilter does the same). ABORT, MACRO and QUIT
 * are fine anywhere. OPTNEG and CONNECT only outside a message. */
#define NO SESSION_STATES /* refused: protocol error */
static const struct step_rule {
	uint8_t cmd;
	const char *name;
	bool restart;                 /* inside a message: end it first, as ABORT */
	uint8_t next[SESSION_STATES]; /* state after the step, by state before; NO: refused */
} step_rules[] = {
	/*                              NEW      IDLE         ENVELOPE     HEADERS      BODY */
	{SMFIC_OPTNEG, "OPTNEG", false, {SESSION_IDLE, SESSION_IDLE, NO, NO, NO}},
	{SMFIC_CONNECT, "CONNECT", false, {NO, SESSION_IDLE, NO, NO, NO}},
	{SMFIC_HELO, "HELO", true, {NO, SESSION_IDLE, SESSION_IDLE, SESSION_IDLE, SESSION_IDLE}},
	{SMFIC_UNKNOWN, "UNKNOWN", false, {NO, SESSION_IDLE, SESSION_ENVELOPE, NO, NO}},
	{SMFIC_MAIL,
	 "MAIL",
	 true,
	 {NO, SESSION_ENVELOPE, SESSION_ENVELOPE, SESSION_ENVELOPE, SESSION_ENVELOPE}},
	{SMFIC_RCPT, "RCPT", false, {NO, NO, SESSION_ENVELOPE, NO, NO}},
	{SMFIC_DATA, "DATA", false, {NO, NO, SESSION_ENVELOPE, NO, NO}},
	{SMFIC_HEADER, "HEADER", false, {NO, NO, SESSION_HEADERS, SESSION_HEADERS, NO}},
	{SMFIC_EOH, "EOH", false, {NO, NO, SESSION_BODY, SESSION_BODY, NO}},
	{SMFIC_BODY, "BODY", false, {NO, NO, SESSION_BODY, SESSION_BODY, SESSION_BODY}},
	{SMFIC_BODYEOB, "EOM", false, {NO, NO, SESSION_IDLE, SESSION_IDLE, SESSION_IDLE}},
	{SMFIC_ABORT,
	 "ABORT",
	 false,
	 {SESSION_NEW, SESSION_IDLE, SESSION_IDLE, SESSION_IDLE, SESSION_IDLE}},
	{SMFIC_MACRO,
	 "MACRO",
	 false,
	 {SESSION_NEW, SESSION_IDLE, SESSION_ENVELOPE, SESSION_HEADERS, SESSION_BODY}},
	{SMFIC_QUIT,
	 "QUIT",
	 false,
	 {SESSION_NEW, SESSION_IDLE, SESSION_IDLE, SESSION_IDLE, SESSION_IDLE}},
	{SMFIC_QUIT_NC,
	 "QUIT_NC",
	 false,
	 {SESSION_NEW, SESSION_IDLE, SESSION_IDLE, SESSION_IDLE, SESSION_IDLE}},
};

static const char *const state_names[SESSION_STATES] = {
	"before OPTNEG", "between messages", "in the envelope", "in the header", "in the body"};

static const struct step_rule *step_rule(uint8_t cmd)
{
	for (size_t k = 0; k < sizeof step_rules / sizeof step_rules[0]; k++)
		if (step_rules[k].cmd == cmd)
			return &step_rules[k];
	return NULL; /* the decoder refuses other bytes */
}

/* Applies step_rules to cmd: false (logged) when refused. A restarting step
 * inside a message ends that message first. The state moves on here; the
 * step's own work follows in handle. */
static bool step_allowed(struct session *s, uint8_t cmd)
{
	const struct step_rule *r = step_rule(cmd);
	if (r == NULL || r->next[s->state] == NO) {
		log_msg(LOG_LVL_ERR, "%s: protocol error: %s %s", s->peer, r ? r->name : "command",
			state_names[s->state]);
		return false;
	}
	if (r->restart && s->state >= SESSION_ENVELOPE)
		message_reset(s); /* macros stay: a MAIL's own arrived just before it */
	s->state = (enum session_state)r->next[s->state];
	return true;
}

/* One packet; false = close the connection. */
static bool handle(struct session *s, const struct milter_packet *pkt, struct signet_buf *out)
{
	struct milter_command c;
	struct signet_error err = {0};
	if (milter_command_parse(pkt, &c, &err) != SIGNET_OK) {
		log_msg(LOG_LVL_ERR, "%s: protocol error in '%c' packet: %s", s->peer, pkt->cmd,
			err.msg);
		return false;
	}
	/* A BODY's later fragments belong to the step its first one took. */
	if (!(c.cmd == SMFIC_BODY && pkt->offset > 0) && !step_allowed(s, c.cmd))
		return false;
	switch (c.cmd) {
	case SMFIC_OPTNEG: return on_optneg(s, &c, out);
	case SMFIC_MACRO:
		if (milter_macros_store(&s->macros, &c.u.macro, &err) != SIGNET_OK)
			log_msg(LOG_LVL_WARN, "%s: macros dropped: %s", s->peer, err.msg);
		return true;
	case SMFIC_CONNECT: on_connect(s, &c); return reply(s, c.cmd, SMFIR_CONTINUE, out);
	case SMFIC_HELO: on_helo(s, &c); return reply(s, c.cmd, SMFIR_CONTINUE, out);
	case SMFIC_MAIL: on_mail(s, &c); return reply(s, c.cmd, SMFIR_CONTINUE, out);
	case SMFIC_HEADER: on_header(s, &c); return reply(s, c.cmd, SMFIR_CONTINUE, out);
	case SMFIC_EOH:
		on_eoh(s);
		if (s->msg.waiting_keys)
			return true; /* session_key_answer replies */
		return reply(s, c.cmd, SMFIR_CONTINUE, out);
	case SMFIC_BODY:
		/* A fragment of the packet (milter.h): the reply, if one is due
		 * (MILTER-CONV-04), goes once per packet, after its last byte. */
		on_body_start(s);
		feed_body(s, c.u.body);
		if (pkt->partial)
			return true;
		return reply(s, c.cmd, SMFIR_CONTINUE, out);
	case SMFIC_BODYEOB:
		on_body_start(s);
		feed_body(s, c.u.body);
		if (s->msg.mode == MODE_VERIFY && s->msg.verifier && !eom_ready(s)) {
			s->msg.waiting_eom = true; /* the answer finishes it */
			s->msg.eom_wait_us = clock_us();
			return true;
		}
		return finish_eom(s, out);
	case SMFIC_ABORT:
		message_reset(s);
		milter_macros_reset_message(&s->macros);
		return true;
	case SMFIC_QUIT: return false;
	case SMFIC_QUIT_NC:
		message_reset(s);
		milter_macros_reset(&s->macros);
		s->client_addr[0] = '\0';
		s->helo[0] = '\0';
		s->non_smtp = false;
		return true;
	case SMFIC_RCPT: on_rcpt(s, &c); return reply(s, c.cmd, SMFIR_CONTINUE, out);
	default: /* DATA, UNKNOWN */ return reply(s, c.cmd, SMFIR_CONTINUE, out);
	}
}

static enum session_status process(struct session *s, const uint8_t *p, size_t len,
				   struct signet_buf *out)
{
	struct signet_error err = {0}; /* once per read, not per packet: it is 208 bytes */
	while (len > 0) {
		size_t used = 0;
		bool got = false;
		struct milter_packet pkt;
		if (milter_decoder_feed(&s->dec, p, len, &used, &pkt, &got, &err) != SIGNET_OK) {
			/* MILTER-ERR-03 */
			log_msg(LOG_LVL_ERR, "%s: milter protocol error: %s", s->peer, err.msg);
			return SESSION_CLOSE;
		}
		p += used;
		len -= used;
		if (got && !handle(s, &pkt, out))
			return SESSION_CLOSE;
		if ((s->msg.waiting_eom || s->msg.waiting_keys) && len > 0) {
			if (buf_append(&s->held, p, len) != SIGNET_OK) {
				log_msg(LOG_LVL_ERR, "%s: MTA sent too much while we waited",
					s->peer);
				return SESSION_CLOSE;
			}
			return SESSION_OK;
		}
	}
	return SESSION_OK;
}

enum session_status session_feed(struct session *s, const uint8_t *p, size_t len,
				 struct signet_buf *out)
{
	if (s->msg.waiting_eom || s->msg.waiting_keys) {
		if (buf_append(&s->held, p, len) != SIGNET_OK) {
			log_msg(LOG_LVL_ERR, "%s: MTA sent too much while we waited", s->peer);
			return SESSION_CLOSE;
		}
		return SESSION_OK;
	}
	return process(s, p, len, out);
}

/* Lookup indices: DKIM keys 0..SESSION_MAX_LOOKUPS-1, then spf->lookups,
 * then the ARC keys (session_arc.h) from ARC_LOOKUP_BASE, then DMARC's from
 * DMARC_LOOKUP_BASE. */
_Static_assert(DMARC_LOOKUP_BASE + SESSION_DMARC_MAX_LOOKUPS <= 0x3ff + 1,
	       "lookup index in 10 bits (LOOKUP_INDEX)");

bool session_next_lookup(struct session *s, unsigned *id, const char **name,
			 enum signet_rrtype *type)
{
	for (size_t k = 0; k < s->msg.nlookups; k++) {
		struct lookup *l = &s->msg.lookups[k];
		if (!l->handed_out) {
			l->handed_out = true;
			*id = LOOKUP_ID(s->generation, k);
			*name = l->name;
			*type = SIGNET_RR_TXT;
			return true;
		}
	}
	for (size_t k = 0; s->msg.spf != NULL && k < s->msg.spf->n; k++) {
		struct spf_lookup *l = &s->msg.spf->lookups[k];
		if (!l->handed_out && !spf_done(&s->msg, l->which)) {
			l->handed_out = true;
			*id = LOOKUP_ID(s->generation, SESSION_MAX_LOOKUPS + k);
			*name = l->name;
			*type = l->type;
			return true;
		}
	}
	unsigned k;
	if (session_arc_next_lookup(s->msg.arc, &k, name)) {
		*id = LOOKUP_ID(s->generation, ARC_LOOKUP_BASE + k);
		*type = SIGNET_RR_TXT;
		return true;
	}
	size_t kd;
	if (s->msg.dmarc != NULL && session_dmarc_next_lookup(s->msg.dmarc, &kd, name, type)) {
		*id = LOOKUP_ID(s->generation, DMARC_LOOKUP_BASE + kd);
		return true;
	}
	return false;
}

/* An SPF lookup of this message that its check still waits for, or NULL. */
static struct spf_lookup *spf_lookup_of(const struct session *s, unsigned id)
{
	size_t k = LOOKUP_INDEX(id);
	struct spf_state *st = s->msg.spf;
	if (LOOKUP_GEN(id) != s->generation || k < SESSION_MAX_LOOKUPS || k >= ARC_LOOKUP_BASE ||
	    st == NULL || k - SESSION_MAX_LOOKUPS >= st->n)
		return NULL;
	struct spf_lookup *l = &st->lookups[k - SESSION_MAX_LOOKUPS];
	return l->answered || spf_done(&s->msg, l->which) ? NULL : l;
}

bool session_lookup_wanted(const struct session *s, unsigned id)
{
	size_t k = LOOKUP_INDEX(id);
	if (k >= DMARC_LOOKUP_BASE)
		return LOOKUP_GEN(id) == s->generation && s->msg.dmarc != NULL &&
		       session_dmarc_lookup_wanted(s->msg.dmarc, k - DMARC_LOOKUP_BASE);
	if (k >= ARC_LOOKUP_BASE)
		return LOOKUP_GEN(id) == s->generation &&
		       session_arc_lookup_wanted(s->msg.arc, (unsigned)(k - ARC_LOOKUP_BASE));
	if (k >= SESSION_MAX_LOOKUPS)
		return spf_lookup_of(s, id) != NULL;
	return LOOKUP_GEN(id) == s->generation && k < s->msg.nlookups &&
	       !s->msg.lookups[k].answered;
}

static enum session_status go_on(struct session *s, struct signet_buf *out);

/* A waiting EOM whose lookups are all done is finished, and what the MTA
 * sent meanwhile goes on. */
static enum session_status eom_if_ready(struct session *s, struct signet_buf *out)
{
	struct message *m = &s->msg;
	if (!m->waiting_eom || !eom_ready(s))
		return SESSION_OK;
	m->waiting_eom = false;
	m->work_us += clock_us() - m->eom_wait_us; /* the MTA waited for the lookups */
	if (!finish_eom(s, out))
		return SESSION_CLOSE;
	return go_on(s, out);
}

/* Goes on with what the MTA sent while we waited. */
static enum session_status go_on(struct session *s, struct signet_buf *out)
{
	struct signet_buf rest = s->held;
	buf_init(&s->held, SESSION_MAX_HELD);
	enum session_status st = SESSION_OK;
	if (rest.len > 0)
		st = process(s, rest.data, rest.len, out);
	buf_free(&rest);
	return st;
}

/* An answer to the evaluator; its next questions are taken in. Past
 * SESSION_SPF_MAX_MS the check is given up (temperror). */
static enum session_status spf_answer(struct session *s, struct spf_lookup *l,
				      const struct dns_answer *a, struct signet_buf *out)
{
	struct spf_check *c = &s->msg.spf->chk[l->which];
	struct signet_error err = {0};
	l->answered = true;
	if (a->status != SIGNET_DNS_OK)
		log_msg(LOG_LVL_DEBUG, "%s: SPF lookup %s: %s", queue_id(s), l->name,
			a->why ? a->why : "");
	if (signet_spf_answer(c->e, l->query_id, a->status, a->rrs, a->nrrs, &err) != SIGNET_OK)
		log_msg(LOG_LVL_WARN, "%s: SPF answer not taken: %s", queue_id(s), err.msg);
	if (!signet_spf_done(c->e) && clock_ms_since(c->t0_us) > SESSION_SPF_MAX_MS)
		c->given_up = "no result within SESSION_SPF_MAX_MS (RFC 7208 4.6.4)";
	spf_pull(s);
	return eom_if_ready(s, out);
}

enum session_status session_answer(struct session *s, unsigned id, const struct dns_answer *a,
				   struct signet_buf *out)
{
	struct message *m = &s->msg;
	size_t k = LOOKUP_INDEX(id);
	if (k >= DMARC_LOOKUP_BASE) {
		if (LOOKUP_GEN(id) != s->generation || m->dmarc == NULL)
			return SESSION_OK; /* a stale answer */
		session_dmarc_answer(m->dmarc, k - DMARC_LOOKUP_BASE, a);
		return eom_if_ready(s, out);
	}
	if (k >= ARC_LOOKUP_BASE) {
		if (!session_lookup_wanted(s, id))
			return SESSION_OK; /* stale, or the validator is gone */
		session_arc_answer(m->arc, (unsigned)(k - ARC_LOOKUP_BASE), a);
		return eom_if_ready(s, out);
	}
	if (k >= SESSION_MAX_LOOKUPS) {
		struct spf_lookup *l = spf_lookup_of(s, id);
		return l != NULL ? spf_answer(s, l, a, out) : SESSION_OK;
	}
	if (LOOKUP_GEN(id) != s->generation || k >= m->nlookups || m->lookups[k].answered ||
	    m->verifier == NULL)
		return SESSION_OK; /* a stale answer for an earlier message */
	struct lookup *l = &m->lookups[k];
	struct signet_error err = {0};
	l->answered = true;
	l->secure = a->secure;
	if (a->status != SIGNET_DNS_OK)
		log_msg(LOG_LVL_DEBUG, "%s: key lookup %s: %s", queue_id(s), l->name,
			a->why ? a->why : "");
	/* A cached answer comes parsed (dnscache.h): the same results without
	 * decoding the key again. */
	enum signet_status vst =
		a->status == SIGNET_DNS_OK && a->keys != NULL
			? signet_verifier_answer_key(m->verifier, l->query_id, a->keys, &err)
			: signet_verifier_answer(m->verifier, l->query_id, a->status, a->records,
						 a->nrecords, &err);
	if (vst != SIGNET_OK)
		log_msg(LOG_LVL_WARN, "%s: key answer for %s not taken: %s", queue_id(s), l->name,
			err.msg);
	return eom_if_ready(s, out);
}

void session_abort(struct session *s)
{
	if (s->msg.mode != MODE_NONE || s->msg.sender[0] != '\0')
		log_msg(LOG_LVL_INFO, "%s: %s: the MTA closed the connection mid-message", s->peer,
			queue_id(s));
	message_reset(s);
	if (s->state > SESSION_IDLE)
		s->state = SESSION_IDLE;
}

bool session_waiting(const struct session *s)
{
	return s->msg.waiting_eom || s->msg.waiting_keys;
}

bool session_next_key_request(struct session *s, unsigned *id, const struct signetd_config **cfg,
			      const char **domain, const char *const **selectors, size_t *n)
{
	struct message *m = &s->msg;
	if (!m->waiting_keys || m->keys_asked)
		return false;
	m->keys_asked = true;
	*id = s->generation;
	*cfg = s->rt->cfg;
	*domain = m->redis_sign->domain;
	size_t k = 0;
	for (; k < m->redis_sign->nsigs && m->redis_sign->sigs[k].selector[0] != '\0'; k++)
		m->selectors[k] = m->redis_sign->sigs[k].selector;
	*selectors = m->selectors;
	*n = k;
	return true;
}

/* FLEET-KEYS-02..04: the keys sign; none in Redis means this domain is
 * not ours to sign (verified instead, as without a key file); an error
 * follows on_error.sign at the end of the message. */
enum session_status session_key_answer(struct session *s, unsigned id, struct signkeys *keys,
				       const char *error, struct signet_buf *out)
{
	struct message *m = &s->msg;
	if (id != s->generation || !m->waiting_keys)
		return SESSION_OK; /* for a message that is over */
	m->waiting_keys = false;
	uint64_t t = clock_us();
	struct policy_decision *d = m->redis_sign;
	if (keys != NULL && keys->n > 0) {
		d->nsigs = 0;
		for (size_t k = 0; k < keys->n; k++)
			d->sigs[d->nsigs++] =
				(struct policy_sig){keys->selector[k], keys->key[k], "redis"};
		m->keys = signkeys_ref(keys);
		sign_mode(m);
		start_signing(s, d);
	} else if (keys != NULL) {
		m->mode = MODE_VERIFY;
		m->why = POLICY_NO_KEY;
		snprintf(m->note, sizeof m->note, "not signed: %s", keys->why);
		start_verifying(s);
		arc_start(s);
	} else {
		sign_mode(m);
		snprintf(m->note, sizeof m->note, "signing failed: keys of %s: %s", d->domain,
			 error ? error : "unknown error");
	}
	m->work_us += clock_us() - t;
	if (!reply(s, SMFIC_EOH, SMFIR_CONTINUE, out))
		return SESSION_CLOSE;
	return go_on(s, out);
}

size_t session_partial(const struct session *s)
{
	return milter_decoder_pending(&s->dec);
}

/* MILTER-EOM-06, MILTER-PFX-04: a progress packet makes Postfix read again
 * with a fresh milter_content_timeout, so a slow key lookup does not turn
 * into the MTA's default_action. Only valid while the MTA waits for the
 * EOM reply. */
bool session_progress(struct session *s, struct signet_buf *out)
{
	if (!s->msg.waiting_eom)
		return true;
	struct signet_error err = {0};
	if (milter_put_reply(out, SMFIR_PROGRESS, &err) != SIGNET_OK) {
		log_msg(LOG_LVL_ERR, "%s: cannot encode a progress reply: %s", s->peer, err.msg);
		return false;
	}
	return true;
}

void session_get_stats(const struct session *s, struct session_stats *out)
{
	out->state = s->state;
	out->objects = s->msg.objects;
	out->ours_ar = s->msg.nours;
}
