/* report_read.h: finds DMARC aggregate reports in what a user hands to
 * `signet dmarc digest`: report files (XML, gzip, zip), whole messages
 * carrying them as attachments, mboxes, Maildirs and directories of these.
 * Formats are recognised by content (magic bytes), not by file name. It
 * hands each XML document to the caller and does not parse it
 * (report_parse.h). zlib, libzip and GMime do the decoding. */
#ifndef SIGNET_REPORT_READ_H
#define SIGNET_REPORT_READ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Limits (doc/signet.1 "dmarc digest", doc/SECURITY.md). */
#define REPORT_MAX_FILE (64u * 1024 * 1024)       /* a file read from disk (mbox included) */
#define REPORT_MAX_COMPRESSED (16u * 1024 * 1024) /* one gzip or zip (file, attachment) */
#define REPORT_MAX_XML (32u * 1024 * 1024)        /* one report after decompression */
#define REPORT_MAX_FILES 10000                    /* files read in one run */
#define REPORT_MAX_DIR_DEPTH 8                    /* directories below one named */
#define REPORT_MAX_ZIP_ENTRIES 16                 /* entries in one zip */
#define REPORT_MAX_NESTING 4     /* containers in containers: a zip in a gzip in a message */
#define REPORT_MAX_MIME_DEPTH 8  /* nested multiparts and message/rfc822 in a message */
#define REPORT_MAX_MIME_PARTS 64 /* MIME parts in a message */

/* Where the reader hands what it finds. origin names it for messages:
 * "dir/a.zip: report.xml", "inbox.mbox: message 2: part 3 (rua.xml.gz)";
 * borrowed for the call only. */
struct report_sink {
	void *ctx;
	/* One XML document (not yet parsed): bytes borrowed for the call. */
	void (*xml)(void *ctx, const char *origin, const uint8_t *p, size_t len);
	/* Something that could not be read, and why ("decompresses to more
	 * than REPORT_MAX_XML (33554432 bytes)"). */
	void (*skip)(void *ctx, const char *origin, const char *why);
};

struct report_reader;

/* A reader that hands what it finds to *sink (copied). NULL: no memory. */
struct report_reader *report_reader_new(const struct report_sink *sink);
/* Frees the reader; NULL is a no-op. */
void report_reader_free(struct report_reader *rd);

/* Reads a file or a directory (recursively, in name order; names starting
 * with "." and a Maildir's tmp/ are not read, symbolic links to
 * directories are not followed). Returns false once REPORT_MAX_FILES files
 * were read (the rest of the run is skipped, and skip() says so once). */
bool report_read_path(struct report_reader *rd, const char *path)
	__attribute__((warn_unused_result));

/* Reads bytes as if they were a file named origin (the fuzzer's entry). */
void report_read_bytes(struct report_reader *rd, const char *origin, const uint8_t *p, size_t len);

/* Messages seen that carried no report (not an error: a Maildir holds
 * other mail too). */
size_t report_reader_no_report(const struct report_reader *rd);

#endif
