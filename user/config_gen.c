// SPDX-License-Identifier: MIT
/* config_gen.c - configuration generations and their reference counts (see config_gen.h). */
#include <stdlib.h>
#include <string.h>

#include "config_gen.h"
#include "daemon.h"

struct config_gen *config_gen_new(struct daemon *d, struct sm_config *cfg)
{
	struct config_gen *g;

	g = calloc(1, sizeof(*g));
	if (!g) {
		config_free(cfg);
		return NULL;
	}
	atomic_init(&g->refs, 1);
	g->cfg = *cfg;
	memset(cfg, 0, sizeof(*cfg));
	g->gen = atomic_load(&d->live_gen) + 1;
	if (stats_names_update(&d->names, g)) {
		config_gen_put(g);
		return NULL;
	}
	return g;
}

struct config_gen *config_gen_get(struct config_gen *g)
{
	atomic_fetch_add(&g->refs, 1);
	return g;
}

void config_gen_put(struct config_gen *g)
{
	if (!g || atomic_fetch_sub(&g->refs, 1) != 1)
		return;
	for (int kind = 0; kind < STATS__KINDS; kind++)
		free(g->sid[kind]);
	config_free(&g->cfg);
	free(g);
}

struct config_gen *config_gen_current(struct daemon *d)
{
	struct config_gen *g;

	pthread_mutex_lock(&d->live_lock);
	g = config_gen_get(d->live);
	pthread_mutex_unlock(&d->live_lock);
	return g;
}
