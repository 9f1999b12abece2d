/* SPDX-License-Identifier: MIT */
/*
 * config_servers.h - a backend's servers: `address = "..."` (one server) or `servers = ( {
 * address; weight; backup; } ... )`, with `balance` and `retries` (config_servers.c).
 */
#ifndef SOCKMUX_CONFIG_SERVERS_H
#define SOCKMUX_CONFIG_SERVERS_H

#include <libconfig.h>

#include "config.h"

/*
 * Fills b's servers, text, addr, balance, retries and round robin schedule from group g,
 * which holds exactly one of address and servers. 0 or the error's return.
 */
int config_parse_servers(const config_setting_t *g, struct config_backend *b,
			 struct config_error *err);
/* "round_robin", ... */
const char *config_balance_name(enum balance balance);

#endif
