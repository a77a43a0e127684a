/* headers.c: h= selection (RFC 6376 5.4.2) over a header store; the
 * fields are canonicalized on the fly. */
#include <string.h>

#include "canon.h"
#include "error.h"
#include "headers.h"

enum signet_status header_select(const struct header_store *hs, const struct signet_span *names,
				 size_t n, enum signet_canon c, size_t skip, struct signet_buf *out)
{
	/* One byte per field: used by an earlier name of this h= list. */
	uint8_t used[SIGNET_MAX_HEADER_FIELDS];
	memset(used, 0, hs->count);
	for (size_t k = 0; k < n; k++) {
		/* DKIM-HDR-02 (RFC 6376 5.4.2): the next unused instance from the bottom. */
		for (size_t j = hs->count; j-- > 0;) {
			if (used[j] || j == skip || !hs->fields[j].has_colon)
				continue;
			if (!span_eq_nocase_span(header_name(hs, j), names[k]))
				continue;
			used[j] = 1;
			SIGNET_TRY(canon_header(c, header_raw_name(hs, j), header_value(hs, j), out));
			break;
		}
	}
	return SIGNET_OK;
}
