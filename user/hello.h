/* SPDX-License-Identifier: MIT */
/*
 * hello.h - a connection's first bytes, up to its route (hello.c): what the worker calls
 * while a connection is in CONN_HELLO.
 */
#ifndef SOCKMUX_HELLO_H
#define SOCKMUX_HELLO_H

#include <stdbool.h>
#include <stdint.h>

struct conn;
struct worker;

/*
 * Right after admission, before any byte is read: routes c at once when a route needs no
 * byte (listener, source, none) and no route before it can match; else nothing.
 */
void hello_first_look(struct worker *w, struct conn *c);
/* Client socket event (or a look at its deadline) in state CONN_HELLO. */
void hello_event(struct worker *w, struct conn *c, uint32_t events);
/*
 * The connections silent since probe_ms ago: each is protocol "timeout" now, routed if a
 * route takes it, else left to speak until handshake_ms.
 */
void hello_probes(struct worker *w, uint64_t now);
/*
 * A connection whose deadline (or eviction) comes may have had its awaited event queued
 * behind others in a busy epoll batch, or in the next one: it is looked at once more before
 * it is ended. True when it moved on: to its next state or to its end.
 */
bool hello_moved_on(struct worker *w, struct conn *c);

#endif
