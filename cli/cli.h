/* cli.h: the signet command-line tool's subcommands and the small modules
 * they share (reading files, private keys, the KEYSFILE format, DNS TXT
 * lookups). Everything here prints its own errors to stderr; libsignet
 * never prints. */
#ifndef SIGNET_CLI_H
#define SIGNET_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <signet/key.h>
#include <signet/spf.h>
#include <signet/verifier.h>

#include "fileread.h" /* the file reader shared with signetd (conf/fileread.h) */

/* Exit codes shared by every subcommand (verify and dnscheck add their own
 * result codes; see doc/signet.1, EXIT STATUS). */
#define CLI_EXIT_OK 0
#define CLI_EXIT_FAIL 1
#define CLI_EXIT_USAGE 64 /* EX_USAGE (sysexits.h) */

/* The CLI reproduces the message it signs, so it keeps it in memory;
 * beyond this bound it says so instead of exhausting memory. */
#define CLI_MAX_MESSAGE FILEREAD_MAX_MESSAGE   /* 64 MiB */
#define CLI_MAX_KEYFILE FILEREAD_MAX_KEY       /* 64 KiB; a PEM private key is < 4 KiB */
#define CLI_MAX_KEYSFILE FILEREAD_MAX_KEYSFILE /* 16 MiB of test records */

