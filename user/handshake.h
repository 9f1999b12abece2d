/* SPDX-License-Identifier: MIT */
/*
 * handshake.h - a routed connection's steps up to the hand-off: connect the backend, send the
 * PROXY header, give both sockets to the engine (handshake.c).
 */
#ifndef SOCKMUX_HANDSHAKE_H
#define SOCKMUX_HANDSHAKE_H

#include <stdint.h>

struct conn;
struct route_result;
struct sniff_result;
struct worker;

/*
 * c was routed (res; sr: what its first bytes said, or NULL when it was routed before any):
 * connects its backend; the hand-off follows once connected. Or ends c.
 */
void handshake_connect(struct worker *w, struct conn *c, const struct route_result *res,
		       const struct sniff_result *sr);
/*
 * The connect to c's server took connect_ms: the next server is tried (up to the backend's
 * retries), or c ends as connect_timeout.
 */
void handshake_connect_expired(struct worker *w, struct conn *c);
/* Backend socket event in state CONN_CONNECTING. */
void handshake_connect_event(struct worker *w, struct conn *c, uint32_t events);
/*
 * Bytes went to c's backend (an engine calls it whenever it moved client bytes): the ACK the
 * connect held back for the first of them (handshake.c, hold_connect_ack()) left with them,
 * and its socket acknowledges as any other does from now on.
 */
void handshake_first_bytes_sent(struct conn *c);

#endif
