/* crypto.c: the only file of libsignet that talks to OpenSSL (3.x, EVP API):
 * streaming SHA-256, private signing keys (parse, generate, write, DNS
 * record), public keys from key records, signing and verifying. It does not
 * read files or know about messages: callers hand in bytes and digests. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "base64.h"
#include "crypto.h"
#include "error.h"

/* A private key file is a few KiB (4096-bit RSA PEM: ~3.3 KiB); more is not a key. */
#define KEY_FILE_MAX 65536
#define ED25519_KEY_LEN 32
#define ED25519_SIG_LEN 64
#define RSA_DEFAULT_BITS 2048
#define RSA_EXPONENT_MAX_BITS 32 /* DKIM-KEY-15: our bound, e < 2^32 */

struct hash {
	EVP_MD_CTX *ctx;
	EVP_MD *md; /* fetched once per hash, so init/reset never look it up again */
};

/* A signature operation set up once per key and copied for each use.
 * Setting one up (EVP_PKEY_CTX_new, *_init, padding, digest: provider
 * look-ups by name) costs about 2.7 us for RSA (0.08 us to copy) and saves
 * 1-2 us per Ed25519 signature when copied instead: 1 % of an RSA-2048
 * signature and up to 5 % of an Ed25519 one (bench/analysis.md). The copy functions only read
 * their source (reference counts are atomic), so threads may copy one
 * template at the same time; the template itself is never used. */
struct sig_template {
	EVP_PKEY_CTX *rsa; /* RSA: sign or verify, PKCS#1 v1.5, SHA-256 */
	EVP_MD_CTX *ed;	   /* Ed25519: DigestSign or DigestVerify */
};

struct signet_key {
	EVP_PKEY *pkey; /* owned; read-only after parse, so one key may sign from many threads */
	enum signet_keytype type;
	unsigned bits;
	struct sig_template op; /* signing */
};

struct pubkey {
	EVP_PKEY *pkey; /* owned */
	enum signet_keytype type;
	unsigned bits;
	struct sig_template op; /* verifying */
};

/* Empties OpenSSL's error queue; true when it held an allocation failure
 * (ERR_R_MALLOC_FAILURE), which is then SIGNET_ERR_NOMEM: out of memory,
 * not a bad key or signature. */
static bool ossl_nomem(void)
{
	bool nomem = false;
	unsigned long e;
	while ((e = ERR_get_error()) != 0)
		if (ERR_GET_REASON(e) == ERR_R_MALLOC_FAILURE)
			nomem = true;
	return nomem;
}

/* OpenSSL failed: the reason of its last error goes into err and its error
 * queue is emptied, so the next caller does not see stale entries. */
static enum signet_status ossl_fail(struct signet_error *err, const char *what)
{
	unsigned long e = ERR_peek_last_error();
	const char *why = e != 0 ? ERR_reason_error_string(e) : NULL;
	if (ossl_nomem())
		return error_set(err, SIGNET_ERR_NOMEM, NULL, "out of memory (OpenSSL: %s)", what);
	return error_set(err, SIGNET_ERR_CRYPTO, NULL, "%s failed (OpenSSL: %s)", what,
			 why != NULL ? why : "no reason given");
}

/* ---- Signature templates --------------------------------------------- */

/* RSASSA-PKCS1-v1_5 with SHA-256 (RFC 6376 3.3.1, DKIM-ALG-01): the provider
 * wraps the digest in a DigestInfo. DKIM-SIGN-05 (RFC 8463 3): Ed25519 is
 * pure Ed25519 over the 32 digest bytes, so its context has no digest. */
static enum signet_status template_init(struct sig_template *t, EVP_PKEY *pkey,
					enum signet_keytype type, bool sign,
					struct signet_error *err)
{
	if (type == SIGNET_KEY_RSA) {
		t->rsa = EVP_PKEY_CTX_new(pkey, NULL);
		if (t->rsa == NULL ||
		    (sign ? EVP_PKEY_sign_init(t->rsa) : EVP_PKEY_verify_init(t->rsa)) <= 0 ||
		    EVP_PKEY_CTX_set_rsa_padding(t->rsa, RSA_PKCS1_PADDING) <= 0 ||
		    EVP_PKEY_CTX_set_signature_md(t->rsa, EVP_sha256()) <= 0)
			return ossl_fail(err, "RSA signature setup");
		return SIGNET_OK;
	}
	t->ed = EVP_MD_CTX_new();
	if (t->ed == NULL ||
	    (sign ? EVP_DigestSignInit(t->ed, NULL, NULL, NULL, pkey)
		  : EVP_DigestVerifyInit(t->ed, NULL, NULL, NULL, pkey)) != 1)
		return ossl_fail(err, "Ed25519 signature setup");
	return SIGNET_OK;
}

