/* health.h: are the published key records right? For every configured
 * selector, the TXT record at <selector>._domainkey.<domain> is looked up
 * with the daemon's resolver settings (dns.c) and checked against the
 * private key: missing, not matching, revoked, unusable (errors); t=y,
 * a small RSA key, several records, lookup failed (warnings). Each finding
 * names domain, selector, key file and the fix (the record to publish).
 * Used once by `signetd -t --check-dns` and periodically by the server. */
#ifndef SIGNETD_HEALTH_H
#define SIGNETD_HEALTH_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "diag.h"
#include "dns.h"
#include "keystore.h"

struct event_base;
struct runtime;
struct health;

/* The DNS options a config asks for (forwarders, timeout, trust anchor);
 * borrowed from cfg. */
void health_dns_options(const struct signetd_config *cfg, struct dns_options *out);

/* Checks every key of ks now (blocking, up to dns.timeout), findings to d
 * (d->nerrors counts missing/mismatch/revoked/unusable). *nchecked: the
 * selectors looked up. false with err when the resolver cannot start. */
bool health_check_once(const struct signetd_config *cfg, const struct keystore *ks, struct diags *d,
		       size_t *nchecked, char *err, size_t errlen);

/* The periodic check on base: at once, then every dns.health_interval of
 * the runtime get(arg) returns at that moment (a new reference; 0 = off,
 * looked at again after a reload). Findings are logged as warnings. */
typedef struct runtime *(*health_runtime_fn)(void *arg);
struct health *health_new(struct event_base *base, const struct dns_options *dns,
			  health_runtime_fn get, void *arg, char *err, size_t errlen);
/* Cancels a check in progress. NULL is a no-op. */
void health_free(struct health *h);

#endif
