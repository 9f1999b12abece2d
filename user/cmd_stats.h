/* SPDX-License-Identifier: MIT */
/* cmd_stats.h - `sockmux stats`, `top` and `reload`, clients of the control socket. */
#ifndef SOCKMUX_CMD_STATS_H
#define SOCKMUX_CMD_STATS_H

#include <stdbool.h>

/* argv[0] is the command name; top: `sockmux top`. Returns main()'s exit status. */
int cmd_stats(int argc, char **argv, bool top);
/* `sockmux reload`: the daemon re-reads its configuration; exit 0 applied, 1 rejected. */
int cmd_reload(int argc, char **argv);

#endif
