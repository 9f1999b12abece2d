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

#include "balance.h"
#include "config.h"

/* What a configuration names, each with a stats id (ops/stats.h). */
enum stats_kind {
	STATS_LISTENER,
	STATS_ROUTE,
	STATS_BACKEND,
	STATS_PROTOCOL,		/* what connections opened with (sniff/sniff.h), fixed ids */
	STATS__KINDS,
};

struct config_gen {
	atomic_uint refs;
	unsigned int gen;		/* 1 for the configuration started with */
	struct config cfg;
	uint32_t *sid[STATS__KINDS];	/* stats id of each listener, route, backend */
	struct backend_state *balance;	/* [backend]: its servers' state (balance.h) */
};

/*
 * Generation number gen of cfg (taken over), its stats ids not given yet
 * (stats_names_update()); the servers' states are taken over from prev's where backend name
 * and address stay (balance.h; prev may be NULL). NULL when out of memory.
 */
struct config_gen *config_gen_new(struct config *cfg, unsigned int gen,
				  const struct config_gen *prev);
struct config_gen *config_gen_get(struct config_gen *g);
void config_gen_put(struct config_gen *g);

#endif
