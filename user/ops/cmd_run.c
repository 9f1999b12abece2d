// SPDX-License-Identifier: MIT
/* cmd_run.c - `sockmux run`: load the configuration and run the daemon in the foreground. */
#include <getopt.h>
#include <stdio.h>

#include "ops/cmd.h"
#include "config.h"
#include "daemon_run.h"
#include "engine.h"
#include "log.h"

const char cmd_run_usage[] =
	"usage: sockmux run -c FILE [--engine auto|sockmap|splice] [-v|--verbose]\n"
	"\n"
	"Runs sockmux in the foreground, logging to stderr, until SIGINT or SIGTERM; SIGHUP\n"
	"re-reads the configuration file.\n"
	"  -c, --config FILE   configuration file (libconfig syntax; see docs/config.md)\n"
	"  -e, --engine NAME   how bytes move after routing:\n"
	"                        auto     the default: runs splice\n"
	"                        sockmap  BPF sockmap: bytes move inside the kernel\n"
	"                        splice   splice(2) through a pipe per direction\n"
	"                        sockmap-unbounded  the kernel's sockmap without back-pressure,\n"
	"                                 for measurements only (unsafe: unbounded memory)\n"
	"  -v, --verbose       debug logging\n";

static const struct option run_opts[] = {
	{ "config", required_argument, NULL, 'c' },
	{ "engine", required_argument, NULL, 'e' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ 0 },
};

int cmd_run(const struct cmd *cmd, int argc, char **argv)
{
	const struct engine_choice *engine = engine_choose("auto");
	const char *path = NULL;
	struct config cfg;
	int o;

	while ((o = getopt_long(argc, argv, "c:e:vh", run_opts, NULL)) != -1) {
		switch (o) {
		case 'c':
			path = optarg;
			break;
		case 'e':
			engine = engine_choose(optarg);
			if (!engine) {
				fprintf(stderr, "sockmux run: unknown engine \"%s\"\n", optarg);
				return 1;
			}
			break;
		case 'v':
			log_set_level(LOG_DEBUG);
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
		fprintf(stderr, "sockmux run: unexpected argument \"%s\"\n", argv[optind]);
		return 1;
	}
	if (cmd_load_config(path, &cfg))
		return 1;
	return daemon_run(&cfg, engine);
}
