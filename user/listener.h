/* SPDX-License-Identifier: MIT */
/* listener.h - listening sockets: one per configured address per worker (SO_REUSEPORT). */
#ifndef SOCKMUX_LISTENER_H
#define SOCKMUX_LISTENER_H

#include "addr.h"

/* A non-blocking listening TCP socket bound to addr; IPv6 ones are IPv6-only. fd or -errno. */
int listener_open(const struct sm_addr *addr);

/*
 * Socket activation: takes the listening TCP sockets systemd passed (sd_listen_fds), made
 * non-blocking and close-on-exec, into a new array *fds; returns how many (0: none) or
 * -errno. Others passed are closed.
 */
int listener_inherit(int **fds);
/* Index in fds of the socket bound to addr, or -1. */
int listener_find_inherited(const struct sm_addr *addr, const int *fds, unsigned int n);
/* A duplicate of the inherited socket bound to addr, else a new listener_open(addr). */
int listener_get(const struct sm_addr *addr, const int *fds, unsigned int n);

#endif
