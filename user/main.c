// SPDX-License-Identifier: MIT
/*
 * main.c - the sockmux command line: the table of commands, from which `sockmux --help` is
 * written, and main(), which runs the one named. Each command's handler, options and usage
 * live in user/cmd_NAME.c (see cmd.h). Only main() exits.
 */
#include <stdio.h>
#include <string.h>

#include "ops/cmd.h"

/* Width of "NAME ARGS" in `sockmux --help`; a longer one puts its summary on the next line. */
#define SYNOPSIS_WIDTH 44

static int cmd_version(const struct cmd *cmd, int argc, char **argv)
{
	printf("sockmux %s\n", SOCKMUX_VERSION);
	return 0;
}

static const struct cmd cmds[] = {
	{ "run", "-c FILE [--engine auto|sockmap|splice]", "run in the foreground",
	  cmd_run, cmd_run_usage },
	{ "check", "-c FILE", "validate a config file and print it",
	  cmd_check, cmd_check_usage },
	{ "route", "-c FILE [--listener NAME] [--protocol P] [--sni NAME | --host NAME]\n"
		   "                       [--alpn P1,P2] [--src ADDR]",
	  "show the route a connection would get", cmd_route, cmd_route_usage },
	{ "stats", "[--json] [--watch] [--control PATH]", "the running daemon's figures",
	  cmd_stats, cmd_stats_usage },
	{ "top", "[--control PATH]", "live view, busiest routes first",
	  cmd_top, cmd_stats_usage },
	{ "reload", "[--control PATH]", "re-read the configuration (as SIGHUP)",
	  cmd_reload, cmd_reload_usage },
	{ "version", NULL, "print the version", cmd_version, NULL },
};

#define N_CMDS (sizeof(cmds) / sizeof(cmds[0]))

static void usage_main(FILE *f)
{
	char synopsis[128];
	size_t i;

	fputs("usage: sockmux COMMAND [OPTIONS]\n"
	      "\n"
	      "A port-443 multiplexer: routes each TLS connection by SNI and ALPN to a backend\n"
	      "without terminating TLS, then moves its bytes inside the kernel.\n"
	      "\n"
	      "commands:\n", f);
	for (i = 0; i < N_CMDS; i++) {
		const struct cmd *c = &cmds[i];

		snprintf(synopsis, sizeof(synopsis), "%s%s%s", c->name, c->args ? " " : "",
			 c->args ? c->args : "");
		if (strlen(synopsis) > SYNOPSIS_WIDTH)
			fprintf(f, "  %s\n  %-*s %s\n", synopsis, SYNOPSIS_WIDTH, "", c->summary);
		else
			fprintf(f, "  %-*s %s\n", SYNOPSIS_WIDTH, synopsis, c->summary);
	}
	fputs("\n`sockmux COMMAND --help` describes each command.\n", f);
}

static const struct cmd *cmd_find(const char *name)
{
	size_t i;

	for (i = 0; i < N_CMDS; i++)
		if (!strcmp(cmds[i].name, name))
			return &cmds[i];
	return NULL;
}

int main(int argc, char **argv)
{
	const struct cmd *c;
	const char *name;

	if (argc < 2) {
		usage_main(stderr);
		return 1;
	}
	name = argv[1];
	if (!strcmp(name, "-h") || !strcmp(name, "--help") || !strcmp(name, "help")) {
		usage_main(stdout);
		return 0;
	}
	c = cmd_find(strcmp(name, "--version") ? name : "version");
	if (!c) {
		fprintf(stderr, "sockmux: unknown command \"%s\"\n\n", name);
		usage_main(stderr);
		return 1;
	}
	return c->handler(c, argc - 1, argv + 1);
}
