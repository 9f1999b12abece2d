/* SPDX-License-Identifier: MIT */
/* daemon_run.h - `sockmux run`: the daemon from start to stop. */
#ifndef SOCKMUX_DAEMON_RUN_H
#define SOCKMUX_DAEMON_RUN_H

#include "config.h"
#include "engine.h"

/*
 * Runs the daemon on cfg (taken over) until SIGINT/SIGTERM, re-reading the file on SIGHUP;
 * returns main()'s exit status.
 */
int daemon_run(struct config *cfg, const struct engine_choice *engine);

#endif
