/* run.h: runs a helper program (postconf, signet itself) without a shell,
 * with its output bounded and a deadline, for signet doctor. */
#ifndef SIGNET_CLI_RUN_H
#define SIGNET_CLI_RUN_H

#include <stdbool.h>
#include <stddef.h>

#define RUN_MAX_OUTPUT                                                                             \
	(1024 * 1024)    /* bytes kept of stdout, and of stderr; the rest is read and dropped */
#define RUN_TIMEOUT_S 30 /* a program still running then is killed */

struct run_result {
	int status;     /* exit code; -1: not started, killed or died by a signal */
	bool timed_out; /* killed at the deadline */
	char *out;      /* stdout, NUL-terminated (owned) */
	size_t out_len;
	char *err; /* stderr, NUL-terminated (owned) */
	size_t err_len;
	bool truncated; /* more than RUN_MAX_OUTPUT of either */
};

/* Runs argv[0] (searched in PATH) with argv; false only when it could not
 * be started (errno-style reason in r->err). Never waits past timeout_s. */
bool run_capture(char *const argv[], unsigned timeout_s, struct run_result *r);
/* The same with the program's standard input read from the file at
 * stdin_path (NULL: /dev/null). */
bool run_capture_from(char *const argv[], const char *stdin_path, unsigned timeout_s,
		      struct run_result *r);
void run_result_free(struct run_result *r);

#endif
