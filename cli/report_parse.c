/* report_parse.c: a DMARC aggregate report from XML to struct report, with
 * expat (SAX). Elements are matched by their path below <feedback> and
 * their local name, in no namespace, RFC 9990's or the RFC 7489 draft's.
 * It does not read files, decompress or print (report_read.c,
 * report_digest.c). */
#include <arpa/inet.h>
#include <expat.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report_parse.h"

#define NS_SEP '|'
#define NS_DMARC2 "urn:ietf:params:xml:ns:dmarc-2.0" /* RFC 9990 */
#define NS_DMARC1 "http://dmarc.org/dmarc-xml/0.1"   /* RFC 7489 Appendix C targetNamespace */

/* The element names a report is read by; anything else is E_OTHER (in a
 * DMARC namespace) or E_FOREIGN (in another one). */
enum elem {
	E_OTHER,
	E_FOREIGN,
	E_FEEDBACK,
	E_VERSION,
	E_REPORT_METADATA,
	E_ORG_NAME,
	E_REPORT_ID,
	E_DATE_RANGE,
	E_BEGIN,
	E_END,
	E_POLICY_PUBLISHED,
	E_DOMAIN,
	E_P,
	E_RECORD,
	E_ROW,
	E_SOURCE_IP,
	E_COUNT,
	E_POLICY_EVALUATED,
	E_DISPOSITION,
	E_DKIM,
	E_SPF,
	E_IDENTIFIERS,
	E_HEADER_FROM,
	E_ENVELOPE_FROM,
	E_AUTH_RESULTS,
	E_SELECTOR,
	E_SCOPE,
	E_RESULT,
	E_REASON,
	E_TYPE,
};

static const char *const elem_names[] = {
	[E_FEEDBACK] = "feedback",
	[E_VERSION] = "version",
	[E_REPORT_METADATA] = "report_metadata",
	[E_ORG_NAME] = "org_name",
	[E_REPORT_ID] = "report_id",
	[E_DATE_RANGE] = "date_range",
	[E_BEGIN] = "begin",
	[E_END] = "end",
	[E_POLICY_PUBLISHED] = "policy_published",
	[E_DOMAIN] = "domain",
	[E_P] = "p",
	[E_RECORD] = "record",
	[E_ROW] = "row",
	[E_SOURCE_IP] = "source_ip",
	[E_COUNT] = "count",
	[E_POLICY_EVALUATED] = "policy_evaluated",
	[E_DISPOSITION] = "disposition",
	[E_DKIM] = "dkim",
	[E_SPF] = "spf",
	[E_IDENTIFIERS] = "identifiers",
	[E_HEADER_FROM] = "header_from",
	[E_ENVELOPE_FROM] = "envelope_from",
	[E_AUTH_RESULTS] = "auth_results",
	[E_SELECTOR] = "selector",
	[E_SCOPE] = "scope",
	[E_RESULT] = "result",
	[E_REASON] = "reason",
	[E_TYPE] = "type",
};

struct parse {
	XML_Parser xp;
	struct report *r;
	enum elem stack[REPORT_MAX_XML_DEPTH];
	size_t depth;
	long feedback; /* index of <feedback> in stack; -1 before it */
	bool done;     /* </feedback> seen */
	bool failed;   /* why is set */
	bool saw_version;
	char text[REPORT_MAX_TEXT + 1];
	size_t tlen;
	bool text_over;
	size_t cap_records;
	char *why;
	size_t whylen;
};

