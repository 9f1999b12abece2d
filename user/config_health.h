/* SPDX-License-Identifier: MIT */
/*
 * config_health.h - a backend's `health = { interval_ms; timeout_ms; rise; fall; tls; sni; }`
 * (config_health.c): the active checks of its servers, and the server name a TLS check sends.
 */
#ifndef SOCKMUX_CONFIG_HEALTH_H
#define SOCKMUX_CONFIG_HEALTH_H

#include <libconfig.h>

#include "config.h"

/*
 * Fills b->health from backend group g: its health group when there is one (checks on),
 * else the defaults with checks off (interval_ms is then how long a failed connect keeps a
 * server out). 0 or the error's return.
 */
int config_parse_health(const config_setting_t *g, struct config_backend *b,
			struct config_error *err);
/*
 * A TLS check without sni = "..." sends the first exact name of the first route that names
 * its backend and has an sni (or host) condition, or none. After the routes are read; the
 * signature of a config_file.c section. 0 or -ENOMEM.
 */
int config_health_names(const config_setting_t *root, struct config *cfg,
			struct config_error *err);

#endif