static void template_free(struct sig_template *t)
{
	EVP_PKEY_CTX_free(t->rsa);
	EVP_MD_CTX_free(t->ed);
	t->rsa = NULL, t->ed = NULL;
}

/* A fresh copy of the template's Ed25519 context, or NULL. */
static EVP_MD_CTX *template_ed(const struct sig_template *t)
{
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	if (m != NULL && EVP_MD_CTX_copy_ex(m, t->ed) != 1) {
		EVP_MD_CTX_free(m);
		return NULL;
	}
	return m;
}

/* ---- SHA-256 ---------------------------------------------------------- */

enum signet_status hash_new(struct hash **out)
{
	struct hash *h = calloc(1, sizeof *h);
	if (h == NULL)
		return SIGNET_ERR_NOMEM;
	h->ctx = EVP_MD_CTX_new();
	h->md = EVP_MD_fetch(NULL, "SHA256", NULL);
	if (h->ctx == NULL || h->md == NULL || !EVP_DigestInit_ex(h->ctx, h->md, NULL)) {
		hash_free(h);
		ERR_clear_error();
		return SIGNET_ERR_CRYPTO;
	}
	*out = h;
	return SIGNET_OK;
}

enum signet_status hash_update(struct hash *h, const void *p, size_t n)
{
	if (n == 0)
		return SIGNET_OK;
	if (!EVP_DigestUpdate(h->ctx, p, n)) {
		ERR_clear_error();
		return SIGNET_ERR_CRYPTO;
	}
	return SIGNET_OK;
}

enum signet_status hash_final(struct hash *h, uint8_t out[SIGNET_SHA256_LEN])
{
	unsigned int n = 0;
	if (!EVP_DigestFinal_ex(h->ctx, out, &n) || n != SIGNET_SHA256_LEN) {
		ERR_clear_error();
		return SIGNET_ERR_CRYPTO;
	}
	return SIGNET_OK;
}

enum signet_status hash_reset(struct hash *h)
{
	if (!EVP_DigestInit_ex(h->ctx, h->md, NULL)) {
		ERR_clear_error();
		return SIGNET_ERR_CRYPTO;
	}
	return SIGNET_OK;
}

enum signet_status hash_clone(const struct hash *h, struct hash **out)
{
	struct hash *c = calloc(1, sizeof *c);
	if (c == NULL)
		return SIGNET_ERR_NOMEM;
	c->ctx = EVP_MD_CTX_new();
	if (c->ctx == NULL || !EVP_MD_up_ref(h->md)) {
		hash_free(c);
		ERR_clear_error();
		return SIGNET_ERR_NOMEM;
	}
	c->md = h->md;
	if (!EVP_MD_CTX_copy_ex(c->ctx, h->ctx)) {
		hash_free(c);
		ERR_clear_error();
		return SIGNET_ERR_CRYPTO;
	}
	*out = c;
	return SIGNET_OK;
}

void hash_free(struct hash *h)
{
	if (h == NULL)
		return;
	EVP_MD_CTX_free(h->ctx);
	EVP_MD_free(h->md);
	free(h);
}

/* ---- private keys --------------------------------------------------- */

static bool span_contains(struct signet_span s, const char *needle)
{
	size_t n = strlen(needle);
	if (n > s.len)
		return false;
	for (size_t k = 0; k + n <= s.len; k++)
		if (memcmp(s.p + k, needle, n) == 0)
			return true;
	return false;
}

