/* SPDX-License-Identifier: MIT */
/*
 * handshake.h - from a connection's first bytes to a connected backend: peek the ClientHello
 * (nothing is consumed, so the kernel or the engine carries every byte on; on an accept_proxy
 * listener, the PROXY header in front of it is peeked too), route it, connect the backend,
 * write it the PROXY header it wants, hand both sockets to the engine.
 */
#ifndef SOCKMUX_HANDSHAKE_H
#define SOCKMUX_HANDSHAKE_H

#include <stdbool.h>
#include <stdint.h>

struct worker;
struct conn;

/* Client socket event (or a first look right after accept) in state CONN_HELLO. */
void handshake_hello_event(struct worker *w, struct conn *c, uint32_t events);
/* Backend socket event in state CONN_CONNECTING. */
void handshake_connect_event(struct worker *w, struct conn *c, uint32_t events);

/*
 * A connection whose deadline (or eviction) comes may have had its awaited event queued
 * behind others in a busy epoll batch, or in the next one: it is looked at once more before
 * it is ended. True when it moved on, to its next state or to its end.
 */
bool handshake_moved_on(struct worker *w, struct conn *c);

#endif
