/* message.h: splits a raw RFC 5322 message (bytes, any chunking, CRLF or
 * bare LF) into header fields and body chunks for a signer or verifier. For
 * the CLI and fuzzers; the milter gets fields from the MTA already split.
 * Memory: one header field at a time (bounded), the body is passed through. */
#ifndef SIGNET_MESSAGE_H
#define SIGNET_MESSAGE_H

#include <signet/signet.h>

struct signet_message;

struct signet_message_handler {
	/* One header field: name (as written, may end in WSP) and the value
	 * (everything after the colon, folding kept, no final line end). A
	 * line without a colon is passed with value NULL (DKIM-HDR-07). */
	enum signet_status (*header)(void *ctx, const uint8_t *name, size_t nlen,
				     const uint8_t *value, size_t vlen, struct signet_error *err);
	enum signet_status (*end_of_headers)(void *ctx, struct signet_error *err);
	/* Body bytes exactly as in the input (line ends unchanged). */
	enum signet_status (*body)(void *ctx, const uint8_t *p, size_t len,
				   struct signet_error *err);
};

SIGNET_API SIGNET_MUST_USE enum signet_status signet_message_new(
	const struct signet_message_handler *h, void *ctx, struct signet_message **out,
	struct signet_error *err);
/* Feeds bytes; calls the handler as fields complete. A handler error stops
 * and is returned. */
SIGNET_API SIGNET_MUST_USE enum signet_status signet_message_feed(struct signet_message *m,
								  const uint8_t *p, size_t len,
								  struct signet_error *err);
/* End of input: flushes the last field; a message with no empty line has
 * no body (end_of_headers is still called). */
SIGNET_API SIGNET_MUST_USE enum signet_status signet_message_finish(struct signet_message *m,
								    struct signet_error *err);
SIGNET_API void signet_message_free(struct signet_message *m);

#endif