/* OpenSSL would otherwise prompt on the terminal for a passphrase. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf, (void)size, (void)rwflag, (void)u;
	return -1;
}

static enum signet_status key_wrap(EVP_PKEY *pkey, struct signet_key **out,
				   struct signet_error *err)
{
	struct signet_key *k;
	unsigned bits;
	enum signet_keytype type;

	if (EVP_PKEY_is_a(pkey, "RSA")) {
		type = SIGNET_KEY_RSA;
		bits = (unsigned)EVP_PKEY_get_bits(pkey);
		/* DKIM-SIGN-04 (RFC 8301 3.2) */
		if (bits < SIGNET_MIN_RSA_BITS || bits > SIGNET_MAX_RSA_BITS) {
			EVP_PKEY_free(pkey);
			return error_set(err, SIGNET_ERR_KEY, "RFC 8301 3.2",
					 "RSA key of %u bits refused (RFC 8301: 1024 to 4096 bits; "
					 "make a 2048-bit key)",
					 bits);
		}
	} else if (EVP_PKEY_is_a(pkey, "ED25519")) {
		type = SIGNET_KEY_ED25519;
		bits = 256;
	} else {
		EVP_PKEY_free(pkey);
		return error_set(err, SIGNET_ERR_KEY, "RFC 8463 3",
				 "unsupported key type (only RSA and Ed25519)");
	}
	k = calloc(1, sizeof *k);
	if (k == NULL) {
		EVP_PKEY_free(pkey);
		return error_set(err, SIGNET_ERR_NOMEM, NULL, "out of memory");
	}
	k->pkey = pkey;
	k->type = type;
	k->bits = bits;
	enum signet_status st = template_init(&k->op, pkey, type, true, err);
	if (st != SIGNET_OK) {
		signet_key_free(k);
		return st;
	}
	*out = k;
	return SIGNET_OK;
}

/* Tells an administrator what the PEM is when it is not a usable private key. */
static enum signet_status pem_refuse(struct signet_span in, struct signet_error *err)
{
	if (span_contains(in, "ENCRYPTED"))
		return error_set(err, SIGNET_ERR_KEY, NULL,
				 "encrypted private keys are not supported (decrypt it with "
				 "'openssl pkey -in KEY -out PLAIN')");
	if (span_contains(in, "-----BEGIN OPENSSH PRIVATE KEY-----"))
		return error_set(err, SIGNET_ERR_KEY, NULL,
				 "OpenSSH private keys are not supported (expected -----BEGIN "
				 "PRIVATE KEY-----)");
	/* a private key next to a certificate or public key is fine */
	if (span_contains(in, "PRIVATE KEY-----"))
		return SIGNET_OK;
	if (span_contains(in, "PUBLIC KEY-----") || span_contains(in, "CERTIFICATE-----"))
		return error_set(err, SIGNET_ERR_KEY, NULL,
				 "this is a public key or certificate, not a private key "
				 "(expected -----BEGIN PRIVATE KEY-----)");
	return error_set(err, SIGNET_ERR_KEY, NULL,
			 "not a PEM private key (expected -----BEGIN PRIVATE KEY-----)");
}

static enum signet_status key_parse_pem(struct signet_span in, struct signet_key **out,
					struct signet_error *err)
{
	SIGNET_TRY(pem_refuse(in, err));
	BIO *bio = BIO_new_mem_buf(in.p, (int)in.len);
	if (bio == NULL)
		return ossl_fail(err, "BIO_new_mem_buf");
	EVP_PKEY *pkey = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
	BIO_free(bio);
	ERR_clear_error();
	if (pkey == NULL)
		return error_set(err, SIGNET_ERR_KEY, NULL,
				 "PEM private key does not parse (damaged or truncated base64?)");
	return key_wrap(pkey, out, err);
}

/* dkimpy writes an Ed25519 key as the base64 of its 32-byte seed, one line. */
static enum signet_status key_parse_seed(struct signet_span in, struct signet_key **out,
					 struct signet_error *err)
{
	uint8_t seed[2 * ED25519_KEY_LEN];
	size_t n = 0;
	struct signet_error ignored;
	enum signet_status st = base64_decode(span_trim_fws(in), seed, sizeof seed, &n, &ignored);
	if (st != SIGNET_OK || n != ED25519_KEY_LEN) {
		OPENSSL_cleanse(seed, sizeof seed);
		return error_set(err, SIGNET_ERR_KEY, NULL,
				 "not a PEM private key (expected -----BEGIN PRIVATE KEY-----, or "
				 "the base64 of a 32-byte Ed25519 seed)");
	}
	EVP_PKEY *pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, n);
	OPENSSL_cleanse(seed, sizeof seed);
	if (pkey == NULL)
		return ossl_fail(err, "Ed25519 key from seed");
	return key_wrap(pkey, out, err);
}

enum signet_status signet_key_parse(const uint8_t *data, size_t len, struct signet_key **out,
				    struct signet_error *err)
{
	if (out == NULL || (data == NULL && len > 0))
		return error_set(err, SIGNET_ERR_INVAL, NULL, "signet_key_parse: NULL argument");
	*out = NULL;
	if (len > KEY_FILE_MAX)
		return error_set(err, SIGNET_ERR_KEY, NULL,
				 "not a private key: %zu bytes is too large (KEY_FILE_MAX %d)", len,
				 KEY_FILE_MAX);
	struct signet_span in = {data, len};
	if (span_contains(in, "-----BEGIN"))
		return key_parse_pem(in, out, err);
	return key_parse_seed(in, out, err);
}

