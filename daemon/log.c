/* log.c: syslog or stderr lines (log.h). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "log.h"

static bool use_stderr = true;
static bool debug_on;

static int facility_code(const char *name)
{
	static const struct {
		const char *name;
		int code;
	} map[] = {
		{"mail", LOG_MAIL},     {"daemon", LOG_DAEMON}, {"user", LOG_USER},
		{"local0", LOG_LOCAL0}, {"local1", LOG_LOCAL1}, {"local2", LOG_LOCAL2},
		{"local3", LOG_LOCAL3}, {"local4", LOG_LOCAL4}, {"local5", LOG_LOCAL5},
		{"local6", LOG_LOCAL6}, {"local7", LOG_LOCAL7},
	};
	for (size_t k = 0; name != NULL && k < sizeof map / sizeof map[0]; k++)
		if (strcmp(map[k].name, name) == 0)
			return map[k].code;
	return LOG_MAIL;
}

void log_open(bool to_stderr, const char *facility, bool debug)
{
	use_stderr = to_stderr;
	debug_on = debug;
	if (!to_stderr)
		openlog("signetd", LOG_PID | LOG_NDELAY, facility_code(facility));
}

/* Log lines carry attacker text (tag values, addresses, reasons): control
 * bytes are written as \xNN so a CR or LF cannot forge a line. */
static void escape(const char *in, char *out, size_t cap)
{
	size_t o = 0;
	for (const unsigned char *p = (const unsigned char *)in; *p != '\0' && o + 5 < cap; p++) {
		if (*p < 0x20 || *p == 0x7f)
			o += (size_t)snprintf(out + o, cap - o, "\\x%02x", *p);
		else
			out[o++] = (char)*p;
	}
	out[o] = '\0';
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	static const int prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
	static const char *const word[] = {"error", "warning", "info", "debug"};
	if (lvl == LOG_LVL_DEBUG && !debug_on)
		return;
	char raw[2048], line[2048 * 4];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(raw, sizeof raw, fmt, ap);
	va_end(ap);
	escape(raw, line, sizeof line);
	if (!use_stderr) {
		syslog(prio[lvl], "%s", line);
		return;
	}
	char when[32];
	time_t now = time(NULL);
	struct tm tm;
	localtime_r(&now, &tm);
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
	/* One fprintf per line: stdio locks the stream, so lines do not interleave. */
	fprintf(stderr, "%s signetd[%s]: %s\n", when, word[lvl], line);
}
