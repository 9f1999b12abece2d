/* SPDX-License-Identifier: MIT */
/* listener.h - listening sockets: one per configured address per worker (SO_REUSEPORT). */
#ifndef SOCKMUX_LISTENER_H
#define SOCKMUX_LISTENER_H

#include "addr.h"

/* A non-blocking listening TCP socket bound to addr; IPv6 ones are IPv6-only. fd or -errno. */
int listener_open(const struct sm_addr *addr);

#endif
