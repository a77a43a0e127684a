/* io.c: opening and reading input files for the CLI, with errors that say
 * which file, why, and (for permission problems) who owns it and who we
 * are. Files named by a path go through fileread (conf/fileread.h: no
 * FIFO, device or directory, a cap per kind); standard input is read here,
 * bounded. Nothing is parsed here. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "fileread.h"

static bool is_stdin(const char *path)
{
	return path == NULL || strcmp(path, "-") == 0;
}

void io_open_error(const char *path, const char *what, int errnum)
{
	struct stat st;

	if (errnum == EACCES || errnum == EPERM) {
		if (stat(path, &st) == 0)
			cli_err("cannot read %s %s: %s (file is mode %04o owned by uid %u gid %u; "
				"signet runs as uid %u gid %u)",
				what, path, strerror(errnum), (unsigned)(st.st_mode & 07777),
				(unsigned)st.st_uid, (unsigned)st.st_gid, (unsigned)geteuid(),
				(unsigned)getegid());
		else
			cli_err("cannot read %s %s: %s (a directory on its path is not searchable "
				"by uid %u)",
				what, path, strerror(errnum), (unsigned)geteuid());
		return;
	}
	cli_err("cannot read %s %s: %s", what, path, strerror(errnum));
}

void io_fileread_error(const char *path, const char *what, const struct fileread_error *e)
{
	if (e->status == FILEREAD_DENIED)
		io_open_error(path, what, e->errnum);
	else
		cli_err("cannot read %s %s: %s", what, path, e->why);
}

int io_open(const char *path, const char *what, struct fileread_cap cap)
{
	struct fileread_error e;
	struct stat st;
	int fd;

	if (is_stdin(path))
		return STDIN_FILENO;
	if (fileread_open(path, cap, &fd, &st, &e) != FILEREAD_OK) {
		io_fileread_error(path, what, &e);
		return -1;
	}
	return fd;
}

/* Frees a buffer that may hold key material, wiping it first. */
static void wipe_free(uint8_t *buf, size_t cap)
{
	if (buf != NULL) {
		explicit_bzero(buf, cap);
		free(buf);
	}
}

/* Grows *buf to hold at least need bytes plus a NUL, up to max. Not with
 * realloc: the old block is wiped before it is freed (key files pass here). */
static bool grow(uint8_t **buf, size_t *cap, size_t need)
{
	size_t ncap = *cap ? *cap : 65536;
	uint8_t *n;

	while (ncap < need + 1)
		ncap *= 2;
	if (ncap == *cap)
		return true;
	n = malloc(ncap);
	if (n == NULL)
		return false;
	if (*buf != NULL)
		memcpy(n, *buf, *cap);
	wipe_free(*buf, *cap);
	*buf = n;
	*cap = ncap;
	return true;
}

static bool read_fd(int fd, const char *name, const char *what, size_t max, uint8_t **out,
		    size_t *len)
{
	uint8_t *buf = NULL;
	size_t cap = 0, n = 0;

	for (;;) {
		ssize_t r;

		if (!grow(&buf, &cap, n + 65536 < max + 1 ? n + 65536 : max + 1)) {
			cli_err("cannot read %s %s: out of memory", what, name);
			wipe_free(buf, cap);
			return false;
		}
		r = read(fd, buf + n, cap - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			cli_err("cannot read %s %s: %s", what, name, strerror(errno));
			wipe_free(buf, cap);
			return false;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > max) {
			cli_err("%s %s is larger than %zu KiB, the most this command reads "
				"into memory",
				what, name, max / 1024);
			wipe_free(buf, cap);
			return false;
		}
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return true;
}

bool io_read_file(const char *path, const char *what, struct fileread_cap cap, uint8_t **out,
		  size_t *len)
{
	struct fileread_file f;
	struct fileread_error e;

	if (is_stdin(path))
		return read_fd(STDIN_FILENO, "(standard input)", what, cap.max, out, len);
	if (fileread(path, cap, &f, &e) != FILEREAD_OK) {
		io_fileread_error(path, what, &e);
		return false;
	}
	*out = f.data; /* handed over; the caller wipes key material itself */
	*len = f.len;
	return true;
}
