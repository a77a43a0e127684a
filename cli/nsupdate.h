/* nsupdate.h: publishing a DKIM key record by RFC 2136 dynamic update,
 * signed with TSIG (RFC 8945), for `signet rotate --nsupdate` (issue #17).
 * It reads the TSIG key file (BIND's `key "name" { ... };` or Knot's
 * `keymgr -t` YAML), finds the zone with an SOA query to the server, and
 * replaces the TXT RRset at SELECTOR._domainkey.DOMAIN. DNS packets are
 * built, signed, sent and verified by ldns; nothing here writes wire
 * format. Every function prints its own errors (cli_err). */
#ifndef SIGNET_CLI_NSUPDATE_H
#define SIGNET_CLI_NSUPDATE_H

#include <stdbool.h>
#include <stdint.h>

#define NSUPDATE_MAX_TSIG_FILE (64u * 1024) /* a key file is ~150 bytes */
#define NSUPDATE_TIMEOUT_S 5                /* connect and answer, per query */
#define NSUPDATE_DEFAULT_TTL 3600u          /* of the published record */
/* A TTL above ROTATION_MAX_WAIT is waited for that long only (rotation.h):
 * caches could still hold the old answer when signetd switches. */
#define NSUPDATE_MAX_TTL (2u * 86400)
#define NSUPDATE_MAX_SECRET 128 /* bytes of TSIG secret (hmac-sha512 keys are 64) */
#define NSUPDATE_DEFAULT_PORT 53

struct nsupdate;

/* Reads the TSIG key file tsig_path and checks server ("ADDRESS[:PORT]" or
 * "[IPV6]:PORT", numeric), zone (NULL: found by an SOA query) and ttl
 * (NULL: NSUPDATE_DEFAULT_TTL). NULL after printing why (file:line for a
 * malformed key file). The caller frees it with nsupdate_free. */
struct nsupdate *nsupdate_new(const char *server, const char *tsig_path, const char *zone,
			      const char *ttl);
/* Wipes the secret. NULL is a no-op. */
void nsupdate_free(struct nsupdate *ns);

/* Replaces the TXT RRset at SELECTOR._domainkey.DOMAIN with value (split
 * into 255-byte character-strings, RFC 6376 3.6.2.2) by one signed update.
 * True when the server answered NOERROR with a valid TSIG; otherwise
 * prints the RCODE (and TSIG error) by name and what to fix, and returns
 * false. */
bool nsupdate_dkim_record(struct nsupdate *ns, const char *domain, const char *selector,
			  const char *value);

/* The server as given, for messages. */
const char *nsupdate_server(const struct nsupdate *ns);

#endif
