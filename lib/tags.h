/* tags.h: the one tag=value list parser (RFC 6376 3.2), shared by
 * DKIM-Signature fields and key records. Spans point into the input. */
#ifndef SIGNET_TAGS_H
#define SIGNET_TAGS_H

#include "buf.h"

struct tag {
	struct signet_span name; /* tag-name, no WSP */
	struct signet_span
		value; /* tag-value: trimmed of surrounding FWS, inner FWS kept; may be empty */
	struct signet_span raw; /* everything between '=' and the ';' (or end), surrounding FWS
				   * included: what RFC 6376 3.7 deletes for b= */
};

struct tag_list {
	struct tag tags[SIGNET_MAX_TAGS];
	size_t count;
};

/* tag-list = tag-spec *( ";" tag-spec ) [ ";" ]  (RFC 6376 3.2).
 * SIGNET_ERR_SYNTAX with the byte offset in msg on a grammar error (DKIM-TAG-05);
 * a duplicate tag name is SIGNET_ERR_SYNTAX too (DKIM-TAG-03); more than
 * SIGNET_MAX_TAGS tags is SIGNET_ERR_LIMIT. */
SIGNET_MUST_USE enum signet_status tag_list_parse(const uint8_t *p, size_t len,
						  struct tag_list *out, struct signet_error *err);
/* Case-sensitive lookup (DKIM-TAG-02); NULL when absent. */
const struct tag *tag_list_find(const struct tag_list *l, const char *name);
/* Colon-separated lists inside a value (sig h=, q=; key h=, s=, t=): the
 * next element, trimmed of FWS, into *item; *pos starts at 0 and moves past
 * the ':'. An empty list yields one empty element. False when used up. */
bool tag_value_list_next(struct signet_span list, size_t *pos, struct signet_span *item);

#endif
