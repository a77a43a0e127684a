/* private_key.c: loading a private key file for sign and dnscheck: read it,
 * warn when others can read it, parse it with libsignet and explain a
 * failure with the fix. Writing keys is cmd_keygen.c's job. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

/* A warning only (signet sign is often run by hand on a copy); signetd
 * refuses a key others may read or write (SECURITY.md, "Private key
 * files"). st is the fstat of the file that was read. */
static void check_mode(const char *path, const struct stat *st)
{
	if ((st->st_mode & (S_IROTH | S_IWOTH)) != 0)
		cli_warn("private key %s is %s by others (mode %04o), which signetd refuses; "
			 "run: chmod 600 %s",
			 path, (st->st_mode & S_IROTH) ? "readable" : "writable",
			 (unsigned)(st->st_mode & 07777), path);
	else if ((st->st_mode & (S_IRWXG | S_IXOTH)) != 0)
		cli_warn("private key %s is accessible by group or others (mode %04o); "
			 "run: chmod 600 %s",
			 path, (unsigned)(st->st_mode & 07777), path);
}

struct signet_key *keyfile_load(const char *path)
{
	struct signet_key *key = NULL;
	struct signet_error err = { 0 };
	struct fileread_file f;
	struct fileread_error e;

	if (path == NULL || strcmp(path, "-") == 0) {
		cli_err("give the private key as a file name (-k FILE), not standard input");
		return NULL;
	}
	if (fileread(path, FILEREAD_CAP(CLI_MAX_KEYFILE), &f, &e) != FILEREAD_OK) {
		io_fileread_error(path, "private key", &e);
		return NULL;
	}
	if (signet_key_parse(f.data, f.len, &key, &err) != SIGNET_OK) {
		cli_err("private key %s is not usable: %s%s%s%s; give a PEM private key (PKCS#8, "
			"or "
			"PKCS#1 RSA of 1024..4096 bits, or ed25519) such as 'signet keygen' writes",
			path, err.msg, err.spec ? " (" : "", err.spec ? err.spec : "",
			err.spec ? ")" : "");
		key = NULL;
	} else {
		check_mode(path, &f.st);
	}
	fileread_free(&f); /* wipes the key material */
	return key;
}

const char *keyfile_describe(const struct signet_key *key, char *buf, size_t cap)
{
	if (signet_key_type(key) == SIGNET_KEY_ED25519)
		snprintf(buf, cap, "an ed25519 key");
	else
		snprintf(buf, cap, "an RSA %u-bit key", signet_key_bits(key));
	return buf;
}
