/* SPDX-License-Identifier: MIT */
/*
 * daemon.h - the one explicit daemon context: configuration, engine, workers. Created by
 * `sockmux run` (daemon_run.c), passed down to every worker; nothing else is global.
 */
#ifndef SOCKMUX_DAEMON_H
#define SOCKMUX_DAEMON_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <pthread.h>

#include "config.h"
#include "engine.h"
#include "source_limit.h"
#include "ops/stats.h"

struct config_gen;
struct engine_choice;
struct control;
struct health;
struct metrics;
struct worker;

struct daemon {
	struct config_gen *boot;		/* the configuration started with: its
						 * workers, control, metrics, path stay */
	struct config_gen *live;		/* the newest, for new connections */
	pthread_mutex_t live_lock;		/* guards live against a reload */
	atomic_uint live_gen;			/* live->gen, read without the lock */
	atomic_uint reloads_failed;
	unsigned int max_connections;		/* fitted to the descriptor limit */
	atomic_uint n_conns;			/* every worker's, against max_connections
						 * (a worker may hold more than its share:
						 * SO_REUSEPORT does not spread evenly) */
	struct source_limit sources;		/* max_connections_per_source */
	struct stats_names names;		/* stats ids of everything configured */
	const struct engine_ops *ops;		/* the engine, once open */
	void *engine_data;			/* the engine's own, daemon-wide */
	struct worker *workers;
	unsigned int n_workers;
	unsigned int n_inited;			/* workers set up (worker_init()) */
	unsigned int n_started;			/* worker threads running */
	atomic_uint_fast64_t next_conn_id;
	atomic_bool stopping;
	uint64_t start_ns;			/* CLOCK_MONOTONIC, for the uptime */
	struct control *control;		/* the control socket, NULL when off */
	struct metrics *metrics;		/* the Prometheus endpoint, NULL when off */
	struct health *health;			/* the servers' health checker */
	int *inherited;				/* listening sockets from systemd */
	unsigned int n_inherited;
};

/* A reference to the newest configuration generation (any thread). */
struct config_gen *daemon_config(struct daemon *d);
/*
 * The next generation, of cfg (taken over), with its stats ids; not live yet. NULL when out of
 * memory.
 */
struct config_gen *daemon_config_new(struct daemon *d, struct config *cfg);

#endif
