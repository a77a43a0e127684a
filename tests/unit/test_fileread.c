/* test_fileread.c: the one file reader of signetd and signet
 * (conf/fileread.c): a regular file is read whole; a FIFO, a directory, a
 * character device and a file over its cap are refused with a message
 * naming the file and why, without blocking (issue #12: `signet sign -k
 * FIFO` hung). Caps are checked at limit-1, limit and limit+1. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "fileread.h"

#define TEST_MAX 4096
#define SMALL 100
#define SIX 6

static char g_dir[64];

static int setup(void **state)
{
	(void)state;
	strcpy(g_dir, "/tmp/signet-fileread-XXXXXX");
	return mkdtemp(g_dir) == NULL ? -1 : 0;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", g_dir);
	return system(cmd) == 0 ? 0 : -1;
}

static const char *path_of(const char *name, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s/%s", g_dir, name);
	return buf;
}

static void put(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/* Bytes in, the same bytes out, NUL-terminated; a NUL inside is kept. */
static void fileread_regular_file_whole(void **state)
{
	(void)state;
	char p[128];
	struct fileread_file f;
	struct fileread_error e;
	put(path_of("a", p, sizeof p), "ab\0cd\n", 6);
	assert_int_equal(fileread(p, FILEREAD_CAP(SIX), &f, &e), FILEREAD_OK);
	assert_int_equal(f.len, 6);
	assert_memory_equal(f.data, "ab\0cd\n", 6);
	assert_int_equal(f.data[6], '\0');
	assert_true(S_ISREG(f.st.st_mode));
	fileread_free(&f);
	assert_null(f.data);
	fileread_free(&f); /* twice, and NULL: no-ops */
	fileread_free(NULL);
	put(p, "", 0);
	assert_int_equal(fileread(p, FILEREAD_CAP(SIX), &f, &e), FILEREAD_OK);
	assert_int_equal(f.len, 0);
	assert_int_equal(f.data[0], '\0');
	fileread_free(&f);
}

/* limit-1 and limit are read, limit+1 refused with the sizes in the message. */
static void fileread_cap_limit_minus_1_limit_plus_1(void **state)
{
	(void)state;
	char p[128], want[512];
	struct fileread_file f;
	struct fileread_error e;
	const size_t max = TEST_MAX;
	static char buf[4097];
	memset(buf, 'x', sizeof buf);
	path_of("big", p, sizeof p);
	for (size_t len = max - 1; len <= max; len++) {
		put(p, buf, len);
		assert_int_equal(fileread(p, FILEREAD_CAP(TEST_MAX), &f, &e), FILEREAD_OK);
		assert_int_equal(f.len, len);
		fileread_free(&f);
	}
	put(p, buf, max + 1);
	assert_int_equal(fileread(p, FILEREAD_CAP(TEST_MAX), &f, &e), FILEREAD_TOO_LARGE);
	assert_null(f.data);
	snprintf(want, sizeof want, "%s is 4097 bytes, more than TEST_MAX (4096 bytes)", p);
	assert_string_equal(e.msg, want);
	assert_string_equal(e.why, "it is 4097 bytes, more than TEST_MAX (4096 bytes)");
}

/* A FIFO with no writer: open(O_NONBLOCK) returns at once and fstat
 * refuses it. Without O_NONBLOCK open(2) blocks: alarm() kills a hang. */
static void fileread_fifo_refused_without_blocking(void **state)
{
	(void)state;
	char p[128], want[256];
	struct fileread_file f;
	struct fileread_error e;
	assert_int_equal(mkfifo(path_of("fifo", p, sizeof p), 0600), 0);
	alarm(10);
	assert_int_equal(fileread(p, FILEREAD_CAP(SMALL), &f, &e), FILEREAD_NOT_REGULAR);
	alarm(0);
	snprintf(want, sizeof want, "%s is a FIFO, not a regular file", p);
	assert_string_equal(e.msg, want);
	assert_string_equal(e.why, "it is a FIFO, not a regular file");
	assert_int_equal(e.type, S_IFIFO);
	int fd = 0;
	struct stat st;
	assert_int_equal(fileread_open(p, FILEREAD_CAP(SMALL), &fd, &st, &e), FILEREAD_NOT_REGULAR);
	assert_int_equal(fd, -1);
}

