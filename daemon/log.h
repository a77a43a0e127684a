/* log.h: signetd's logging: one line per event to syslog (facility mail)
 * or stderr. Thread-safe; the target is set once at start. */
#ifndef SIGNETD_LOG_H
#define SIGNETD_LOG_H

#include <stdbool.h>

enum log_level { LOG_LVL_ERR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

/* to_stderr: lines go to stderr with a timestamp; otherwise syslog with
 * ident "signetd" and the given facility name ("mail", "local0", ...). */
void log_open(bool to_stderr, const char *facility, bool debug);
void log_msg(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
