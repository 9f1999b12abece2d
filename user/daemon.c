// SPDX-License-Identifier: MIT
/* daemon.c - the daemon context's configuration generations (see daemon.h). */
#include <pthread.h>

#include "config_gen.h"
#include "daemon.h"

struct config_gen *daemon_config(struct daemon *d)
{
	struct config_gen *g;

	pthread_mutex_lock(&d->live_lock);
	g = config_gen_get(d->live);
	pthread_mutex_unlock(&d->live_lock);
	return g;
}

struct config_gen *daemon_config_new(struct daemon *d, struct config *cfg)
{
	struct config_gen *prev = NULL, *g;

	pthread_mutex_lock(&d->live_lock);
	if (d->live)
		prev = config_gen_get(d->live);
	pthread_mutex_unlock(&d->live_lock);
	g = config_gen_new(cfg, atomic_load(&d->live_gen) + 1, prev);
	config_gen_put(prev);
	if (g && stats_names_update(&d->names, g)) {
		config_gen_put(g);
		return NULL;
	}
	return g;
}
