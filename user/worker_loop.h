/* SPDX-License-Identifier: MIT */
/* worker_loop.h - a worker's thread: set up, started, woken, stopped (see worker.h). */
#ifndef SOCKMUX_WORKER_LOOP_H
#define SOCKMUX_WORKER_LOOP_H

#include "worker.h"

struct daemon;

/* Worker id of d: its epoll, counters, engine state and listening sockets; 0 or -errno. */
int worker_init(struct worker *w, struct daemon *d, unsigned int id);
int worker_start(struct worker *w);
void worker_stop(struct worker *w);
/* Wakes the worker, which then looks for a new configuration (or the stop flag). */
void worker_wake(struct worker *w);
void worker_join(struct worker *w);
void worker_fini(struct worker *w);

#endif
