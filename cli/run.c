/* run.c: fork/exec with two pipes and a poll loop, so neither a chatty
 * program (postconf -M of a big master.cf) nor a stuck one can hold signet
 * doctor: output past RUN_MAX_OUTPUT is drained and dropped, and the
 * program is killed at the deadline. */
#include "run.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct sink {
	int fd;
	char *buf;
	size_t len;
};

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One read into s; false at EOF or error (the fd is closed then). */
static bool drain(struct sink *s, bool *truncated)
{
	char tmp[4096];
	ssize_t n = read(s->fd, tmp, sizeof tmp);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return true;
	if (n <= 0) {
		close(s->fd);
		s->fd = -1;
		return false;
	}
	size_t keep = (size_t)n;
	if (s->len + keep > RUN_MAX_OUTPUT) {
		keep = RUN_MAX_OUTPUT - s->len;
		*truncated = true;
	}
	memcpy(s->buf + s->len, tmp, keep);
	s->len += keep;
	return true;
}

static void child(char *const argv[], const char *stdin_path, int out[2], int err[2])
{
	dup2(out[1], STDOUT_FILENO);
	dup2(err[1], STDERR_FILENO);
	close(out[0]);
	close(err[0]);
	close(out[1]);
	close(err[1]);
	int in = open(stdin_path != NULL ? stdin_path : "/dev/null", O_RDONLY);
	if (in < 0) {
		fprintf(stderr, "cannot open %s: %s", stdin_path, strerror(errno));
		_exit(127);
	}
	dup2(in, STDIN_FILENO);
	execvp(argv[0], argv);
	fprintf(stderr, "cannot run %s: %s", argv[0], strerror(errno));
	_exit(127);
}

static void collect(pid_t pid, struct sink *s, unsigned timeout_s, struct run_result *r)
{
	long long deadline = now_ms() + (long long)timeout_s * 1000;
	while (s[0].fd >= 0 || s[1].fd >= 0) {
		long long left = deadline - now_ms();
		if (left <= 0) {
			kill(pid, SIGKILL);
			r->timed_out = true;
			break;
		}
		struct pollfd p[2] = {{.fd = s[0].fd, .events = POLLIN},
				      {.fd = s[1].fd, .events = POLLIN}};
		if (poll(p, 2, (int)(left > 1000 ? 1000 : left)) < 0 && errno != EINTR)
			break;
		for (int k = 0; k < 2; k++)
			if (s[k].fd >= 0 && (p[k].revents & (POLLIN | POLLHUP | POLLERR)))
				drain(&s[k], &r->truncated);
	}
	for (int k = 0; k < 2; k++)
		if (s[k].fd >= 0)
			close(s[k].fd);
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	r->status = !r->timed_out && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

bool run_capture(char *const argv[], unsigned timeout_s, struct run_result *r)
{
	return run_capture_from(argv, NULL, timeout_s, r);
}

bool run_capture_from(char *const argv[], const char *stdin_path, unsigned timeout_s,
		      struct run_result *r)
{
	*r = (struct run_result){.status = -1};
	r->out = calloc(1, RUN_MAX_OUTPUT + 1);
	r->err = calloc(1, RUN_MAX_OUTPUT + 1);
	int out[2] = {-1, -1}, err[2] = {-1, -1};
	if (r->out == NULL || r->err == NULL || pipe(out) != 0 || pipe(err) != 0) {
		if (r->err != NULL)
			snprintf(r->err, RUN_MAX_OUTPUT, "cannot start %s: %s", argv[0],
				 strerror(errno));
		return false;
	}
	pid_t pid = fork();
	if (pid == 0)
		child(argv, stdin_path, out, err);
	close(out[1]);
	close(err[1]);
	if (pid < 0) {
		close(out[0]);
		close(err[0]);
		snprintf(r->err, RUN_MAX_OUTPUT, "cannot start %s: %s", argv[0], strerror(errno));
		return false;
	}
	struct sink s[2] = {{.fd = out[0], .buf = r->out}, {.fd = err[0], .buf = r->err}};
	collect(pid, s, timeout_s, r);
	r->out_len = s[0].len;
	r->err_len = s[1].len;
	r->out[r->out_len] = '\0';
	r->err[r->err_len] = '\0';
	return true;
}

void run_result_free(struct run_result *r)
{
	free(r->out);
	free(r->err);
	*r = (struct run_result){.status = -1};
}
