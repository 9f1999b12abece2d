/* SPDX-License-Identifier: MIT */
/*
 * config_routes.h - the routes section of the configuration file, for user/config_file.c.
 */
#ifndef SOCKMUX_CONFIG_ROUTES_H
#define SOCKMUX_CONFIG_ROUTES_H

#include <libconfig.h>
#include <stdio.h>

#include "config.h"

/* Reads root's "routes" into cfg->routes; backends must be read already. 0 or -errno. */
int config_parse_routes(const config_setting_t *root, struct config *cfg,
			struct config_error *err);
/* Route i as `sockmux check` prints it: "  #1 sni=... -> backend (line N)". */
void config_print_route(const struct config *cfg, size_t i, FILE *f);

#endif