static void fail(struct parse *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(struct parse *ps, const char *fmt, ...)
{
	va_list ap;

	if (ps->failed)
		return;
	ps->failed = true;
	va_start(ap, fmt);
	vsnprintf(ps->why, ps->whylen, fmt, ap);
	va_end(ap);
	report_sanitize(ps->why);
	XML_StopParser(ps->xp, XML_FALSE);
}

void report_sanitize(char *s)
{
	unsigned char *r = (unsigned char *)s, *w = r;

	for (; r && *r; r++, w++) {
		if (r[0] == 0xc2 && r[1] >= 0x80 && r[1] <= 0x9f) {
			*w = '?';
			r++;
		} else {
			*w = *r < 0x20 || *r == 0x7f ? '?' : *r;
		}
	}
	if (w != NULL)
		*w = '\0';
}

static void note(struct report *r, const char *what)
{
	for (size_t i = 0; i < r->nnotes; i++)
		if (r->notes[i] == what)
			return;
	if (r->nnotes < REPORT_MAX_NOTES)
		r->notes[r->nnotes++] = what;
}

static enum elem classify(const char *name, bool *rfc9990)
{
	const char *local = strchr(name, NS_SEP);

	*rfc9990 = false;
	if (local != NULL) {
		size_t nslen = (size_t)(local - name);
		if (nslen == strlen(NS_DMARC2) && memcmp(name, NS_DMARC2, nslen) == 0)
			*rfc9990 = true;
		else if (!(nslen == strlen(NS_DMARC1) && memcmp(name, NS_DMARC1, nslen) == 0))
			return E_FOREIGN;
		local++;
	} else {
		local = name;
	}
	for (size_t i = E_FEEDBACK; i < sizeof(elem_names) / sizeof(elem_names[0]); i++)
		if (strcmp(local, elem_names[i]) == 0)
			return (enum elem)i;
	return E_OTHER;
}

/* True when the elements below <feedback> are exactly want[0..n-1]. */
static bool path_is(const struct parse *ps, const enum elem *want, size_t n)
{
	size_t first = (size_t)ps->feedback + 1;

	if (ps->feedback < 0 || ps->depth != first + n)
		return false;
	return memcmp(&ps->stack[first], want, n * sizeof(*want)) == 0;
}
#define PATH(ps, ...)                                                                              \
	path_is((ps), (const enum elem[]){__VA_ARGS__},                                            \
		sizeof((const enum elem[]){__VA_ARGS__}) / sizeof(enum elem))

static struct report_record *cur_record(struct parse *ps)
{
	return ps->r->nrecords ? &ps->r->records[ps->r->nrecords - 1] : NULL;
}

static struct report_auth *cur_auth(struct parse *ps)
{
	struct report_record *rec = cur_record(ps);
	return rec && rec->nauth ? &rec->auth[rec->nauth - 1] : NULL;
}

static void new_record(struct parse *ps)
{
	struct report *r = ps->r;

	if (r->nrecords == REPORT_MAX_RECORDS) {
		fail(ps, "more than REPORT_MAX_RECORDS (%d) records", REPORT_MAX_RECORDS);
		return;
	}
	if (r->nrecords == ps->cap_records) {
		size_t cap = ps->cap_records ? 2 * ps->cap_records : 16;
		struct report_record *n = realloc(r->records, cap * sizeof(*n));
		if (n == NULL) {
			fail(ps, "out of memory");
			return;
		}
		r->records = n;
		ps->cap_records = cap;
	}
	memset(&r->records[r->nrecords++], 0, sizeof(struct report_record));
}

static void new_auth(struct parse *ps, bool is_dkim)
{
	struct report_record *rec = cur_record(ps);
	struct report_auth *n;

	if (rec->nauth == REPORT_MAX_AUTH) {
		fail(ps, "record %zu: more than REPORT_MAX_AUTH (%d) results in <auth_results>",
		     ps->r->nrecords, REPORT_MAX_AUTH);
		return;
	}
	n = realloc(rec->auth, (rec->nauth + 1) * sizeof(*n));
	if (n == NULL) {
		fail(ps, "out of memory");
		return;
	}
	rec->auth = n;
	memset(&n[rec->nauth], 0, sizeof(*n));
	n[rec->nauth++].is_dkim = is_dkim;
}

static void XMLCALL on_start(void *ud, const XML_Char *name, const XML_Char **attrs)
{
	struct parse *ps = ud;
	bool rfc9990;
	enum elem e = classify(name, &rfc9990);

	(void)attrs;
	if (ps->failed || ps->done)
		return;
	if (ps->depth == REPORT_MAX_XML_DEPTH) {
		fail(ps, "elements nested deeper than REPORT_MAX_XML_DEPTH (%d)",
		     REPORT_MAX_XML_DEPTH);
		return;
	}
	ps->stack[ps->depth++] = e;
	ps->tlen = 0;
	ps->text_over = false;
	if (ps->feedback < 0) {
		if (e != E_FEEDBACK)
			return;
		ps->feedback = (long)ps->depth - 1;
		ps->r->format = rfc9990 ? REPORT_RFC9990 : REPORT_RFC7489;
		/* The ikea sample: "<?xml ...?> <xs:schema ...>" left open before
		 * <feedback>. A tolerant reader takes the <feedback> element. */
		if (ps->feedback > 0)
			note(ps->r, "<feedback> is not the root element (a stray start tag comes "
				    "before it; not well-formed): read the <feedback> element");
		return;
	}
	if (PATH(ps, E_RECORD))
		new_record(ps);
	else if (PATH(ps, E_RECORD, E_AUTH_RESULTS, E_DKIM))
		new_auth(ps, true);
	else if (PATH(ps, E_RECORD, E_AUTH_RESULTS, E_SPF))
		new_auth(ps, false);
}

static void XMLCALL on_text(void *ud, const XML_Char *s, int len)
{
	struct parse *ps = ud;

	if (ps->feedback < 0 || ps->done || len <= 0)
		return;
	if (ps->tlen + (size_t)len > REPORT_MAX_TEXT) {
		ps->text_over = true;
		return;
	}
	memcpy(ps->text + ps->tlen, s, (size_t)len);
	ps->tlen += (size_t)len;
}

/* The element's text with XML white space trimmed, as a new string. */
static char *take_text(struct parse *ps)
{
	size_t a = 0, b = ps->tlen;
	char *s;

	if (ps->text_over) {
		fail(ps, "<%s> has more than REPORT_MAX_TEXT (%d) bytes of text",
		     elem_names[ps->stack[ps->depth - 1]], REPORT_MAX_TEXT);
		return NULL;
	}
	while (a < b && strchr(" \t\r\n", ps->text[a]) != NULL)
		a++;
	while (b > a && strchr(" \t\r\n", ps->text[b - 1]) != NULL)
		b--;
	s = malloc(b - a + 1);
	if (s == NULL) {
		fail(ps, "out of memory");
		return NULL;
	}
	memcpy(s, ps->text + a, b - a);
	s[b - a] = '\0';
	report_sanitize(s);
	return s;
}

/* Sets *slot to the element's text unless it is set already (the first
 * occurrence wins). */
static void set_text(struct parse *ps, char **slot)
{
	char *s;

	if (*slot != NULL)
		return;
	s = take_text(ps);
	*slot = s;
}

static bool number(struct parse *ps, const char *what, uint64_t max, uint64_t *out)
{
	char *s = take_text(ps), *end;
	unsigned long long v;

	if (s == NULL)
		return false;
	if (s[0] < '0' || s[0] > '9') {
		fail(ps, "%s '%.64s' is not a number", what, s);
		free(s);
		return false;
	}
	v = strtoull(s, &end, 10);
	if (*end != '\0' || v > max) {
		fail(ps, "%s '%.64s' is not a number up to %llu", what, s, (unsigned long long)max);
		free(s);
		return false;
	}
	free(s);
	*out = v;
	return true;
}

static void source_ip(struct parse *ps, struct report_record *rec)
{
	char *s = take_text(ps);
	unsigned char bin[16];
	char norm[INET6_ADDRSTRLEN];
	int af = s && strchr(s, ':') ? AF_INET6 : AF_INET;

	if (s == NULL)
		return;
	if (inet_pton(af, s, bin) != 1 || inet_ntop(af, bin, norm, sizeof(norm)) == NULL) {
		fail(ps, "record %zu: <source_ip> '%.64s' is not an IP address", ps->r->nrecords,
		     s);
		free(s);
		return;
	}
	free(rec->source_ip);
	rec->source_ip = strdup(norm);
	free(s);
	if (rec->source_ip == NULL)
		fail(ps, "out of memory");
}

static void aligned(struct parse *ps, bool *out)
{
	char *s = take_text(ps);

	if (s != NULL)
		*out = strcmp(s, "pass") == 0;
	free(s);
}

static void end_metadata(struct parse *ps)
{
	struct report *r = ps->r;

	if (PATH(ps, E_REPORT_METADATA, E_ORG_NAME))
		set_text(ps, &r->org_name);
	else if (PATH(ps, E_REPORT_METADATA, E_REPORT_ID))
		set_text(ps, &r->report_id);
	else if (PATH(ps, E_REPORT_METADATA, E_DATE_RANGE, E_BEGIN))
		(void)number(ps, "<date_range><begin>", UINT64_MAX, &r->begin);
	else if (PATH(ps, E_REPORT_METADATA, E_DATE_RANGE, E_END))
		(void)number(ps, "<date_range><end>", UINT64_MAX, &r->end);
	else if (PATH(ps, E_POLICY_PUBLISHED, E_DOMAIN))
		set_text(ps, &r->domain);
	else if (PATH(ps, E_POLICY_PUBLISHED, E_P))
		set_text(ps, &r->p);
	else if (PATH(ps, E_VERSION))
		ps->saw_version = true;
}

static void end_auth(struct parse *ps, struct report_auth *a)
{
	if (a == NULL)
		return;
	if (PATH(ps, E_RECORD, E_AUTH_RESULTS, E_DKIM, E_DOMAIN) ||
	    PATH(ps, E_RECORD, E_AUTH_RESULTS, E_SPF, E_DOMAIN))
		set_text(ps, &a->domain);
	else if (PATH(ps, E_RECORD, E_AUTH_RESULTS, E_DKIM, E_SELECTOR) ||
		 PATH(ps, E_RECORD, E_AUTH_RESULTS, E_SPF, E_SCOPE))
		set_text(ps, &a->selector);
	else if (PATH(ps, E_RECORD, E_AUTH_RESULTS, E_DKIM, E_RESULT) ||
		 PATH(ps, E_RECORD, E_AUTH_RESULTS, E_SPF, E_RESULT))
		set_text(ps, &a->result);
}

static void end_of_record(struct parse *ps, struct report_record *rec)
{
	bool spf = false;

	if (rec->source_ip == NULL) {
		fail(ps, "record %zu has no <source_ip>", ps->r->nrecords);
		return;
	}
	for (size_t i = 0; i < rec->nauth; i++)
		spf |= !rec->auth[i].is_dkim;
	/* RFC 7489 Appendix C: auth_results has at least one <spf>. */
	if (!spf)
		note(ps->r, "a record has no <spf> in <auth_results> (RFC 7489 Appendix C "
			    "requires one)");
	ps->r->messages += rec->count;
}

static void end_record(struct parse *ps)
{
	struct report_record *rec = cur_record(ps);

	if (rec == NULL)
		return;
	if (PATH(ps, E_RECORD))
		end_of_record(ps, rec);
	else if (PATH(ps, E_RECORD, E_ROW, E_SOURCE_IP))
		source_ip(ps, rec);
	else if (PATH(ps, E_RECORD, E_ROW, E_COUNT))
		(void)number(ps, "<count>", REPORT_MAX_COUNT, &rec->count);
	else if (PATH(ps, E_RECORD, E_ROW, E_POLICY_EVALUATED, E_DISPOSITION))
		set_text(ps, &rec->disposition);
	else if (PATH(ps, E_RECORD, E_ROW, E_POLICY_EVALUATED, E_DKIM))
		aligned(ps, &rec->dkim_aligned);
	else if (PATH(ps, E_RECORD, E_ROW, E_POLICY_EVALUATED, E_SPF))
		aligned(ps, &rec->spf_aligned);
	else if (PATH(ps, E_RECORD, E_ROW, E_POLICY_EVALUATED, E_REASON, E_TYPE))
		set_text(ps, &rec->override);
	else if (PATH(ps, E_RECORD, E_IDENTIFIERS, E_HEADER_FROM))
		set_text(ps, &rec->header_from);
	else if (PATH(ps, E_RECORD, E_IDENTIFIERS, E_ENVELOPE_FROM))
		set_text(ps, &rec->envelope_from);
	else
		end_auth(ps, cur_auth(ps));
}

static void end_feedback(struct parse *ps)
{
	struct report *r = ps->r;

	ps->done = true;
	if (r->org_name == NULL || r->org_name[0] == '\0')
		fail(ps, "no <org_name> in <report_metadata>");
	else if (r->report_id == NULL || r->report_id[0] == '\0')
		fail(ps, "no <report_id> in <report_metadata>");
	if (!ps->saw_version)
		note(r, "no <version> (RFC 7489 Appendix C requires it)");
	/* Anything after </feedback> is not read (a stray tag left open). */
	XML_StopParser(ps->xp, XML_FALSE);
}

static void XMLCALL on_end(void *ud, const XML_Char *name)
{
	struct parse *ps = ud;

	(void)name;
	if (ps->failed || ps->done || ps->depth == 0)
		return;
	if (ps->feedback >= 0 && ps->depth == (size_t)ps->feedback + 1)
		end_feedback(ps);
	else if (ps->feedback >= 0 && ps->stack[ps->feedback + 1] == E_RECORD)
		end_record(ps);
	else if (ps->feedback >= 0)
		end_metadata(ps);
	ps->depth--;
	ps->tlen = 0;
	ps->text_over = false;
}

/* Billion laughs and external entities: a report has no reason to declare
 * any entity, so the first declaration ends the parse. */
static void XMLCALL on_entity(void *ud, const XML_Char *name, int is_param, const XML_Char *value,
			      int vlen, const XML_Char *base, const XML_Char *sys,
			      const XML_Char *pub, const XML_Char *notation)
{
	(void)name, (void)is_param, (void)value, (void)vlen, (void)base, (void)sys, (void)pub,
		(void)notation;
	fail(ud, "an entity declaration (not allowed in a DMARC report)");
}

void report_free(struct report *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->nrecords; i++) {
		struct report_record *rec = &r->records[i];
		for (size_t k = 0; k < rec->nauth; k++) {
			free(rec->auth[k].domain);
			free(rec->auth[k].selector);
			free(rec->auth[k].result);
		}
		free(rec->auth);
		free(rec->source_ip);
		free(rec->disposition);
		free(rec->override);
		free(rec->header_from);
		free(rec->envelope_from);
	}
	free(r->records);
	free(r->org_name);
	free(r->report_id);
	free(r->domain);
	free(r->p);
	free(r);
}

