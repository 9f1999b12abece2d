/* SPDX-License-Identifier: MIT */
/*
 * health.h - active health checks of backends' servers (health.c): one thread of the daemon
 * checks every server of every backend with `health = { ... }` in the newest configuration,
 * each every interval_ms (jittered by +-10 % so that checks do not align), each bounded by
 * timeout_ms: a TCP connect, or with tls a ClientHello that must be answered by a ServerHello
 * (health_tls.h). fall failures in a row take a server down, rise successes bring it back;
 * every change is logged. Results go to the server's shared state (balance.h), where
 * balancing, stats and `sockmux route` read them. Servers start up.
 */
#ifndef SOCKMUX_HEALTH_H
#define SOCKMUX_HEALTH_H

struct daemon;
struct health;

/*
 * Starts the checker thread (idle while no backend has health checks: a reload may add
 * them). 0 or -errno.
 */
int health_start(struct daemon *d, struct health **out);
/* A new configuration is live: the checker takes its servers (NULL is ignored). */
void health_reload(struct health *h);
/* Stops and frees the checker (NULL is ignored). */
void health_stop(struct health *h);

#endif
