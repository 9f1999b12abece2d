// SPDX-License-Identifier: MIT
/*
 * cmd_check.c - `sockmux check`: validate a configuration file and print it, and for
 * transparent backends what the host lacks (check_transparent.c).
 */
#include <getopt.h>
#include <stdio.h>

#include "ops/check_transparent.h"
#include "ops/cmd.h"
#include "config.h"
#include "config_file.h"

const char cmd_check_usage[] =
	"usage: sockmux check -c FILE\n"
	"\n"
	"Validates the configuration file and prints its listeners, backends and routes in\n"
	"order. On error prints FILE:LINE: message and exits 1. With transparent backends,\n"
	"also says what this host lacks for them (capability, rules, routes, nftables mark)\n"
	"and the commands that add it; run it on the sockmux host, as sockmux runs.\n"
	"Exit status: 0 valid, 1 invalid, 3 valid but this host lacks what its transparent\n"
	"backends need.\n";

static const struct option check_opts[] = {
	{ "config", required_argument, NULL, 'c' },
	{ "help", no_argument, NULL, 'h' },
	{ 0 },
};

int cmd_check(const struct cmd *cmd, int argc, char **argv)
{
	const char *path = NULL;
	struct config cfg;
	int o, problems;

	while ((o = getopt_long(argc, argv, "c:h", check_opts, NULL)) != -1) {
		switch (o) {
		case 'c':
			path = optarg;
			break;
		case 'h':
			fputs(cmd->usage, stdout);
			return 0;
		default:
			fputs(cmd->usage, stderr);
			return 1;
		}
	}
	if (cmd_load_config(path, &cfg))
		return 1;
	printf("%s: OK\n", path);
	config_print(&cfg, stdout);
	problems = check_transparent(&cfg, stdout);
	config_free(&cfg);
	return problems > 0 ? 3 : 0;
}