int cmd_keygen(int argc, char **argv);
int cmd_sign(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_dnscheck(int argc, char **argv);
int cmd_spf(int argc, char **argv);
int cmd_dmarc(int argc, char **argv);  /* cmd_dmarc.c: `signet dmarc <sub>` */
int cmd_doctor(int argc, char **argv); /* cmd_doctor.c: the whole setup, one report */
int cmd_policy(int argc, char **argv); /* cmd_policy.c: runs conf/ (signetd's own policy) */
int cmd_import_opendkim(int argc, char **argv); /* cmd_import_opendkim.c */
int cmd_rotate(int argc, char **argv);          /* cmd_rotate.c: key rotation (conf/rotation.h) */
/* cmd_dmarc_report.c: `signet dmarc report` (issue #15) */
int cmd_dmarc_report(int argc, char **argv);
int cmd_arc(int argc, char **argv); /* cmd_arc.c: arc seal */

/* cmd_spf.c: an SPF outcome as `signet spf` prints it: one JSON object (no
 * newline), or the result word (and with explain every term). Shared with
 * `signet verify`. */
void spf_print_json(const struct signet_spf_outcome *o);
void spf_print_text(const struct signet_spf_outcome *o, bool explain);

/* util.c: messages, option parsing helpers. */
void cli_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints "signet CMD: <why>", the usage text and a --help hint to stderr;
 * returns CLI_EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *usage, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Turns getopt_long's '?' or ':' into a usage error naming the option. */
int cli_bad_option(const char *cmd, const char *usage, int c, char **argv);
/* Decimal unsigned 64-bit integer, the whole string; false otherwise. */
bool cli_parse_u64(const char *s, uint64_t *out);
/* RFC 6376 3.5: t= and x= are 1*12DIGIT, so a time is at most this. */
#define CLI_MAX_TIME 999999999999ULL
/* A --time value: unix seconds, 0..CLI_MAX_TIME; false otherwise. */
bool cli_parse_time(const char *s, uint64_t *out);
/* "N thing" or "N things": one for n == 1, many otherwise (count messages). */
const char *cli_plural(size_t n, const char *one, const char *many);
/* Writes all bytes; false (with a message naming what) on error. */
bool cli_write(FILE *f, const void *p, size_t len);
/* A domain or selector (what = "domain" / "selector"); prints why not. */
bool cli_valid_dns_name(const char *what, const char *name);
/* fflush + ferror check of stdout at the end of a command. */
bool cli_flush_stdout(void);

/* io.c: files. path NULL or "-" means stdin. On failure prints why
 * (naming the file, its mode and owner and our uid when it is a permission
 * problem) and returns false. *out is malloc'd, NUL-terminated (not
 * counted in *len); the caller frees it. */
bool io_read_file(const char *path, const char *what, struct fileread_cap cap, uint8_t **out,
		  size_t *len);
/* Opens path (or stdin) for reading as fileread_open does (a regular file
 * of at most cap.max bytes; the caller stops reading there); -1 after
 * printing why. */
int io_open(const char *path, const char *what, struct fileread_cap cap);
/* Prints "cannot read PATH: <errno text> (<ownership facts>)". */
void io_open_error(const char *path, const char *what, int errnum);
/* Prints why fileread refused path: "cannot read WHAT PATH: it is a FIFO,
 * not a regular file", or io_open_error's text for a permission problem. */
void io_fileread_error(const char *path, const char *what, const struct fileread_error *e);

/* private_key.c: load a private key file, warning when group/others can read
 * it. NULL after printing why. */
struct signet_key *keyfile_load(const char *path);
/* "RSA 2048-bit" / "ed25519" for messages. */
const char *keyfile_describe(const struct signet_key *key, char *buf, size_t cap);

/* zonefile.c: the ZONEFILE of DESIGN.md (offline DNS: TXT, A, AAAA, MX,
 * PTR, CNAME, TIMEOUT), of which the KEYSFILE of `verify --keys` is a case.
 * NULL after printing why (the file and line). */
#define ZONE_RR_CNAME ((enum signet_rrtype)5)
struct zonefile;
struct zonefile *zonefile_load(const char *path, const char *what);
struct zonefile *zonefile_parse(const char *path, const uint8_t *data, size_t len);
/* The records of type at name (names compare case-insensitively, a final
 * dot ignored; CNAMEs followed): up to cap borrowed from z, *n the number
 * found. OK with *n = 0: the name exists without that type (NODATA). */
enum signet_dns_status zonefile_lookup(const struct zonefile *z, const char *name,
				       enum signet_rrtype type, struct signet_rr *out, size_t cap,
				       size_t *n);
/* TXT for a DKIM key query: NODATA is NXDOMAIN ("no key", RFC 6376 6.1.2). */
enum signet_dns_status keysfile_lookup(const struct zonefile *z, const char *name,
				       struct signet_txt *out, size_t cap, size_t *n);
void zonefile_free(struct zonefile *z);

/* dns.c: lookups through the system resolver (libresolv). */
struct dns_resolver;
struct dns_rr {
	/* TXT: the character-strings joined (RFC 6376 3.6.2.2), NUL-terminated;
	 * A/AAAA: the address bytes; MX (with pref), PTR: the name as text */
	uint8_t *data;
	uint16_t pref;
	size_t len;
	size_t nstrings;
	size_t *lens; /* length of each character-string, in order */
};
struct dns_answer {
	enum signet_dns_status status;
	char why[160]; /* for messages: "NXDOMAIN", "timeout or SERVFAIL", ... */
	struct dns_rr *rr;
	size_t n;
};
/* server: NULL for /etc/resolv.conf, or "IPv4[@PORT]", "IPv6[@PORT]",
 * "[IPv6]", "[IPv6]:PORT" or "[IPv6]@PORT" (PORT 53 if not given). NULL after
 * printing why. */
struct dns_resolver *dns_open(const char *server);
/* Looks up the TXT records at name. Returns false only on a local error
 * (no memory), after printing why; DNS outcomes are in a->status. */
bool dns_txt(struct dns_resolver *r, const char *name, struct dns_answer *a);
/* The same for type (ns_t_txt, ns_t_a, ns_t_aaaa, ns_t_mx, ns_t_ptr). NODATA
 * is reported as NXDOMAIN with n = 0. */
bool dns_query(struct dns_resolver *r, const char *name, int type, struct dns_answer *a);
/* ns_t_a, ns_t_aaaa, ns_t_mx, ns_t_ptr for an SPF/DMARC question's type;
 * ns_t_txt for any other. */
int dns_query_type(enum signet_rrtype t);
void dns_answer_free(struct dns_answer *a);
void dns_close(struct dns_resolver *r);

/* psl.c: the public suffix list at path (DKIM-VER-17). NULL, after a
 * warning, when it cannot be read or parsed; NULL without one when path is
 * NULL or "" (the check is off). The caller frees it (signet_psl_free). */
struct signet_psl;
struct signet_psl *psl_load(const char *path);

/* record.c: the public key record to publish. record_for_key fills out
 * (cap bytes; 2048 is enough for RSA-4096) or prints why not. */
#define CLI_RECORD_MAX 2048
bool record_for_key(const struct signet_key *key, char *out, size_t cap);
/* "SELECTOR._domainkey.DOMAIN. IN TXT ( "..." "..." )" and a newline. */
void record_print_zone(FILE *f, const char *selector, const char *domain, const char *rec);

/* recordcheck.c: dnscheck's checks of one TXT record. Findings go to
 * stdout as "problem: ... / fix: ..." or "warning: ..." and are counted. */
struct check_report {
	unsigned problems, warnings;
};
void check_problem(struct check_report *rep, const char *fix, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* key and keyfile may be NULL (no -k). */
void recordcheck_run(const struct dns_rr *rr, const struct signet_key *key, const char *keyfile,
		     struct check_report *rep);

/* json.c: a JSON string literal for arbitrary bytes (valid UTF-8 passes
 * through, control bytes as \u00XX, invalid UTF-8 as \ufffd). */
void json_string(FILE *f, const char *s);
/* The same for len bytes that may contain NUL (as \u0000). */
void json_bytes(FILE *f, const uint8_t *p, size_t len);

#endif
