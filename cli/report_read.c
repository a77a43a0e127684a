/* report_read.c: walks paths and unwraps containers (gzip with zlib, zip
 * with libzip, messages and mboxes with GMime) until XML is left, under the
 * limits of report_read.h. It does not parse XML nor print: everything
 * goes to the caller's report_sink. */
#include <dirent.h>
#include <errno.h>
#include <gmime/gmime.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <zip.h>
#include <zlib.h>

#include "fileread.h"
#include "report_parse.h"
#include "report_read.h"

struct report_reader {
	struct report_sink sink;
	size_t files;
	size_t no_report;
	bool stopped; /* REPORT_MAX_FILES reached */
};

/* A malloc'd "parent: what" (NULL when out of memory). */
static char *origin_join(const char *parent, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static char *origin_join(const char *parent, const char *fmt, ...)
{
	va_list ap;
	char *what = NULL, *out = NULL;

	va_start(ap, fmt);
	if (vasprintf(&what, fmt, ap) < 0)
		what = NULL;
	va_end(ap);
	report_sanitize(what); /* zip entry and attachment names come from the sender */
	if (what != NULL && asprintf(&out, "%s: %s", parent, what) < 0)
		out = NULL;
	free(what);
	return out;
}

static void skip(struct report_reader *rd, const char *origin, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void skip(struct report_reader *rd, const char *origin, const char *fmt, ...)
{
	char why[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	rd->sink.skip(rd->sink.ctx, origin, why);
}

enum kind { K_XML, K_GZIP, K_ZIP, K_MBOX, K_OTHER };

static enum kind sniff(const uint8_t *p, size_t len)
{
	size_t i = 0;

	if (len >= 2 && p[0] == 0x1f && p[1] == 0x8b)
		return K_GZIP;
	if (len >= 4 && memcmp(p, "PK\x03\x04", 4) == 0)
		return K_ZIP;
	if (len >= 5 && memcmp(p, "From ", 5) == 0)
		return K_MBOX;
	if (len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0) /* UTF-8 byte order mark */
		i = 3;
	while (i < len && strchr(" \t\r\n", p[i]) != NULL && p[i] != '\0')
		i++;
	/* A message or an mbox never starts with '<'; XML always does. */
	if (i < len && p[i] == '<')
		return K_XML;
	return K_OTHER;
}

static void dispatch(struct report_reader *rd, const char *origin, const uint8_t *p, size_t len,
		     int nesting);

/* Room for more output, up to REPORT_MAX_XML + 1 bytes (one byte over the
 * limit tells a bomb from a report of exactly the limit). */
static bool more_room(uint8_t **out, size_t *cap)
{
	size_t c = *cap * 2 > REPORT_MAX_XML + 1 ? REPORT_MAX_XML + 1 : *cap * 2;
	uint8_t *n = realloc(*out, c);

	if (n == NULL)
		return false;
	*out = n;
	*cap = c;
	return true;
}

/* zlib: gzip (and zlib) data into at most REPORT_MAX_XML bytes. Members
 * are concatenated (RFC 1952 2.2); bytes after a member that do not start
 * another one are ignored, as gzip(1) does ("trailing garbage"). */
static void gunzip(struct report_reader *rd, const char *origin, const uint8_t *p, size_t len,
		   int nesting)
{
	z_stream z = {0};
	size_t cap = 64 * 1024, used = 0;
	uint8_t *out = malloc(cap);
	int rc = Z_OK;
	bool over = false;

	if (out == NULL || inflateInit2(&z, 15 + 32) != Z_OK) {
		free(out);
		skip(rd, origin, "out of memory");
		return;
	}
	z.next_in = (Bytef *)p;
	z.avail_in = (uInt)len;
	for (;;) {
		if (rc == Z_STREAM_END) {
			if (z.avail_in < 2 || z.next_in[0] != 0x1f || z.next_in[1] != 0x8b)
				break;
			if (inflateReset(&z) != Z_OK) {
				rc = Z_MEM_ERROR;
				break;
			}
		}
		if (used == cap && (cap > REPORT_MAX_XML || !more_room(&out, &cap))) {
			over = cap > REPORT_MAX_XML;
			rc = Z_MEM_ERROR;
			break;
		}
		z.next_out = out + used;
		z.avail_out = (uInt)(cap - used);
		rc = inflate(&z, Z_NO_FLUSH);
		used = cap - z.avail_out;
		if (rc != Z_OK && rc != Z_STREAM_END)
			break;
		if (rc == Z_OK && z.avail_in == 0 && z.avail_out > 0) {
			rc = Z_BUF_ERROR; /* input ended inside a member */
			break;
		}
	}
	if (over || used > REPORT_MAX_XML)
		skip(rd, origin, "gzip data decompresses to more than REPORT_MAX_XML (%u bytes)",
		     REPORT_MAX_XML);
	else if (rc == Z_MEM_ERROR)
		skip(rd, origin, "out of memory");
	else if (rc == Z_BUF_ERROR)
		skip(rd, origin, "gzip data is truncated");
	else if (rc != Z_STREAM_END)
		skip(rd, origin, "gzip data is corrupt: %s", z.msg ? z.msg : "zlib error");
	else
		dispatch(rd, origin, out, used, nesting + 1);
	inflateEnd(&z);
	free(out);
}

/* One zip entry, read through libzip with the REPORT_MAX_XML cap (the
 * sizes in the zip's directory are checked first, but not trusted). */
static void unzip_entry(struct report_reader *rd, zip_t *za, zip_uint64_t i, const char *origin,
			int nesting)
{
	zip_stat_t st;
	zip_file_t *zf;
	uint8_t *buf;
	zip_int64_t n = 0, got;

	if (zip_stat_index(za, i, 0, &st) != 0) {
		skip(rd, origin, "zip entry unreadable: %s", zip_strerror(za));
		return;
	}
	if ((st.valid & ZIP_STAT_SIZE) && st.size > REPORT_MAX_XML) {
		skip(rd, origin, "zip entry of %llu bytes, more than REPORT_MAX_XML (%u bytes)",
		     (unsigned long long)st.size, REPORT_MAX_XML);
		return;
	}
	zf = zip_fopen_index(za, i, 0);
	buf = malloc((size_t)REPORT_MAX_XML + 1);
	if (zf == NULL || buf == NULL) {
		skip(rd, origin, "zip entry unreadable: %s",
		     zf ? "out of memory" : zip_strerror(za));
		free(buf);
		if (zf)
			zip_fclose(zf);
		return;
	}
	while (n <= REPORT_MAX_XML &&
	       (got = zip_fread(zf, buf + n, (zip_uint64_t)REPORT_MAX_XML + 1 - (zip_uint64_t)n)) >
		       0)
		n += got;
	if (n > REPORT_MAX_XML)
		skip(rd, origin, "zip entry decompresses to more than REPORT_MAX_XML (%u bytes)",
		     REPORT_MAX_XML);
	else if (got < 0)
		skip(rd, origin, "zip entry is corrupt: %s", zip_file_strerror(zf));
	else
		dispatch(rd, origin, buf, (size_t)n, nesting + 1);
	zip_fclose(zf);
	free(buf);
}

static void unzip(struct report_reader *rd, const char *origin, const uint8_t *p, size_t len,
		  int nesting)
{
	zip_error_t ze;
	zip_source_t *src;
	zip_t *za = NULL;
	zip_int64_t n;

	zip_error_init(&ze);
	src = zip_source_buffer_create(p, len, 0, &ze);
	if (src != NULL && (za = zip_open_from_source(src, ZIP_RDONLY, &ze)) == NULL)
		zip_source_free(src);
	if (za == NULL) {
		skip(rd, origin, "not a readable zip: %s", zip_error_strerror(&ze));
		zip_error_fini(&ze);
		return;
	}
	n = zip_get_num_entries(za, 0);
	if (n > REPORT_MAX_ZIP_ENTRIES)
		skip(rd, origin, "zip has %lld entries, more than REPORT_MAX_ZIP_ENTRIES (%d)",
		     (long long)n, REPORT_MAX_ZIP_ENTRIES);
	for (zip_int64_t i = 0; i < n && n <= REPORT_MAX_ZIP_ENTRIES; i++) {
		const char *name = zip_get_name(za, (zip_uint64_t)i, 0);
		char *o;
		if (name != NULL && name[0] != '\0' && name[strlen(name) - 1] == '/')
			continue; /* a directory */
		o = origin_join(origin, "%s", name ? name : "(unnamed entry)");
		if (o == NULL) {
			skip(rd, origin, "out of memory");
			break;
		}
		unzip_entry(rd, za, (zip_uint64_t)i, o, nesting);
		free(o);
	}
	zip_discard(za);
	zip_error_fini(&ze);
}

/* MIME: the leaf parts of a message, within the depth and part limits. */
struct parts {
	GMimePart *leaf[REPORT_MAX_MIME_PARTS];
	size_t nleaf, total;
	const char *over; /* the limit hit, or NULL */
};

static void mime_collect(GMimeObject *o, int depth, struct parts *ps)
{
	if (ps->over != NULL || o == NULL)
		return;
	if (depth > REPORT_MAX_MIME_DEPTH) {
		ps->over = "REPORT_MAX_MIME_DEPTH";
		return;
	}
	if (++ps->total > REPORT_MAX_MIME_PARTS) {
		ps->over = "REPORT_MAX_MIME_PARTS";
		return;
	}
	if (GMIME_IS_MULTIPART(o)) {
		GMimeMultipart *mp = GMIME_MULTIPART(o);
		for (int i = 0; i < g_mime_multipart_get_count(mp); i++)
			mime_collect(g_mime_multipart_get_part(mp, i), depth + 1, ps);
	} else if (GMIME_IS_MESSAGE_PART(o)) {
		GMimeMessage *m = g_mime_message_part_get_message(GMIME_MESSAGE_PART(o));
		if (m != NULL)
			mime_collect(g_mime_message_get_mime_part(m), depth + 1, ps);
	} else if (GMIME_IS_PART(o)) {
		ps->leaf[ps->nleaf++] = GMIME_PART(o);
	}
}

/* A part worth opening: a gzip or zip, or XML labelled as such (type
 * text/xml, application/xml, or a name ending .xml), so that an HTML body
 * is not taken for a broken report. */
static bool report_like(GMimePart *part, enum kind k)
{
	GMimeContentType *ct = g_mime_object_get_content_type(GMIME_OBJECT(part));
	const char *sub = ct ? g_mime_content_type_get_media_subtype(ct) : NULL;
	const char *fname = g_mime_part_get_filename(part);
	size_t n = fname ? strlen(fname) : 0;

	if (k == K_GZIP || k == K_ZIP)
		return true;
	if (k != K_XML)
		return false;
	return (sub != NULL && strcasestr(sub, "xml") != NULL) ||
	       (n >= 4 && strcasecmp(fname + n - 4, ".xml") == 0);
}

/* Hands one leaf part to dispatch() when it holds a gzip, a zip or XML;
 * returns true if it did. */
static bool mime_part(struct report_reader *rd, const char *origin, size_t n, GMimePart *part,
		      int nesting)
{
	GMimeDataWrapper *w = g_mime_part_get_content(part);
	GMimeStream *mem;
	GByteArray *ba;
	const char *fname = g_mime_part_get_filename(part);
	bool found = false;

	if (w == NULL)
		return false;
	mem = g_mime_stream_mem_new();
	if (g_mime_data_wrapper_write_to_stream(w, mem) >= 0) {
		ba = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
		if (report_like(part, sniff(ba->data, ba->len))) {
			char *o = fname ? origin_join(origin, "part %zu (%s)", n, fname)
					: origin_join(origin, "part %zu", n);
			found = true;
			if (o == NULL)
				skip(rd, origin, "out of memory");
			else
				dispatch(rd, o, ba->data, ba->len, nesting + 1);
			free(o);
		}
	}
	g_object_unref(mem);
	return found;
}

static void mime_message(struct report_reader *rd, const char *origin, GMimeMessage *m, int nesting)
{
	struct parts ps = {0};
	bool found = false;

	mime_collect(g_mime_message_get_mime_part(m), 1, &ps);
	if (ps.over != NULL) {
		skip(rd, origin, "message has more MIME %s than %s (%d): not read",
		     strcmp(ps.over, "REPORT_MAX_MIME_DEPTH") == 0 ? "nesting" : "parts", ps.over,
		     strcmp(ps.over, "REPORT_MAX_MIME_DEPTH") == 0 ? REPORT_MAX_MIME_DEPTH
								   : REPORT_MAX_MIME_PARTS);
		return;
	}
	for (size_t i = 0; i < ps.nleaf; i++)
		found |= mime_part(rd, origin, i + 1, ps.leaf[i], nesting);
	if (!found)
		rd->no_report++;
}

static void mime(struct report_reader *rd, const char *origin, const uint8_t *p, size_t len,
		 bool mbox, int nesting)
{
	GMimeStream *s = g_mime_stream_mem_new_with_buffer((const char *)p, len);
	GMimeParser *pr = g_mime_parser_new_with_stream(s);
	size_t n = 0;

	g_mime_parser_set_format(pr, mbox ? GMIME_FORMAT_MBOX : GMIME_FORMAT_MESSAGE);
	while (!g_mime_parser_eos(pr)) {
		GMimeMessage *m = g_mime_parser_construct_message(pr, NULL);
		char *o;
		if (m == NULL)
			break;
		n++;
		o = mbox ? origin_join(origin, "message %zu", n) : strdup(origin);
		if (o != NULL)
			mime_message(rd, o, m, nesting);
		else
			skip(rd, origin, "out of memory");
		free(o);
		g_object_unref(m);
		if (!mbox)
			break;
	}
	if (n == 0)
		skip(rd, origin, "not a DMARC report (XML, gzip or zip), a message or an mbox");
	g_object_unref(pr);
	g_object_unref(s);
}

static void dispatch(struct report_reader *rd, const char *origin, const uint8_t *p, size_t len,
		     int nesting)
{
	enum kind k = sniff(p, len);

	if (nesting > REPORT_MAX_NESTING) {
		skip(rd, origin, "containers nested deeper than REPORT_MAX_NESTING (%d)",
		     REPORT_MAX_NESTING);
		return;
	}
	if ((k == K_GZIP || k == K_ZIP) && len > REPORT_MAX_COMPRESSED) {
		skip(rd, origin, "%zu bytes of %s, more than REPORT_MAX_COMPRESSED (%u bytes)", len,
		     k == K_GZIP ? "gzip" : "zip", REPORT_MAX_COMPRESSED);
		return;
	}
	if (k == K_XML && len > REPORT_MAX_XML) {
		skip(rd, origin, "%zu bytes of XML, more than REPORT_MAX_XML (%u bytes)", len,
		     REPORT_MAX_XML);
		return;
	}
	switch (k) {
	case K_XML: rd->sink.xml(rd->sink.ctx, origin, p, len); break;
	case K_GZIP: gunzip(rd, origin, p, len, nesting); break;
	case K_ZIP: unzip(rd, origin, p, len, nesting); break;
	case K_MBOX:
	case K_OTHER:
		if (nesting == 0)
			mime(rd, origin, p, len, k == K_MBOX, nesting);
		else
			skip(rd, origin, "not a DMARC report (XML, gzip or zip)");
		break;
	}
}

void report_read_bytes(struct report_reader *rd, const char *origin, const uint8_t *p, size_t len)
{
	dispatch(rd, origin, p, len, 0);
}

static bool read_file(struct report_reader *rd, const char *path)
{
	struct fileread_file f;
	struct fileread_error e;

	if (rd->stopped)
		return false;
	if (rd->files == REPORT_MAX_FILES) {
		rd->stopped = true;
		skip(rd, path,
		     "more than REPORT_MAX_FILES (%d) files in one run: this and the rest not read",
		     REPORT_MAX_FILES);
		return false;
	}
	rd->files++;
	if (fileread(path, FILEREAD_CAP(REPORT_MAX_FILE), &f, &e) != FILEREAD_OK) {
		skip(rd, path, "%s", e.why);
		return true;
	}
	dispatch(rd, path, f.data, f.len, 0);
	fileread_free(&f);
	return true;
}

static bool is_maildir_tmp(const char *dir, const char *name)
{
	char *cur;
	struct stat st;
	bool yes;

	if (strcmp(name, "tmp") != 0 || asprintf(&cur, "%s/cur", dir) < 0)
		return false;
	yes = stat(cur, &st) == 0 && S_ISDIR(st.st_mode);
	free(cur);
	return yes;
}

static bool read_dir(struct report_reader *rd, const char *path, int depth);

static bool read_entry(struct report_reader *rd, const char *dir, const char *name, int depth)
{
	char *p;
	struct stat st;
	bool go = true;

	if (name[0] == '.' || is_maildir_tmp(dir, name))
		return true;
	if (asprintf(&p, "%s%s%s", dir, dir[0] && dir[strlen(dir) - 1] == '/' ? "" : "/", name) <
	    0) {
		skip(rd, dir, "out of memory");
		return true;
	}
	if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
		go = read_dir(rd, p, depth + 1);
	else if (!(lstat(p, &st) == 0 && S_ISLNK(st.st_mode) && stat(p, &st) == 0 &&
		   S_ISDIR(st.st_mode)))
		go = read_file(rd, p);
	free(p);
	return go;
}

static bool read_dir(struct report_reader *rd, const char *path, int depth)
{
	struct dirent **names;
	int n;
	bool go = true;

	if (depth > REPORT_MAX_DIR_DEPTH) {
		skip(rd, path, "directories nested deeper than REPORT_MAX_DIR_DEPTH (%d): not read",
		     REPORT_MAX_DIR_DEPTH);
		return true;
	}
	n = scandir(path, &names, NULL, alphasort);
	if (n < 0) {
		skip(rd, path, "cannot read the directory: %s", strerror(errno));
		return true;
	}
	for (int i = 0; i < n; i++) {
		if (go)
			go = read_entry(rd, path, names[i]->d_name, depth);
		free(names[i]);
	}
	free(names);
	return go;
}

bool report_read_path(struct report_reader *rd, const char *path)
{
	struct stat st;

	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return read_dir(rd, path, 0);
	return read_file(rd, path);
}

struct report_reader *report_reader_new(const struct report_sink *sink)
{
	struct report_reader *rd = calloc(1, sizeof(*rd));

	if (rd == NULL)
		return NULL;
	rd->sink = *sink;
	g_mime_init();
	return rd;
}

void report_reader_free(struct report_reader *rd)
{
	if (rd == NULL)
		return;
	g_mime_shutdown();
	free(rd);
}

size_t report_reader_no_report(const struct report_reader *rd)
{
	return rd->no_report;
}
