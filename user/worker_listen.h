/* SPDX-License-Identifier: MIT */
/*
 * worker_listen.h - a worker's listening sockets, one per configured listener (SO_REUSEPORT),
 * each served by its transport; kept across reloads where the address stays, and ignored for
 * a while when accepting must pause.
 */
#ifndef SOCKMUX_WORKER_LISTEN_H
#define SOCKMUX_WORKER_LISTEN_H

#include <stdbool.h>
#include <stdint.h>

#include "worker.h"

struct config;

/*
 * This worker's sockets for cfg's listeners: kept ones re-pointed, new ones opened, those cfg
 * does not list closed. Called at start and between epoll batches, so no pending event names
 * the old array. all_or_none (at start): a listener that cannot be opened is an error
 * (-errno, logged); else it is logged and skipped.
 */
int worker_listen_update(struct worker *w, const struct config *cfg, bool all_or_none);
/* Watches (EPOLLIN) or ignores (0) this worker's listening sockets. */
void worker_listen_watch(struct worker *w, uint32_t events);
/* Ignores the listening sockets until `until` (the kernel keeps newcomers in the backlog). */
void worker_listen_pause(struct worker *w, uint64_t until);
/* Watches them again once `until` has come (or a connection ended: until is then 1). */
void worker_listen_resume(struct worker *w, uint64_t now);
/*
 * Taking a newcomer failed for want of a resource (EMFILE, ENFILE, ENOBUFS, ENOMEM): the
 * listening sockets, level-triggered, would wake the loop again at once, so they are ignored
 * for a while (10 ms, doubling to 1 s while it goes on, or until a connection ends); everyone
 * already connected is served. One log line per pause.
 */
void worker_listen_failed(struct worker *w, const struct listen_sock *ls, int err);

#endif
