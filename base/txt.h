/* txt.h (internal): the character-strings of one DNS TXT RDATA (RFC 1035
 * 3.3.14), read and joined as DKIM wants them (RFC 6376 3.6.2.2). Bytes in,
 * bytes out: libc, buf.h and error.h only (base/: every part may use it). */
#ifndef SIGNET_LIB_TXT_H
#define SIGNET_LIB_TXT_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "error.h"

enum txt_next_result {
	TXT_STRING = 1,    /* *s is the next character-string, *pos moved past it */
	TXT_END = 0,       /* no more strings (*pos == rdlen) */
	TXT_MALFORMED = -1 /* its length octet runs past rdlen; *pos unchanged */
};

/* The character-string at *pos of rdata[0..rdlen). *s is borrowed from
 * rdata. Call with *pos = 0 first. */
enum txt_next_result txt_next(const uint8_t *rdata, size_t rdlen, size_t *pos,
			      struct signet_span *s);

/* Joins the character-strings of rdata with nothing between them (RFC 6376
 * 3.6.2.2) into out (cap bytes; the joined text is never longer than rdlen,
 * so cap = rdlen is enough). *len is the joined length, *nstrings (may be
 * NULL) the number of strings. Empty RDATA gives 0 strings. Errors:
 * SIGNET_ERR_SYNTAX "TXT character-string N runs past the RDATA" and
 * SIGNET_ERR_LIMIT when out is too small; out's contents are then
 * undefined and *len is not set. */
SIGNET_MUST_USE enum signet_status txt_join(const uint8_t *rdata, size_t rdlen, uint8_t *out,
					    size_t cap, size_t *len, size_t *nstrings,
					    struct signet_error *err);

#endif
