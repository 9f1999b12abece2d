// SPDX-License-Identifier: MIT
/* config_gen.c - configuration generations and their reference counts (see config_gen.h). */
#include <stdlib.h>
#include <string.h>

#include "config_gen.h"

struct config_gen *config_gen_new(struct config *cfg, unsigned int gen,
				  const struct config_gen *prev)
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
	g->balance = balance_state_new(&g->cfg, prev ? &prev->cfg : NULL,
				       prev ? prev->balance : NULL);
	if (!g->balance) {
		config_gen_put(g);
		return NULL;
	}
	g->gen = gen;
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
	balance_state_free(&g->cfg, g->balance);
	config_free(&g->cfg);
	free(g);
}
