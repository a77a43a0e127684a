/* sign_fault.c: an LD_PRELOAD shim that makes OpenSSL's signing calls fail,
 * for tests/integration/test_faults.py.
 *
 * Why it exists: MILTER-ERR-01 says a signing failure must defer the message
 * (on_error.sign = tempfail) or let it through unsigned only when
 * on_error.sign = accept, never silently. A key that loaded and passed
 * `signetd -t` does not fail to sign, so no configuration or input brings a
 * real signetd to that branch of daemon/session.c (finish_sign). Failing
 * the OpenSSL call underneath is the only way to reach it in the real
 * daemon, talking to a real Postfix, without a test hook in daemon/ or lib/.
 *
 * It interposes the two calls lib/crypto.c signs with: EVP_PKEY_sign (RSA,
 * sign_rsa) and EVP_DigestSign (Ed25519, sign_ed25519). Length queries
 * (sig == NULL) always pass through. SIGNET_FAULT_SIGN selects the calls
 * that fail:
 *   unset or empty   none: every call goes to OpenSSL (dlsym(RTLD_NEXT))
 *   "all"            every signing call
 *   "every=N"        the Nth, 2Nth, ... signing call of the process (N >= 1;
 *                    both functions share one counter)
 * Anything else is a mistake in the test: the process is stopped at load
 * with a message, so a typo cannot quietly change what a test measures.
 *
 * A failed call returns 0, as OpenSSL does for a failed operation, and
 * leaves one error on the thread's OpenSSL error queue whose reason reads
 * FAULT_REASON, so the daemon's log line names this shim as the cause. */
#include <dlfcn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#define EXPORT __attribute__((visibility("default")))
#define FAULT_ENV "SIGNET_FAULT_SIGN"
#define FAULT_REASON "fault injected by sign_fault.so (" FAULT_ENV ")"
#define FAULT_REASON_CODE 1

typedef int (*pkey_sign_fn)(EVP_PKEY_CTX *, unsigned char *, size_t *, const unsigned char *,
			    size_t);
typedef int (*digest_sign_fn)(EVP_MD_CTX *, unsigned char *, size_t *, const unsigned char *,
			      size_t);

static pkey_sign_fn real_pkey_sign;
static digest_sign_fn real_digest_sign;
static unsigned long fail_every; /* 0: never fail; 1: every call; N: every Nth */
static atomic_ulong calls;       /* signetd signs from several worker threads */
static int fault_lib;            /* OpenSSL error library number for our reason */

/* ERR_load_strings adds the library number to each code and stops at the
 * first code 0, so a library-name entry (code 0) cannot come first. */
static ERR_STRING_DATA fault_strings[] = {
	{ERR_PACK(0, 0, FAULT_REASON_CODE), FAULT_REASON},
	{0, NULL},
};

static void die(const char *what, const char *detail)
{
	fprintf(stderr, "sign_fault.so: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
	abort();
}

/* Parses SIGNET_FAULT_SIGN and looks the real functions up, once, before
 * main() and before any thread exists. */
__attribute__((constructor)) static void sign_fault_init(void)
{
	real_pkey_sign = (pkey_sign_fn)dlsym(RTLD_NEXT, "EVP_PKEY_sign");
	real_digest_sign = (digest_sign_fn)dlsym(RTLD_NEXT, "EVP_DigestSign");
	if (real_pkey_sign == NULL || real_digest_sign == NULL)
		die("cannot find OpenSSL's EVP_PKEY_sign/EVP_DigestSign", dlerror());
	const char *spec = getenv(FAULT_ENV);
	if (spec == NULL || spec[0] == '\0')
		return;
	if (strcmp(spec, "all") == 0) {
		fail_every = 1;
	} else if (strncmp(spec, "every=", 6) == 0 && spec[6] >= '1' && spec[6] <= '9') {
		char *end = NULL;
		fail_every = strtoul(spec + 6, &end, 10);
		if (*end != '\0' || fail_every == 0 || fail_every == (unsigned long)-1)
			die("bad " FAULT_ENV " (want \"all\" or \"every=N\")", spec);
	} else {
		die("bad " FAULT_ENV " (want \"all\" or \"every=N\")", spec);
	}
	fault_lib = ERR_get_next_error_library();
	if (ERR_load_strings(fault_lib, fault_strings) != 1)
		die("ERR_load_strings failed", NULL);
}

/* True when this signing call is one that must fail; counts it. */
static int should_fail(void)
{
	if (fail_every == 0)
		return 0;
	unsigned long n = atomic_fetch_add(&calls, 1) + 1;
	return n % fail_every == 0;
}

static int fail(void)
{
	ERR_raise(fault_lib, FAULT_REASON_CODE);
	return 0;
}

EXPORT int EVP_PKEY_sign(EVP_PKEY_CTX *ctx, unsigned char *sig, size_t *siglen,
			 const unsigned char *tbs, size_t tbslen)
{
	if (sig != NULL && should_fail())
		return fail();
	return real_pkey_sign(ctx, sig, siglen, tbs, tbslen);
}

EXPORT int EVP_DigestSign(EVP_MD_CTX *ctx, unsigned char *sigret, size_t *siglen,
			  const unsigned char *tbs, size_t tbslen)
{
	if (sigret != NULL && should_fail())
		return fail();
	return real_digest_sign(ctx, sigret, siglen, tbs, tbslen);
}
