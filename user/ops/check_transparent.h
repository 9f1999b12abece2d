/* SPDX-License-Identifier: MIT */
/*
 * check_transparent.h - `sockmux check` on a configuration with transparent backends: what
 * the running system lacks for them to work, and the commands that add it
 * (check_transparent.c; docs/transparent.md explains each step).
 */
#ifndef SOCKMUX_CHECK_TRANSPARENT_H
#define SOCKMUX_CHECK_TRANSPARENT_H

#include <stdio.h>

struct config;

/*
 * Writes to f, for cfg's transparent servers, whether this process may set IP_TRANSPARENT
 * and whether the policy routing (and, for backends on other hosts, the nftables mark) is in
 * place, with the commands for what is missing. Nothing when no server is transparent.
 * Returns the number of problems found.
 */
int check_transparent(const struct config *cfg, FILE *f);

#endif