static enum signet_status keygen(const char *alg, unsigned bits, EVP_PKEY **pkey,
				 struct signet_error *err)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, alg, NULL);
	enum signet_status st = SIGNET_OK;
	if (ctx == NULL || EVP_PKEY_keygen_init(ctx) <= 0)
		st = ossl_fail(err, "key generation setup");
	/* RSA public exponent: OpenSSL's default is 65537. */
	else if (bits != 0 && EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, (int)bits) <= 0)
		st = ossl_fail(err, "setting the RSA key size");
	else if (EVP_PKEY_generate(ctx, pkey) <= 0)
		st = ossl_fail(err, "key generation");
	EVP_PKEY_CTX_free(ctx);
	return st;
}

enum signet_status signet_key_generate(enum signet_keytype type, unsigned bits,
				       struct signet_key **out, struct signet_error *err)
{
	EVP_PKEY *pkey = NULL;
	if (out == NULL)
		return error_set(err, SIGNET_ERR_INVAL, NULL, "signet_key_generate: NULL argument");
	*out = NULL;
	if (type == SIGNET_KEY_RSA) {
		if (bits == 0)
			bits = RSA_DEFAULT_BITS;
		/* DKIM-SIGN-04 (RFC 8301 3.2) */
		if (bits < SIGNET_MIN_RSA_BITS || bits > SIGNET_MAX_RSA_BITS)
			return error_set(err, SIGNET_ERR_KEY, "RFC 8301 3.2",
					 "RSA key of %u bits refused (RFC 8301: 1024 to 4096 bits; "
					 "2048 is the default)",
					 bits);
		SIGNET_TRY(keygen("RSA", bits, &pkey, err));
	} else if (type == SIGNET_KEY_ED25519) {
		SIGNET_TRY(keygen("ED25519", 0, &pkey, err));
	} else {
		return error_set(err, SIGNET_ERR_INVAL, NULL, "unknown key type %d", (int)type);
	}
	return key_wrap(pkey, out, err);
}

/* Copies a memory BIO's contents out as a C string, then wipes them. */
static enum signet_status bio_take(BIO *bio, char *out, size_t cap, size_t *len,
				   struct signet_error *err)
{
	char *p = NULL;
	long n = BIO_get_mem_data(bio, &p);
	if (n < 0 || p == NULL)
		return ossl_fail(err, "reading the PEM output");
	if ((size_t)n >= cap) {
		OPENSSL_cleanse(p, (size_t)n);
		return error_set(err, SIGNET_ERR_LIMIT, NULL,
				 "PEM key needs %ld bytes, the buffer has %zu", n + 1, cap);
	}
	memcpy(out, p, (size_t)n);
	out[n] = '\0';
	*len = (size_t)n;
	OPENSSL_cleanse(p, (size_t)n);
	return SIGNET_OK;
}

enum signet_status signet_key_write_pem(const struct signet_key *key, char *out, size_t cap,
					size_t *len, struct signet_error *err)
{
	if (key == NULL || out == NULL || len == NULL)
		return error_set(err, SIGNET_ERR_INVAL, NULL,
				 "signet_key_write_pem: NULL argument");
	BIO *bio = BIO_new(BIO_s_mem());
	if (bio == NULL)
		return ossl_fail(err, "BIO_new");
	enum signet_status st;
	/* PKCS#8 ("-----BEGIN PRIVATE KEY-----"), unencrypted: the daemon reads it unattended. */
	if (!PEM_write_bio_PrivateKey(bio, key->pkey, NULL, NULL, 0, NULL, NULL))
		st = ossl_fail(err, "writing the PEM key");
	else
		st = bio_take(bio, out, cap, len, err);
	BIO_free(bio);
	return st;
}

