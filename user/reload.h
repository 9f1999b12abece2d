/* SPDX-License-Identifier: MIT */
/*
 * reload.h - configuration generations and their reload (SIGHUP, `sockmux reload`).
 *
 * A generation is one parsed configuration with a reference count. The daemon holds the
 * newest; each worker holds the one it accepts new connections with; each connection holds
 * the one it was accepted under, until its log line is written. So a reload applies to new
 * connections at once, while every connection already under way keeps its routes, backends
 * and names to the end. Settings that size the daemon (workers, max_connections, control,
 * metrics) keep their first values until a restart.
 */
#ifndef SOCKMUX_RELOAD_H
#define SOCKMUX_RELOAD_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "stats.h"

struct daemon;
struct worker;

struct config_gen {
	atomic_uint refs;
	unsigned int gen;		/* 1 for the configuration started with */
	struct sm_config cfg;
	uint32_t *sid[STATS__KINDS];	/* stats id of each listener, route, backend */
};

/* A generation of cfg (taken over), with its stats ids; NULL when out of memory. */
struct config_gen *config_gen_new(struct daemon *d, struct sm_config *cfg);
struct config_gen *config_gen_get(struct config_gen *g);
void config_gen_put(struct config_gen *g);
/* A reference to the daemon's newest generation (any thread). */
struct config_gen *config_gen_current(struct daemon *d);

/*
 * Re-reads the configuration file. On error the running configuration stays, the log and
 * msg say FILE:LINE: why, and the result is -EINVAL (or -errno). On success new connections
 * get the new one. msg (size bytes) receives a one-line summary either way.
 */
int daemon_reload(struct daemon *d, char *msg, size_t size);

/* Worker side: adopt the daemon's newest generation if it changed (listeners diffed). */
void worker_adopt_config(struct worker *w);

#endif
