/* SPDX-License-Identifier: MIT */
/*
 * config_gen.h - configuration generations: one parsed configuration with a reference count
 * and the stats ids of what it names.
 *
 * The daemon holds the newest; each worker holds the one it accepts new connections with;
 * each connection holds the one it was accepted under, until its log line is written. So a
 * reload applies to new connections at once, while every connection already under way keeps
 * its routes, backends and names to the end.
 */
#ifndef SOCKMUX_CONFIG_GEN_H
#define SOCKMUX_CONFIG_GEN_H

#include <stdatomic.h>
#include <stdint.h>

#include "config.h"
#include "ops/stats.h"

struct daemon;

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

#endif