/* The public key bytes a key record carries (RFC 6376 3.6.1 p=, RFC 8463 4.2). */
static enum signet_status public_der(const struct signet_key *key, uint8_t **der, size_t *n,
				     struct signet_error *err)
{
	if (key->type == SIGNET_KEY_ED25519) {
		size_t len = ED25519_KEY_LEN;
		*der = OPENSSL_malloc(len);
		if (*der == NULL)
			return error_set(err, SIGNET_ERR_NOMEM, NULL, "out of memory");
		if (!EVP_PKEY_get_raw_public_key(key->pkey, *der, &len) || len != ED25519_KEY_LEN) {
			OPENSSL_free(*der);
			*der = NULL;
			return ossl_fail(err, "reading the Ed25519 public key");
		}
		*n = len;
		return SIGNET_OK;
	}
	unsigned char *p = NULL;
	int len =
	    i2d_PUBKEY(key->pkey, &p); /* SubjectPublicKeyInfo, what RFC 6376 App. C publishes */
	if (len <= 0)
		return ossl_fail(err, "encoding the RSA public key");
	*der = p;
	*n = (size_t)len;
	return SIGNET_OK;
}

static enum signet_status public_b64(const struct signet_key *key, char *out, size_t cap,
				     size_t *len, struct signet_error *err)
{
	uint8_t *der = NULL;
	size_t n = 0;
	SIGNET_TRY(public_der(key, &der, &n, err));
	size_t need = 4 * ((n + 2) / 3);
	enum signet_status st = SIGNET_OK;
	if (need >= cap)
		st = error_set(err, SIGNET_ERR_LIMIT, NULL,
			       "public key needs %zu bytes of base64, the buffer has %zu", need + 1,
			       cap);
	else if (base64_encode_str(der, n, out, cap) != SIGNET_OK)
		st = error_set(err, SIGNET_ERR_LIMIT, NULL, "public key base64 does not fit");
	else
		*len = strlen(out);
	OPENSSL_free(der);
	return st;
}

enum signet_status signet_key_public_base64(const struct signet_key *key, char *out, size_t cap,
					    size_t *len, struct signet_error *err)
{
	if (key == NULL || out == NULL || len == NULL)
		return error_set(err, SIGNET_ERR_INVAL, NULL,
				 "signet_key_public_base64: NULL argument");
	return public_b64(key, out, cap, len, err);
}

enum signet_status signet_key_dns_record(const struct signet_key *key, char *out, size_t cap,
					 size_t *len, struct signet_error *err)
{
	if (key == NULL || out == NULL || len == NULL)
		return error_set(err, SIGNET_ERR_INVAL, NULL,
				 "signet_key_dns_record: NULL argument");
	/* RFC 6376 3.6.1; k=ed25519 from RFC 8463 4.2 */
	const char *prefix =
	    key->type == SIGNET_KEY_RSA ? "v=DKIM1; k=rsa; p=" : "v=DKIM1; k=ed25519; p=";
	size_t plen = strlen(prefix);
	if (plen >= cap)
		return error_set(err, SIGNET_ERR_LIMIT, NULL,
				 "DNS record buffer of %zu bytes too small", cap);
	memcpy(out, prefix, plen);
	size_t blen = 0;
	SIGNET_TRY(public_b64(key, out + plen, cap - plen, &blen, err));
	*len = plen + blen;
	return SIGNET_OK;
}

enum signet_keytype signet_key_type(const struct signet_key *key)
{
	return key->type;
}

unsigned signet_key_bits(const struct signet_key *key)
{
	return key->bits;
}

enum signet_alg signet_key_alg(const struct signet_key *key)
{
	return key->type == SIGNET_KEY_RSA ? SIGNET_ALG_RSA_SHA256 : SIGNET_ALG_ED25519_SHA256;
}

void signet_key_free(struct signet_key *key)
{
	if (key == NULL)
		return;
	template_free(&key->op);
	EVP_PKEY_free(key->pkey); /* OpenSSL clears private key material on free */
	OPENSSL_cleanse(key, sizeof *key);
	free(key);
}

/* ---- public keys from key records ------------------------------------ */

/* A minimal strict DER reader for the two RSA public key forms (RFC 3279
 * 2.3.1 SubjectPublicKeyInfo, RFC 8017 A.1.1 RSAPublicKey). It replaces
 * d2i_PUBKEY, which costs ~100 us per key in OpenSSL 3 (its decoder
 * framework) against ~5 us for this plus EVP_PKEY_fromdata: a verifier
 * decodes one key record per message. Definite lengths of at most two
 * bytes (keys are capped at SIGNET_MAX_KEY_RECORD), nothing left over. */
struct der {
	const uint8_t *p;
	size_t len;
};

