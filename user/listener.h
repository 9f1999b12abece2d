/* SPDX-License-Identifier: MIT */
/*
 * listener.h - a listener's socket for one worker: one its transport opens (SO_REUSEPORT), or
 * a duplicate of the one systemd passed for its address.
 */
#ifndef SOCKMUX_LISTENER_H
#define SOCKMUX_LISTENER_H

#include "config.h"

struct transport;

/*
 * Socket activation: takes the sockets systemd passed (sd_listen_fds: listening stream
 * sockets, bound datagram ones), made non-blocking and close-on-exec, into a new array *fds;
 * returns how many (0: none) or -errno. Others passed are closed.
 */
int listener_inherit(int **fds);
/* Index in fds of the socket of l's type bound to l's address, or -1. */
int listener_find_inherited(const struct config_listener *l, const int *fds, unsigned int n);
/* A duplicate of the inherited socket for l, else a new one from its transport t. */
int listener_get(const struct config_listener *l, const struct transport *t, const int *fds,
		 unsigned int n);

#endif
