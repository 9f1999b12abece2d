/* SPDX-License-Identifier: MIT */
/*
 * cmd.h - the sockmux commands. main.c holds the table (struct cmd) and picks the entry;
 * each command's handler, options and usage text live in user/cmd_NAME.c; what several
 * commands share is in user/cmd.c. A handler returns main()'s exit status.
 */
#ifndef SOCKMUX_CMD_H
#define SOCKMUX_CMD_H

#include <stdio.h>

struct config;

struct cmd {
	const char *name;
	const char *args;	/* its synopsis in `sockmux --help`, after the name */
	const char *summary;	/* one line for `sockmux --help` */
	/* argv[0] is the command's name; cmd is this entry */
	int (*handler)(const struct cmd *cmd, int argc, char **argv);
	const char *usage;	/* `sockmux NAME --help`; NULL: the command takes no options */
};

int cmd_run(const struct cmd *cmd, int argc, char **argv);
int cmd_check(const struct cmd *cmd, int argc, char **argv);
/* Exit status: 0 routed, 1 error, 2 no route matches. */
int cmd_route(const struct cmd *cmd, int argc, char **argv);
int cmd_stats(const struct cmd *cmd, int argc, char **argv);
int cmd_top(const struct cmd *cmd, int argc, char **argv);
/* Exit status: 0 applied, 1 rejected or unreachable. */
int cmd_reload(const struct cmd *cmd, int argc, char **argv);

extern const char cmd_run_usage[];
extern const char cmd_check_usage[];
extern const char cmd_route_usage[];
extern const char cmd_stats_usage[];	/* stats and top */
extern const char cmd_reload_usage[];

/*
 * Loads the configuration file at path (NULL: -c was not given) into cfg; reports a problem
 * on stderr ("FILE:LINE: message") and returns -EINVAL.
 */
int cmd_load_config(const char *path, struct config *cfg);
/*
 * The control socket's path into *path (to free): opt (--control) if given, else conf's
 * (-c FILE) if given, else the default; 0, -ENOMEM, or -EINVAL reported on stderr.
 */
int cmd_control_path(const char *opt, const char *conf, char **path);
/* Sends the request line req to the daemon at path and copies its answer to out; 0 or -errno. */
int cmd_control_request(const char *path, const char *req, FILE *out);

#endif