static bool der_tlv(struct der *d, uint8_t tag, struct der *val)
{
	if (d->len < 2 || d->p[0] != tag)
		return false;
	size_t n = d->p[1], hdr = 2;
	if (n == 0x81 || n == 0x82) {
		size_t nb = n & 0x7f;
		if (d->len < 2 + nb)
			return false;
		n = nb == 1 ? d->p[2] : ((size_t)d->p[2] << 8) | d->p[3];
		if (n < 0x80 || (nb == 2 && n < 0x100))
			return false; /* not the shortest form: not DER */
		hdr += nb;
	} else if (n >= 0x80) {
		return false; /* indefinite or longer than we accept */
	}
	if (d->len - hdr < n)
		return false;
	val->p = d->p + hdr;
	val->len = n;
	d->p += hdr + n;
	d->len -= hdr + n;
	return true;
}

/* A non-negative INTEGER's magnitude (a leading 0x00 only before a high bit).
 * *negative set for a negative number (never a valid n or e). */
static bool der_uint(struct der *d, struct der *mag, bool *negative)
{
	if (!der_tlv(d, 0x02, mag) || mag->len == 0)
		return false;
	*negative = (mag->p[0] & 0x80) != 0;
	if (mag->len > 1 && mag->p[0] == 0x00) {
		if ((mag->p[1] & 0x80) == 0)
			return false; /* non-minimal */
		mag->p++;
		mag->len--;
	}
	return true;
}

enum rsa_der_status { RSA_DER_OK, RSA_DER_BAD, RSA_DER_NOT_RSA };

/* RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER } */
static bool rsa_pkcs1(struct der d, struct der *n, bool *nneg, struct der *e, bool *eneg)
{
	struct der seq;
	return der_tlv(&d, 0x30, &seq) && d.len == 0 && der_uint(&seq, n, nneg) &&
	       der_uint(&seq, e, eneg) && seq.len == 0;
}

/* SubjectPublicKeyInfo with rsaEncryption, or a bare RSAPublicKey (DKIM-KEY-04). */
static enum rsa_der_status rsa_der(const uint8_t *p, size_t len, struct der *n, bool *nneg,
				   struct der *e, bool *eneg)
{
	static const uint8_t rsa_oid[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01};
	struct der all = {p, len}, spki, alg, oid, bits, null;
	if (rsa_pkcs1(all, n, nneg, e, eneg))
		return RSA_DER_OK;
	if (!der_tlv(&all, 0x30, &spki) || all.len != 0 || !der_tlv(&spki, 0x30, &alg) ||
	    !der_tlv(&alg, 0x06, &oid))
		return RSA_DER_BAD;
	if (oid.len != sizeof rsa_oid || memcmp(oid.p, rsa_oid, sizeof rsa_oid) != 0)
		return RSA_DER_NOT_RSA;
	/* parameters: NULL (RFC 3279 2.3.1), tolerated when absent */
	if (alg.len != 0 && (!der_tlv(&alg, 0x05, &null) || null.len != 0 || alg.len != 0))
		return RSA_DER_BAD;
	if (!der_tlv(&spki, 0x03, &bits) || spki.len != 0 || bits.len < 1 || bits.p[0] != 0)
		return RSA_DER_BAD;
	struct der key = {bits.p + 1, bits.len - 1};
	return rsa_pkcs1(key, n, nneg, e, eneg) ? RSA_DER_OK : RSA_DER_BAD;
}

static unsigned der_bits(struct der m)
{
	while (m.len > 0 && m.p[0] == 0) {
		m.p++;
		m.len--;
	}
	if (m.len == 0)
		return 0;
	unsigned top = 0;
	for (uint8_t c = m.p[0]; c != 0; c >>= 1)
		top++;
	return (unsigned)(m.len - 1) * 8 + top;
}

/* DKIM-KEY-14 (RFC 8301 3.2) and DKIM-KEY-15: size and exponent, before any use. */
static enum signet_status rsa_check(struct der n, bool nneg, struct der e, bool eneg,
				    unsigned *bits, struct signet_error *err)
{
	unsigned nbits = der_bits(n);
	if (nneg || nbits == 0 || (n.p[n.len - 1] & 1) == 0)
		return error_set(err, SIGNET_ERR_KEY, "RFC 6376 6.1.2", "RSA modulus is not valid");
	*bits = nbits;
	if (nbits < SIGNET_MIN_RSA_BITS)
		return error_set(err, SIGNET_ERR_KEY, "RFC 8301 3.2",
				 "key too small (%u bits, RFC 8301 requires 1024)", nbits);
	if (nbits > SIGNET_MAX_RSA_BITS)
		return error_set(err, SIGNET_ERR_KEY, "RFC 8301 3.2",
				 "key too large (%u bits, limit 4096)", nbits);
	unsigned ebits = der_bits(e);
	if (eneg || ebits < 2 || ebits > RSA_EXPONENT_MAX_BITS || (e.p[e.len - 1] & 1) == 0)
		return error_set(err, SIGNET_ERR_KEY, "RFC 6376 6.1.2",
				 "unreasonable RSA public exponent (must be odd, 3 to 2^32)");
	return SIGNET_OK;
}

