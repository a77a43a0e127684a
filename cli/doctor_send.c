/* doctor_send.c: signet doctor --send-test ADDR. One message goes through
 * the local Postfix the way a local program sends (sendmail(1): pickup,
 * cleanup, non_smtpd_milters), so signetd should sign it; Postfix's log
 * says what became of it (queued, rejected by a milter, sent, deferred,
 * bounced). With --mailbox, the delivered copy is found by its Message-ID
 * and judged by `signet verify --dns`, the same check a receiver makes. */
#include <dirent.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "doctor.h"
#include "run.h"

#define SEND_AREA "send"
#define SEND_WAIT_S 60                     /* for Postfix to log the delivery status */
#define SEND_LOG_TAIL (4 * 1024 * 1024)    /* bytes of the mail log read each time */
#define SEND_MAX_MAILBOX_FILES 100000      /* Maildir files looked at */
#define SEND_MAX_MBOX (256u * 1024 * 1024) /* an mbox file searched for the message */
#define SEND_LINE_MAX 1024

struct send_test {
	char mid[320];              /* Message-ID without <> */
	char from[300];             /* postmaster@DOMAIN */
	char qid[64];               /* Postfix's queue id, once logged */
	char status[SEND_LINE_MAX]; /* "sent (delivered to maildir)" ... */
	char reject[SEND_LINE_MAX]; /* a milter-reject line */
};

static bool write_message(const struct send_test *t, const char *addr, char *path, size_t cap)
{
	snprintf(path, cap, "/tmp/signet-doctor-XXXXXX");
	int fd = mkstemp(path);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (f == NULL)
		return false;
	char date[64];
	time_t now = time(NULL);
	strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", gmtime(&now));
	fprintf(f,
		"From: signet doctor <%s>\nTo: <%s>\nSubject: signet doctor test\nDate: %s\n"
		"Message-ID: <%s>\nMIME-Version: 1.0\nContent-Type: text/plain; "
		"charset=us-ascii\n\n"
		"This message was sent by `signet doctor --send-test` to check that mail from\n"
		"this host is DKIM-signed by signetd. It can be deleted.\n",
		t->from, addr, date, t->mid);
	return fclose(f) == 0;
}

/* sendmail_path as this Postfix has it (postconf -h sendmail_path). */
static bool sendmail_path(struct doctor *d, char *out, size_t cap)
{
	static const char *const args[] = {"-h", "sendmail_path"};
	struct run_result r;
	bool ok = doctor_postconf(d, args, 2, &r);
	if (ok)
		snprintf(out, cap, "%.*s", (int)strcspn(r.out, "\n"), r.out);
	run_result_free(&r);
	return ok && out[0] != '\0';
}

static bool submit(struct doctor *d, const struct send_test *t, const char *addr, const char *file)
{
	char sendmail[1024];
	if (!sendmail_path(d, sendmail, sizeof sendmail))
		return false;
	char *argv[12];
	size_t n = 0;
	argv[n++] = sendmail;
	if (d->postfix_config != NULL) {
		argv[n++] = (char *)"-C";
		argv[n++] = (char *)d->postfix_config;
	}
	argv[n++] = (char *)"-i";
	argv[n++] = (char *)"-f";
	argv[n++] = (char *)t->from;
	argv[n++] = (char *)"--";
	argv[n++] = (char *)addr;
	argv[n] = NULL;
	struct run_result r;
	bool ok = run_capture_from(argv, file, RUN_TIMEOUT_S, &r) && r.status == 0;
	if (!ok)
		doctor_say(d, DOCTOR_FAIL, SEND_AREA, "check that Postfix runs (postfix status)",
			   "%s did not take the test message (exit %d): %.300s", sendmail, r.status,
			   r.err);
	run_result_free(&r);
	return ok;
}

/* Where Postfix logs: maillog_file (postlogd, Postfix 3.4+), else the
 * Debian syslog file. */
static bool maillog_path(struct doctor *d, const char *given, char *out, size_t cap)
{
	if (given != NULL) {
		snprintf(out, cap, "%s", given);
		return true;
	}
	static const char *const args[] = {"-h", "maillog_file"};
	struct run_result r;
	if (doctor_postconf(d, args, 2, &r))
		snprintf(out, cap, "%.*s", (int)strcspn(r.out, "\n"), r.out);
	run_result_free(&r);
	if (out[0] == '\0' && access("/var/log/mail.log", R_OK) == 0)
		snprintf(out, cap, "/var/log/mail.log");
	return out[0] != '\0';
}

