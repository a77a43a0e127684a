/* rotation_watch.h: signetd's side of key rotation (conf/rotation.h). On
 * the key-record check interval (dns.health_interval), at start and after
 * each reload, every selector of the rotation state that waits for DNS is
 * looked up and judged against its key with libsignet's record check;
 * rotation.h decides the step; the state file is saved when it changed,
 * each step is logged, and a switch or a retirement asks the server to
 * reload, so the keys in service follow the state. */
#ifndef SIGNETD_ROTATION_WATCH_H
#define SIGNETD_ROTATION_WATCH_H

#include "dns.h"

struct event_base;
struct runtime;
struct rotation_watch;

typedef struct runtime *(*rotation_runtime_fn)(void *arg); /* a new reference */
typedef void (*rotation_changed_fn)(void *arg);            /* reload: the active keys changed */

struct rotation_watch *rotation_watch_new(struct event_base *base, const struct dns_options *dns,
					  rotation_runtime_fn get, rotation_changed_fn changed,
					  void *arg, char *err, size_t errlen);
/* Checks now (after a reload), unless a check runs. */
void rotation_watch_kick(struct rotation_watch *w);
void rotation_watch_free(struct rotation_watch *w);

#endif
