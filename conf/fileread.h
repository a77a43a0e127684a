/* fileread.h: the one way signetd and signet read a whole file named by a
 * path (private keys, signetd.conf and its .include files, the public
 * suffix list, KEYSFILEs, messages given as FILE). It opens without
 * blocking, refuses anything but a regular file (a FIFO would hang the
 * reader, /dev/zero would never end) and reads at most a named cap. It
 * depends on libc only: no logging, no event loop; callers word the
 * message for their own user from what it hands back. */
#ifndef SIGNET_FILEREAD_H
#define SIGNET_FILEREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

/* The cap for each kind of file (doc/SECURITY.md, "Files signet reads"). */
#define FILEREAD_MAX_KEY (64u * 1024)       /* a private key; a 4096-bit RSA PEM is ~3.3 KB */
#define FILEREAD_MAX_CONFIG (1024u * 1024)  /* signetd.conf and each .include (UCL_MAX_INPUT) */
#define FILEREAD_MAX_PSL (8u * 1024 * 1024) /* public suffix list (SIGNET_PSL_MAX_BYTES) */
#define FILEREAD_MAX_KEYSFILE (16u * 1024 * 1024) /* KEYSFILE of `signet verify --keys` */
#define FILEREAD_MAX_MESSAGE (64u * 1024 * 1024)  /* a message the CLI signs or verifies */

/* A cap and its name for messages: FILEREAD_CAP(KEYS_MAX_FILE) gives
 * {65536, "KEYS_MAX_FILE"} (the name as written, not expanded). */
struct fileread_cap {
	size_t max;
	const char *name;
};
#define FILEREAD_CAP(limit) ((struct fileread_cap){(limit), #limit})

enum fileread_status {
	FILEREAD_OK = 0,
	FILEREAD_NOT_FOUND,   /* open: ENOENT */
	FILEREAD_DENIED,      /* open: EACCES or EPERM */
	FILEREAD_OPEN_FAILED, /* open or fstat failed otherwise (errnum says why) */
	FILEREAD_NOT_REGULAR, /* a directory, FIFO, socket or device: never read */
	FILEREAD_TOO_LARGE,   /* more than max bytes (by fstat, or grown while read) */
	FILEREAD_READ_FAILED, /* read(2) failed (errnum) */
	FILEREAD_NOMEM,
};

/* What went wrong. msg names the file: "/etc/k.key is a FIFO, not a
 * regular file", "/etc/k.key is 70000 bytes, more than KEYS_MAX_FILE
 * (65536 bytes)", "cannot open /etc/k.key: Permission denied". why says the same without the file name, for a caller that
 * named it already: "it is a FIFO, not a regular file", "Permission
 * denied" (the errno text when a call failed: open, fstat, read). */
struct fileread_error {
	enum fileread_status status;
	int errnum;  /* errno of the failing call; 0 when none */
	mode_t type; /* S_IFMT bits of the file when known, else 0 */
	char why[192];
	char msg[4096 + 192];
};

/* One file read into memory. data is malloc'd, NUL-terminated (not counted
 * in len), owned by the caller: fileread_free (which wipes it: key files
 * pass here). st is the fstat of the descriptor that was read, so checks
 * of owner and mode apply to the very file read, not to the path later. */
struct fileread_file {
	uint8_t *data;
	size_t len;
	struct stat st;
};

/* Reads path: open(O_RDONLY|O_NONBLOCK|O_CLOEXEC|O_NOCTTY), fstat, refuse
 * a non-regular file or one over cap.max bytes, read all of it (at most
 * cap.max). FILEREAD_OK fills *f; otherwise *f is zeroed and *e says why.
 * e may be NULL. */
enum fileread_status fileread(const char *path, struct fileread_cap cap, struct fileread_file *f,
			      struct fileread_error *e) __attribute__((warn_unused_result));

/* The checks of fileread without the read, for a caller that streams the
 * file (signet verify FILE): *fd is open (O_NONBLOCK, which does not
 * matter for a regular file) and the caller closes it and stops reading
 * after cap.max bytes; *st is its fstat. On error *fd is -1 and *e says
 * why. */
enum fileread_status fileread_open(const char *path, struct fileread_cap cap, int *fd,
				   struct stat *st, struct fileread_error *e)
	__attribute__((warn_unused_result));

/* Wipes and frees f->data; f zeroed. NULL or an empty f is a no-op. */
void fileread_free(struct fileread_file *f);

/* "a FIFO", "a directory", "a socket", "a character device", "a block
 * device", "a symbolic link", "a regular file" or "an unknown kind of file". */
const char *fileread_type_name(mode_t mode);

#endif
