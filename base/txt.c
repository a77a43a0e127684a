/* txt.c: the character-strings of a DNS TXT RDATA, read and joined (txt.h).
 * The one joiner for signetd's resolver answers and the CLI's; it parses no
 * DKIM and does no DNS. */
#include <string.h>

#include "txt.h"

#define SPEC_TXT "RFC 1035 3.3.14"

/* <character-string> = one length octet and that many octets (RFC 1035 3.3). */
enum txt_next_result txt_next(const uint8_t *rdata, size_t rdlen, size_t *pos,
			      struct signet_span *s)
{
	if (*pos >= rdlen)
		return TXT_END;
	size_t sl = rdata[*pos];
	if (sl > rdlen - *pos - 1)
		return TXT_MALFORMED;
	*s = (struct signet_span){rdata + *pos + 1, sl};
	*pos += 1 + sl;
	return TXT_STRING;
}

enum signet_status txt_join(const uint8_t *rdata, size_t rdlen, uint8_t *out, size_t cap,
			    size_t *len, size_t *nstrings, struct signet_error *err)
{
	size_t pos = 0, n = 0, k = 0;
	struct signet_span s;
	enum txt_next_result r;
	while ((r = txt_next(rdata, rdlen, &pos, &s)) == TXT_STRING) {
		k++;
		if (s.len > cap - n)
			return error_set(err, SIGNET_ERR_LIMIT, NULL,
					 "joined TXT record over %zu bytes", cap);
		if (s.len > 0)
			memcpy(out + n, s.p, s.len);
		n += s.len;
	}
	if (r == TXT_MALFORMED)
		return error_set(err, SIGNET_ERR_SYNTAX, SPEC_TXT,
				 "TXT character-string %zu runs past the RDATA", k + 1);
	*len = n;
	if (nstrings != NULL)
		*nstrings = k;
	return SIGNET_OK;
}
