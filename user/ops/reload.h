/* SPDX-License-Identifier: MIT */
/*
 * reload.h - the configuration's reload (SIGHUP, `sockmux reload`): a new generation
 * (config_gen.h) for new connections; connections under way keep theirs. Settings that size
 * the daemon (workers, max_connections, max_handshakes, max_connections_per_source, control,
 * metrics) keep their first values until a restart.
 */
#ifndef SOCKMUX_RELOAD_H
#define SOCKMUX_RELOAD_H

#include <stddef.h>

#include "config_gen.h"

struct daemon;

/*
 * Re-reads the configuration file. On error the running configuration stays, the log and
 * msg say FILE:LINE: why, and the result is -EINVAL (or -errno). On success new connections
 * get the new one. msg (size bytes) receives a one-line summary either way.
 */
int daemon_reload(struct daemon *d, char *msg, size_t size);

#endif