static char *read_tail(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	char *buf = malloc(SEND_LOG_TAIL + 1);
	if (buf != NULL && fseek(f, 0, SEEK_END) == 0) {
		long size = ftell(f);
		if (size > SEND_LOG_TAIL)
			fseek(f, size - SEND_LOG_TAIL, SEEK_SET);
		else
			rewind(f);
		size_t n = fread(buf, 1, SEND_LOG_TAIL, f);
		buf[n] = '\0';
	}
	fclose(f);
	return buf;
}

static void copy_rest(char *out, size_t cap, const char *from)
{
	snprintf(out, cap, "%.*s", (int)strcspn(from, "\n"), from);
}

/* Reads the log for the queue id (cleanup's "QID: message-id=<MID>"), then
 * a milter reject or the delivery status of that queue id. */
static void scan_log(const char *log, struct send_test *t)
{
	char needle[400];
	if (t->qid[0] == '\0') {
		snprintf(needle, sizeof needle, ": message-id=<%s>", t->mid);
		const char *m = strstr(log, needle);
		if (m == NULL)
			return;
		const char *start = m;
		while (start > log && start[-1] != ' ')
			start--;
		snprintf(t->qid, sizeof t->qid, "%.*s", (int)(m - start), start);
	}
	snprintf(needle, sizeof needle, " %s: ", t->qid);
	for (const char *p = strstr(log, needle); p != NULL; p = strstr(p + 1, needle)) {
		const char *rest = p + strlen(needle);
		const char *eol = rest + strcspn(rest, "\n");
		const char *st = strstr(rest, "status=");
		if (strncmp(rest, "milter-reject: ", 15) == 0)
			copy_rest(t->reject, sizeof t->reject, rest + 15);
		else if (st != NULL && st < eol)
			copy_rest(t->status, sizeof t->status, st + 7);
	}
}

static bool follow(struct doctor *d, struct send_test *t, const char *logfile)
{
	for (int tick = 0; tick < SEND_WAIT_S * 5; tick++) {
		char *log = read_tail(logfile);
		if (log != NULL)
			scan_log(log, t);
		free(log);
		if (t->reject[0] != '\0' || strncmp(t->status, "sent", 4) == 0 ||
		    strncmp(t->status, "bounced", 7) == 0)
			break;
		usleep(200 * 1000);
	}
	if (t->reject[0] != '\0') {
		doctor_say(d, DOCTOR_FAIL, SEND_AREA,
			   "read signetd's log line for this queue id; signet policy shows its "
			   "signing decision",
			   "test message %s was rejected by a milter: %s", t->qid, t->reject);
		return false;
	}
	if (t->qid[0] == '\0') {
		doctor_say(d, DOCTOR_FAIL, SEND_AREA, "check that Postfix's pickup and cleanup run",
			   "test message <%s> does not appear in %s within %d s", t->mid, logfile,
			   SEND_WAIT_S);
		return false;
	}
	if (strncmp(t->status, "sent", 4) != 0) {
		doctor_say(d, t->status[0] ? DOCTOR_FAIL : DOCTOR_WARN, SEND_AREA,
			   "postqueue -p shows why it waits", "test message %s: %s", t->qid,
			   t->status[0] ? t->status : "no delivery status yet (still queued)");
		return false;
	}
	doctor_say(d, DOCTOR_OK, SEND_AREA, NULL, "test message %s: status=%s", t->qid, t->status);
	return true;
}

/* A Maildir (cur/, new/) or an mbox file: the path of a file holding only
 * the message with the Message-ID (an mbox message is copied out). */
static bool find_in_file(const char *path, const char *mid, char *out, size_t cap, bool mbox)
{
	struct fileread_file fr;
	/* an mbox may be large: one message's bound is not the file's */
	struct fileread_cap lim =
		mbox ? FILEREAD_CAP(SEND_MAX_MBOX) : FILEREAD_CAP(CLI_MAX_MESSAGE);
	if (fileread(path, lim, &fr, NULL) != FILEREAD_OK)
		return false;
	size_t len = fr.len;
	const uint8_t *data = fr.data;
	char needle[330];
	snprintf(needle, sizeof needle, "<%s>", mid);
	const char *text = (const char *)data, *hit = memmem(text, len, needle, strlen(needle));
	bool found = hit != NULL;
	if (found && !mbox) {
		snprintf(out, cap, "%s", path);
	} else if (found) {
		const char *start = hit, *end = text + len;
		while (start > text && !(start[-1] == '\n' && strncmp(start, "From ", 5) == 0))
			start--;
		start += strcspn(start, "\n") + 1; /* after the "From " separator line */
		const char *next = memmem(hit, (size_t)(end - hit), "\nFrom ", 6);
		if (next != NULL)
			end = next + 1;
		snprintf(out, cap, "/tmp/signet-doctor-mbox-XXXXXX");
		int fd = mkstemp(out);
		found = fd >= 0 && write(fd, start, (size_t)(end - start)) == end - start;
		if (fd >= 0)
			close(fd);
	}
	fileread_free(&fr);
	return found;
}

