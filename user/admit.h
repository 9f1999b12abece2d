/* SPDX-License-Identifier: MIT */
/*
 * admit.h - what every transport does with a newcomer before its first bytes are read:
 * room for it (max_connections, max_handshakes), then its admission.
 */
#ifndef SOCKMUX_ADMIT_H
#define SOCKMUX_ADMIT_H

#include <stdbool.h>
#include <stdint.h>

struct conn;
struct worker;

/*
 * Makes room for one more connection before it is taken from the kernel, by ending the oldest
 * ones still before their routing decision, so that a slowloris holds its place only until
 * someone needs it. Each is looked at once more first: one whose hello is there is routed
 * instead. One younger than min(250 ms, handshake_ms / 2) is not ended: the newcomers then
 * wait in the kernel (the listen backlog) until *retry_ns, or until a connection ends. False
 * when there is no room.
 */
bool admit_room(struct worker *w, uint64_t *retry_ns);

/*
 * c (conn_new()) joins the worker: counted, then ended unless its listener trusts its peer and
 * its source is under max_connections_per_source; else put in CONN_HELLO under the handshake
 * deadline. False when c was ended. The transport then watches its socket.
 */
bool admit_conn(struct worker *w, struct conn *c);

#endif
