/* fuzz_digest.c: `signet dmarc digest`'s input path on hostile bytes: the
 * reader (cli/report_read.c: gzip, zip, MIME, mbox), the XML parser
 * (cli/report_parse.c, expat) and the digest with its three renderings
 * (cli/report_digest.c). The input is one file's content. Invariants: a
 * parsed report has an org_name and a report_id, its message total is the
 * sum of its counts (each <= REPORT_MAX_COUNT) within REPORT_MAX_RECORDS
 * records; every rendering succeeds and the JSON is one line ending "}\n". */
#include "fuzz.h"

#include "report_digest.h"
#include "report_read.h"

struct run {
	struct digest *d;
};

static void on_xml(void *ctx, const char *origin, const uint8_t *p, size_t len)
{
	struct run *run = ctx;
	struct report *r;
	char why[512];
	const char *first;
	uint64_t sum = 0;

	FUZZ_CHECK(origin != NULL && len <= REPORT_MAX_XML);
	if (!report_parse(p, len, &r, why, sizeof(why))) {
		FUZZ_CHECK(why[0] != '\0');
		return;
	}
	FUZZ_CHECK(r->org_name && r->org_name[0] && r->report_id && r->report_id[0]);
	FUZZ_CHECK(r->nrecords <= REPORT_MAX_RECORDS && r->nnotes <= REPORT_MAX_NOTES);
	for (size_t i = 0; i < r->nrecords; i++) {
		FUZZ_CHECK(r->records[i].source_ip != NULL);
		FUZZ_CHECK(r->records[i].count <= REPORT_MAX_COUNT);
		FUZZ_CHECK(r->records[i].nauth <= REPORT_MAX_AUTH);
		sum += r->records[i].count;
	}
	FUZZ_CHECK(sum == r->messages);
	FUZZ_CHECK(digest_add(run->d, r, origin, &first) != DIGEST_NOMEM);
}

static void on_skip(void *ctx, const char *origin, const char *why)
{
	(void)ctx;
	FUZZ_CHECK(origin != NULL && why != NULL && why[0] != '\0');
}

static void render(const struct digest *d)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	FUZZ_CHECK(f != NULL);
	FUZZ_CHECK(digest_text(d, f) && digest_html(d, f));
	fflush(f);
	size_t before = len;
	FUZZ_CHECK(digest_json(d, f));
	fclose(f);
	FUZZ_CHECK(len > before + 1 && buf[len - 1] == '\n' && buf[len - 2] == '}');
	FUZZ_CHECK(memchr(buf + before, '\n', len - before - 1) == NULL);
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct report_reader *rd; /* once: g_mime_init is process-wide */
	static struct run run;
	struct report_sink sink = {.ctx = &run, .xml = on_xml, .skip = on_skip};

	if (rd == NULL)
		rd = report_reader_new(&sink);
	FUZZ_CHECK(rd != NULL);
	run.d = digest_new();
	FUZZ_CHECK(run.d != NULL);
	report_read_bytes(rd, "fuzz", data, size);
	render(run.d);
	digest_free(run.d);
	run.d = NULL;
	return 0;
}
