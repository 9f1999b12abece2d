/* SPDX-License-Identifier: MIT */
/*
 * splice.h - the splice(2) engine (splice.c), for the engines built on it: the sockmap engine
 * has splice carry a connection until it has carried sockmap_after_bytes, and falls back to
 * it for a connection it cannot take.
 */
#ifndef SOCKMUX_SPLICE_H
#define SOCKMUX_SPLICE_H

#include <sys/epoll.h>

#include "engine.h"

/* What the splice engine watches both sockets for (its engine_ops.watch). */
#define SPLICE_WATCH (EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET)

extern const struct engine_ops splice_engine_ops;
extern const struct engine_ops splice_copy_engine_ops;

#endif
