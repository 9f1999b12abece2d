/* SPDX-License-Identifier: MIT */
/*
 * daemon.h - the one explicit daemon context: configuration, engine, workers. Created by
 * `sockmux run`, passed down to every worker; nothing else is global.
 */
#ifndef SOCKMUX_DAEMON_H
#define SOCKMUX_DAEMON_H

#include <stdatomic.h>
#include <stdbool.h>

#include "config.h"
#include "engine.h"

struct worker;
struct sockmap_engine;

struct daemon {
	struct sm_config cfg;
	enum engine_kind engine;
	const struct engine_ops *ops;
	struct sockmap_engine *sockmap;		/* NULL unless engine == ENGINE_SOCKMAP */
	struct worker *workers;
	unsigned int n_workers;
	atomic_uint_fast64_t next_conn_id;
	atomic_bool stopping;
};

/* Runs the daemon on cfg (taken over) until SIGINT/SIGTERM; returns main()'s exit status. */
int daemon_run(struct sm_config *cfg, enum engine_kind engine);

#endif