static bool find_in_maildir(const char *dir, const char *mid, char *out, size_t cap)
{
	static const char *const sub[] = {"new", "cur"};
	size_t seen = 0;
	for (size_t k = 0; k < 2; k++) {
		char path[4096];
		snprintf(path, sizeof path, "%s/%s", dir, sub[k]);
		DIR *dp = opendir(path);
		struct dirent *e;
		while (dp != NULL && (e = readdir(dp)) != NULL && seen++ < SEND_MAX_MAILBOX_FILES) {
			char file[8192];
			if (e->d_name[0] == '.')
				continue;
			snprintf(file, sizeof file, "%s/%s", path, e->d_name);
			if (find_in_file(file, mid, out, cap, false)) {
				closedir(dp);
				return true;
			}
		}
		if (dp != NULL)
			closedir(dp);
	}
	return false;
}

static void verify_delivered(struct doctor *d, const struct send_test *t, const char *mailbox)
{
	char copy[8192] = "";
	struct stat st;
	bool maildir = stat(mailbox, &st) == 0 && S_ISDIR(st.st_mode), found = false;
	for (int tick = 0; tick < 50 && !found; tick++) {
		found = maildir ? find_in_maildir(mailbox, t->mid, copy, sizeof copy)
				: find_in_file(mailbox, t->mid, copy, sizeof copy, true);
		if (!found)
			usleep(200 * 1000);
	}
	if (!found) {
		doctor_say(d, DOCTOR_FAIL, SEND_AREA, "give the mailbox the address delivers to",
			   "test message <%s> is not in %s", t->mid, mailbox);
		return;
	}
	char *argv[8] = {(char *)d->self, (char *)"verify", (char *)"--dns", NULL};
	size_t n = 3;
	if (d->server != NULL) {
		argv[n++] = (char *)"--server";
		argv[n++] = (char *)d->server;
	}
	argv[n++] = copy;
	argv[n] = NULL;
	struct run_result r;
	bool ran = run_capture(argv, RUN_TIMEOUT_S, &r);
	const char *text = r.out_len > 0 ? r.out : r.err;
	int len = (int)strcspn(text, "\n");
	if (ran && r.status == 0)
		doctor_say(d, DOCTOR_OK, SEND_AREA, NULL, "the delivered copy verifies: %.*s", len,
			   text);
	else
		doctor_say(d, DOCTOR_FAIL, SEND_AREA,
			   "signet verify --dns --explain on the delivered copy shows each step",
			   "the delivered copy (%s) does not verify: %.*s", copy, len, text);
	run_result_free(&r);
	if (!maildir)
		unlink(copy);
}

void doctor_send_test(struct doctor *d, const struct signetd_config *cfg, const char *addr,
		      const char *mailbox, const char *maillog)
{
	struct send_test t = {0};
	if (cfg->signing.ndomains == 0) {
		doctor_say(d, DOCTOR_FAIL, SEND_AREA, "add a signing domain first",
			   "no signing domain configured: a test message would not be signed");
		return;
	}
	const char *domain = cfg->signing.domains[0].name;
	snprintf(t.from, sizeof t.from, "postmaster@%s", domain);
	snprintf(t.mid, sizeof t.mid, "signet-doctor.%lld.%d@%s", (long long)time(NULL),
		 (int)getpid(), domain);
	char file[64], logfile[4096] = "";
	if (!maillog_path(d, maillog, logfile, sizeof logfile)) {
		doctor_say(d, DOCTOR_FAIL, SEND_AREA, "give --maillog FILE",
			   "cannot find Postfix's log (no maillog_file, no /var/log/mail.log)");
		return;
	}
	if (!write_message(&t, addr, file, sizeof file)) {
		doctor_say(d, DOCTOR_FAIL, SEND_AREA, NULL,
			   "cannot write the test message in /tmp");
		return;
	}
	bool sent = submit(d, &t, addr, file) && follow(d, &t, logfile);
	unlink(file);
	if (sent && mailbox != NULL)
		verify_delivered(d, &t, mailbox);
	else if (sent)
		doctor_say(d, DOCTOR_OK, SEND_AREA, NULL,
			   "check the Authentication-Results of the copy at %s (dkim=pass "
			   "header.d=%s); "
			   "--mailbox DIR|FILE verifies a local copy here",
			   addr, domain);
}