static void finish(struct parse *ps, enum XML_Status st)
{
	if (ps->failed)
		return;
	if (st == XML_STATUS_ERROR && !(ps->done && XML_GetErrorCode(ps->xp) == XML_ERROR_ABORTED))
		fail(ps, "not well-formed XML (line %lu, column %lu): %s",
		     (unsigned long)XML_GetCurrentLineNumber(ps->xp),
		     (unsigned long)XML_GetCurrentColumnNumber(ps->xp) + 1,
		     XML_ErrorString(XML_GetErrorCode(ps->xp)));
	else if (!ps->done)
		fail(ps, "no <feedback> element: not a DMARC aggregate report");
}

bool report_parse(const uint8_t *xml, size_t len, struct report **out, char *why, size_t whylen)
{
	struct parse ps = {.feedback = -1, .why = why, .whylen = whylen};

	*out = NULL;
	if (len > (size_t)INT32_MAX) {
		snprintf(why, whylen, "XML too large");
		return false;
	}
	ps.r = calloc(1, sizeof(*ps.r));
	ps.xp = XML_ParserCreateNS(NULL, NS_SEP);
	if (ps.r == NULL || ps.xp == NULL) {
		snprintf(why, whylen, "out of memory");
		free(ps.r);
		if (ps.xp)
			XML_ParserFree(ps.xp);
		return false;
	}
	XML_SetUserData(ps.xp, &ps);
	XML_SetElementHandler(ps.xp, on_start, on_end);
	XML_SetCharacterDataHandler(ps.xp, on_text);
	XML_SetEntityDeclHandler(ps.xp, on_entity);
	(void)XML_SetParamEntityParsing(ps.xp, XML_PARAM_ENTITY_PARSING_NEVER);
	finish(&ps, XML_Parse(ps.xp, (const char *)xml, (int)len, XML_TRUE));
	XML_ParserFree(ps.xp);
	if (ps.failed) {
		report_free(ps.r);
		return false;
	}
	*out = ps.r;
	return true;
}