/* The EVP_PKEY from n and e (OpenSSL 3 provider API). */
static EVP_PKEY *rsa_from_ne(struct der n, struct der e)
{
	BIGNUM *bn = BN_bin2bn(n.p, (int)n.len, NULL), *be = BN_bin2bn(e.p, (int)e.len, NULL);
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pk = NULL;
	if (bn && be && bld && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) &&
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be) &&
	    (params = OSSL_PARAM_BLD_to_param(bld)) != NULL &&
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL)) != NULL &&
	    EVP_PKEY_fromdata_init(ctx) == 1)
		(void)EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn);
	BN_free(be);
	ERR_clear_error();
	return pk;
}

static enum signet_status pubkey_rsa(const uint8_t *p, size_t len, EVP_PKEY **out, unsigned *bits,
				     struct signet_error *err)
{
	if (len == 0 || len > SIGNET_MAX_KEY_RECORD)
		return error_set(err, SIGNET_ERR_KEY, "RFC 6376 6.1.2",
				 "public key does not parse (%zu bytes)", len);
	struct der n, e;
	bool nneg = false, eneg = false;
	enum rsa_der_status ds = rsa_der(p, len, &n, &nneg, &e, &eneg);
	if (ds == RSA_DER_NOT_RSA)
		return error_set(err, SIGNET_ERR_KEY, "RFC 6376 6.1.2",
				 "public key is not an RSA key (k=rsa)");
	if (ds != RSA_DER_OK)
		return error_set(err, SIGNET_ERR_KEY, "RFC 6376 6.1.2",
				 "public key does not parse (expected RSA SubjectPublicKeyInfo or "
				 "RSAPublicKey DER)");
	SIGNET_TRY(rsa_check(n, nneg, e, eneg, bits, err));
	*out = rsa_from_ne(n, e);
	if (*out == NULL)
		return error_set(err, SIGNET_ERR_CRYPTO, NULL, "OpenSSL could not load the RSA key");
	return SIGNET_OK;
}

static enum signet_status pubkey_ed25519(const uint8_t *p, size_t len, EVP_PKEY **out,
					 unsigned *bits, struct signet_error *err)
{
	/* DKIM-KEY-04 (RFC 8463 4.2): the raw 32-byte key, no ASN.1 */
	if (len != ED25519_KEY_LEN)
		return error_set(err, SIGNET_ERR_KEY, "RFC 8463 4.2",
				 "ed25519 public key must be 32 bytes, not %zu", len);
	*out = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, p, len);
	if (*out == NULL)
		return ossl_fail(err, "Ed25519 public key");
	*bits = 256;
	return SIGNET_OK;
}

enum signet_status pubkey_parse(enum signet_keytype type, const uint8_t *p, size_t len,
				struct pubkey **out, unsigned *bits, struct signet_error *err)
{
	EVP_PKEY *pk = NULL;
	unsigned b = 0;
	enum signet_status st;
	if (out == NULL || (p == NULL && len > 0))
		return error_set(err, SIGNET_ERR_INVAL, NULL, "pubkey_parse: NULL argument");
	*out = NULL;
	if (type == SIGNET_KEY_RSA)
		st = pubkey_rsa(p, len, &pk, &b, err);
	else if (type == SIGNET_KEY_ED25519)
		st = pubkey_ed25519(p, len, &pk, &b, err);
	else
		st = error_set(err, SIGNET_ERR_INVAL, NULL, "unknown key type %d", (int)type);
	if (bits != NULL)
		*bits = b;
	if (st != SIGNET_OK)
		return st;
	struct pubkey *k = calloc(1, sizeof *k);
	if (k == NULL) {
		EVP_PKEY_free(pk);
		return error_set(err, SIGNET_ERR_NOMEM, NULL, "out of memory");
	}
	k->pkey = pk;
	k->type = type;
	k->bits = b;
	st = template_init(&k->op, pk, type, false, err);
	if (st != SIGNET_OK) {
		pubkey_free(k);
		return st;
	}
	*out = k;
	return SIGNET_OK;
}