static void fileread_directory_and_devices_refused(void **state)
{
	(void)state;
	char want[256];
	struct fileread_file f;
	struct fileread_error e;
	assert_int_equal(fileread(g_dir, FILEREAD_CAP(SMALL), &f, &e), FILEREAD_NOT_REGULAR);
	snprintf(want, sizeof want, "%s is a directory, not a regular file", g_dir);
	assert_string_equal(e.msg, want);
	/* /dev/zero would never end, /dev/null would read as empty */
	assert_int_equal(fileread("/dev/zero", FILEREAD_CAP(SMALL), &f, &e), FILEREAD_NOT_REGULAR);
	assert_string_equal(e.msg, "/dev/zero is a character device, not a regular file");
	assert_int_equal(fileread("/dev/null", FILEREAD_CAP(SMALL), &f, &e), FILEREAD_NOT_REGULAR);
	assert_null(f.data);
}

static void fileread_missing_and_denied(void **state)
{
	(void)state;
	char p[128], want[256];
	struct fileread_file f;
	struct fileread_error e;
	assert_int_equal(fileread(path_of("none", p, sizeof p), FILEREAD_CAP(SMALL), &f, &e),
			 FILEREAD_NOT_FOUND);
	snprintf(want, sizeof want, "cannot open %s: No such file or directory", p);
	assert_string_equal(e.msg, want);
	assert_string_equal(e.why, "No such file or directory");
	if (geteuid() == 0) /* root reads a 0000 file: nothing to deny */
		return;
	put(path_of("locked", p, sizeof p), "x", 1);
	assert_int_equal(chmod(p, 0), 0);
	assert_int_equal(fileread(p, FILEREAD_CAP(SMALL), &f, &e), FILEREAD_DENIED);
	assert_string_equal(e.why, "Permission denied");
}

/* A file that holds more than fstat said when it was opened (it grew, or
 * it is a /proc file whose size is 0) is refused, not cut short. */
static void fileread_grown_file_refused(void **state)
{
	(void)state;
	struct fileread_file f;
	struct fileread_error e;
	if (access("/proc/self/status", R_OK) != 0) {
		print_message("SKIP: no /proc/self/status\n");
		skip();
	}
	assert_int_equal(fileread("/proc/self/status", FILEREAD_CAP(TEST_MAX), &f, &e),
			 FILEREAD_TOO_LARGE);
	assert_null(f.data);
	assert_string_equal(e.msg, "/proc/self/status grew while it was read (past 0 bytes; at "
				   "most TEST_MAX, 4096 bytes); try again when it is complete");
}

/* fileread_open hands back the open descriptor and its fstat. */
static void fileread_open_streams_a_regular_file(void **state)
{
	(void)state;
	char p[128], buf[8];
	struct fileread_error e;
	struct stat st;
	int fd = -1;
	put(path_of("m", p, sizeof p), "hello", 5);
	assert_int_equal(fileread_open(p, (struct fileread_cap){5, "FIVE"}, &fd, &st, &e),
			 FILEREAD_OK);
	assert_true(fd >= 0);
	assert_int_equal(st.st_size, 5);
	assert_int_equal(read(fd, buf, sizeof buf), 5);
	close(fd);
	assert_int_equal(fileread_open(p, (struct fileread_cap){4, "FOUR"}, &fd, &st, &e),
			 FILEREAD_TOO_LARGE);
	assert_int_equal(fd, -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(fileread_regular_file_whole, setup, teardown),
		cmocka_unit_test_setup_teardown(fileread_cap_limit_minus_1_limit_plus_1, setup,
						teardown),
		cmocka_unit_test_setup_teardown(fileread_fifo_refused_without_blocking, setup,
						teardown),
		cmocka_unit_test_setup_teardown(fileread_directory_and_devices_refused, setup,
						teardown),
		cmocka_unit_test_setup_teardown(fileread_missing_and_denied, setup, teardown),
		cmocka_unit_test_setup_teardown(fileread_grown_file_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(fileread_open_streams_a_regular_file, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
