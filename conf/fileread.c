/* fileread.c: reading a whole file from a path, safely (see fileread.h).
 * The descriptor is opened non-blocking so a FIFO cannot stall open(2),
 * checked with fstat(2) before any read, and read up to a cap. It does not
 * check owners or modes (keystore.c does, and compares the stat handed
 * back with the one it checked) and does not print. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fileread.h"

/* Fills e. For a problem with the file itself (type, size) why is "it is
 * ..." and msg "PATH is ..."; for a failed call (open, fstat, read) why is
 * the errno text and msg "cannot CALL PATH: why". */
static enum fileread_status fail(struct fileread_error *e, const char *path,
				 enum fileread_status st, int errnum, mode_t type, const char *call,
				 const char *fmt, ...) __attribute__((format(printf, 7, 8)));
static enum fileread_status fail(struct fileread_error *e, const char *path,
				 enum fileread_status st, int errnum, mode_t type, const char *call,
				 const char *fmt, ...)
{
	va_list ap;
	char text[sizeof e->why - 3]; /* room for "it " */

	if (e == NULL)
		return st;
	e->status = st;
	e->errnum = errnum;
	e->type = type;
	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	if (call != NULL) {
		snprintf(e->why, sizeof e->why, "%s", text);
		snprintf(e->msg, sizeof e->msg, "cannot %s %s: %s", call, path, text);
	} else {
		snprintf(e->why, sizeof e->why, "it %s", text);
		snprintf(e->msg, sizeof e->msg, "%s %s", path, text);
	}
	return st;
}

const char *fileread_type_name(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG: return "a regular file";
	case S_IFDIR: return "a directory";
	case S_IFIFO: return "a FIFO";
	case S_IFSOCK: return "a socket";
	case S_IFCHR: return "a character device";
	case S_IFBLK: return "a block device";
	case S_IFLNK: return "a symbolic link";
	default: return "an unknown kind of file";
	}
}

static enum fileread_status open_file(const char *path, int *fd, struct fileread_error *e)
{
	*fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (*fd >= 0)
		return FILEREAD_OK;
	int en = errno;
	enum fileread_status st = en == ENOENT                  ? FILEREAD_NOT_FOUND
				  : en == EACCES || en == EPERM ? FILEREAD_DENIED
								: FILEREAD_OPEN_FAILED;
	return fail(e, path, st, en, 0, "open", "%s", strerror(en));
}

/* The type and size checks, on the descriptor (not the path: no race). */
static enum fileread_status check_fd(const char *path, int fd, struct fileread_cap cap,
				     struct stat *st, struct fileread_error *e)
{
	if (fstat(fd, st) != 0) {
		int en = errno;
		return fail(e, path, FILEREAD_OPEN_FAILED, en, 0, "stat", "%s", strerror(en));
	}
	if (!S_ISREG(st->st_mode))
		return fail(e, path, FILEREAD_NOT_REGULAR, 0, st->st_mode & S_IFMT, NULL,
			    "is %s, not a regular file", fileread_type_name(st->st_mode));
	if (st->st_size < 0 || (unsigned long long)st->st_size > cap.max)
		return fail(e, path, FILEREAD_TOO_LARGE, 0, S_IFREG, NULL,
			    "is %lld bytes, more than %s (%zu bytes)", (long long)st->st_size,
			    cap.name, cap.max);
	return FILEREAD_OK;
}

/* Reads up to max + 1 bytes into a buffer sized from fstat; a file that
 * grows past max while read is refused, one that shrinks is read as is. */
static enum fileread_status read_all(const char *path, int fd, struct fileread_cap lim,
				     const struct stat *st, struct fileread_file *f,
				     struct fileread_error *e)
{
	size_t max = lim.max;
	size_t cap = (size_t)st->st_size + 1, n = 0;
	uint8_t *buf = malloc(cap + 1);

	if (buf == NULL)
		return fail(e, path, FILEREAD_NOMEM, ENOMEM, S_IFREG, "read", "out of memory");
	for (;;) {
		ssize_t r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int en = errno;
			explicit_bzero(buf, n);
			free(buf);
			return fail(e, path, FILEREAD_READ_FAILED, en, S_IFREG, "read", "%s",
				    strerror(en));
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > max || n == cap) {
			explicit_bzero(buf, n);
			free(buf);
			return fail(
				e, path, FILEREAD_TOO_LARGE, 0, S_IFREG, NULL,
				"grew while it was read (past %zu bytes; at most %s, %zu bytes); "
				"try again when it is complete",
				(size_t)st->st_size, lim.name, max);
		}
	}
	buf[n] = '\0';
	f->data = buf;
	f->len = n;
	f->st = *st;
	return FILEREAD_OK;
}

enum fileread_status fileread_open(const char *path, struct fileread_cap cap, int *fd,
				   struct stat *st, struct fileread_error *e)
{
	*fd = -1;
	if (e != NULL)
		memset(e, 0, sizeof *e);
	enum fileread_status rc = open_file(path, fd, e);
	if (rc != FILEREAD_OK)
		return rc;
	rc = check_fd(path, *fd, cap, st, e);
	if (rc != FILEREAD_OK) {
		close(*fd);
		*fd = -1;
	}
	return rc;
}

enum fileread_status fileread(const char *path, struct fileread_cap cap, struct fileread_file *f,
			      struct fileread_error *e)
{
	struct stat st;
	int fd;

	memset(f, 0, sizeof *f);
	enum fileread_status rc = fileread_open(path, cap, &fd, &st, e);
	if (rc != FILEREAD_OK)
		return rc;
	rc = read_all(path, fd, cap, &st, f, e);
	close(fd);
	return rc;
}

void fileread_free(struct fileread_file *f)
{
	if (f == NULL)
		return;
	if (f->data != NULL) {
		explicit_bzero(f->data, f->len);
		free(f->data);
	}
	memset(f, 0, sizeof *f);
}