static enum signet_status verify_rsa(const struct pubkey *k, const uint8_t *digest,
				     const uint8_t *sig, size_t siglen, bool *ok,
				     struct signet_error *err)
{
	/* A signature of the wrong length is a bad signature, not an error. */
	if (siglen != (size_t)EVP_PKEY_get_size(k->pkey))
		return SIGNET_OK;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_dup(k->op.rsa);
	if (ctx == NULL)
		return ossl_fail(err, "RSA verify setup");
	*ok = EVP_PKEY_verify(ctx, sig, siglen, digest, SIGNET_SHA256_LEN) == 1;
	EVP_PKEY_CTX_free(ctx);
	ERR_clear_error();
	return SIGNET_OK;
}

static enum signet_status verify_ed25519(const struct pubkey *k, const uint8_t *digest,
					 const uint8_t *sig, size_t siglen, bool *ok,
					 struct signet_error *err)
{
	if (siglen != ED25519_SIG_LEN)
		return SIGNET_OK;
	EVP_MD_CTX *mctx = template_ed(&k->op);
	if (mctx == NULL)
		return ossl_fail(err, "Ed25519 verify setup");
	*ok = EVP_DigestVerify(mctx, sig, siglen, digest, SIGNET_SHA256_LEN) == 1;
	EVP_MD_CTX_free(mctx);
	ERR_clear_error();
	return SIGNET_OK;
}

enum signet_status pubkey_verify(const struct pubkey *k, const uint8_t digest[SIGNET_SHA256_LEN],
				 const uint8_t *sig, size_t siglen, bool *ok,
				 struct signet_error *err)
{
	if (k == NULL || digest == NULL || ok == NULL || (sig == NULL && siglen > 0))
		return error_set(err, SIGNET_ERR_INVAL, NULL, "pubkey_verify: NULL argument");
	*ok = false;
	if (k->type == SIGNET_KEY_RSA)
		return verify_rsa(k, digest, sig, siglen, ok, err);
	return verify_ed25519(k, digest, sig, siglen, ok, err);
}

bool pubkey_matches(const struct pubkey *k, const struct signet_key *key)
{
	if (k == NULL || key == NULL)
		return false;
	bool same = EVP_PKEY_eq(k->pkey, key->pkey) == 1;
	ERR_clear_error();
	return same;
}

void pubkey_free(struct pubkey *k)
{
	if (k == NULL)
		return;
	template_free(&k->op);
	EVP_PKEY_free(k->pkey);
	free(k);
}

static enum signet_status sign_rsa(const struct signet_key *key, const uint8_t *digest,
				   uint8_t *sig, size_t *siglen, struct signet_error *err)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_dup(key->op.rsa);
	enum signet_status st = SIGNET_OK;
	if (ctx == NULL || EVP_PKEY_sign(ctx, sig, siglen, digest, SIGNET_SHA256_LEN) <= 0)
		st = ossl_fail(err, "RSA signing");
	EVP_PKEY_CTX_free(ctx);
	return st;
}

static enum signet_status sign_ed25519(const struct signet_key *key, const uint8_t *digest,
				       uint8_t *sig, size_t *siglen, struct signet_error *err)
{
	EVP_MD_CTX *mctx = template_ed(&key->op);
	enum signet_status st = SIGNET_OK;
	if (mctx == NULL || EVP_DigestSign(mctx, sig, siglen, digest, SIGNET_SHA256_LEN) != 1)
		st = ossl_fail(err, "Ed25519 signing");
	EVP_MD_CTX_free(mctx);
	return st;
}

enum signet_status key_sign(const struct signet_key *key, const uint8_t digest[SIGNET_SHA256_LEN],
			    uint8_t *sig, size_t cap, size_t *siglen, struct signet_error *err)
{
	if (key == NULL || digest == NULL || sig == NULL || siglen == NULL)
		return error_set(err, SIGNET_ERR_INVAL, NULL, "key_sign: NULL argument");
	size_t need = (size_t)EVP_PKEY_get_size(key->pkey);
	if (cap < need)
		return error_set(err, SIGNET_ERR_LIMIT, NULL,
				 "signature needs %zu bytes, the buffer has %zu", need, cap);
	*siglen = cap;
	if (key->type == SIGNET_KEY_RSA)
		return sign_rsa(key, digest, sig, siglen, err);
	return sign_ed25519(key, digest, sig, siglen, err);
}
