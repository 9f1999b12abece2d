// SPDX-License-Identifier: MIT
/*
 * cmd_stats.c - `sockmux stats [--json] [--watch]` and `sockmux top`: ask the running daemon,
 * through its control socket, for its figures and copy them to stdout. The daemon renders
 * them (user/stats_render.c), so client and daemon never disagree on them.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ops/cmd.h"
#include "config.h"

const char cmd_stats_usage[] =
	"usage: sockmux stats [--json] [--watch] [--control PATH | -c FILE]\n"
	"       sockmux top [--control PATH | -c FILE]\n"
	"\n"
	"Asks the running daemon, through its control socket, for its figures per listener,\n"
	"route and backend: active and total connections, bytes in (from clients) and out,\n"
	"rates, failures by reason, engine and uptime. `top` (or --watch) refreshes every\n"
	"second, busiest first.\n"
	"  -j, --json          the JSON document (format: docs/stats.md)\n"
	"  -w, --watch         refresh every second, like top\n"
	"  -C, --control PATH  the control socket (default " CONFIG_DEFAULT_CONTROL ")\n"
	"  -c, --config FILE   take the control socket's path from this configuration\n";

static const struct option stats_opts[] = {
	{ "json", no_argument, NULL, 'j' },
	{ "watch", no_argument, NULL, 'w' },
	{ "control", required_argument, NULL, 'C' },
	{ "config", required_argument, NULL, 'c' },
	{ "help", no_argument, NULL, 'h' },
	{ 0 },
};

/* Prints the figures once, or every second while watch; 0 or -errno (reported). */
static int stats_show(const char *path, bool json, bool watch)
{
	int err;

	do {
		if (watch)
			fputs("\033[H\033[2J", stdout);
		err = cmd_control_request(path, json ? "stats json\n" :
					  watch ? "stats top\n" : "stats text\n", stdout);
		if (err) {
			fprintf(stderr, "sockmux stats: cannot reach sockmux at %s: %s\n", path,
				strerror(-err));
			break;
		}
		fflush(stdout);
	} while (watch && !sleep(1));
	return err;
}

/* `sockmux stats`, and `sockmux top` (top: watch from the start). */
static int stats_main(const struct cmd *cmd, int argc, char **argv, bool top)
{
	const char *opt_path = NULL, *conf = NULL;
	bool json = false, watch = top;
	char *path;
	int o, err;

	while ((o = getopt_long(argc, argv, "jwC:c:h", stats_opts, NULL)) != -1) {
		switch (o) {
		case 'j':
			json = true;
			break;
		case 'w':
			watch = true;
			break;
		case 'C':
			opt_path = optarg;
			break;
		case 'c':
			conf = optarg;
			break;
		case 'h':
			fputs(cmd->usage, stdout);
			return 0;
		default:
			fputs(cmd->usage, stderr);
			return 1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "sockmux stats: unexpected argument \"%s\"\n", argv[optind]);
		return 1;
	}
	if (json && watch) {
		fprintf(stderr, "sockmux stats: --json and --watch exclude each other\n");
		return 1;
	}
	if (cmd_control_path(opt_path, conf, &path))
		return 1;
	err = stats_show(path, json, watch);
	free(path);
	return err ? 1 : 0;
}

int cmd_stats(const struct cmd *cmd, int argc, char **argv)
{
	return stats_main(cmd, argc, argv, false);
}

int cmd_top(const struct cmd *cmd, int argc, char **argv)
{
	return stats_main(cmd, argc, argv, true);
}
