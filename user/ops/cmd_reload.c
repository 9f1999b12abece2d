// SPDX-License-Identifier: MIT
/*
 * cmd_reload.c - `sockmux reload`: asks the running daemon, through its control socket, to
 * re-read its configuration file (as SIGHUP does) and prints the result.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/cmd.h"
#include "config.h"

const char cmd_reload_usage[] =
	"usage: sockmux reload [--control PATH | -c FILE]\n"
	"\n"
	"Makes the running daemon re-read its configuration file (as SIGHUP does) and prints\n"
	"the result. A file with an error is rejected with FILE:LINE: message, exit 1, and the\n"
	"running configuration stays. New connections get the new configuration; connections\n"
	"under way keep theirs.\n"
	"  -C, --control PATH  the control socket (default " CONFIG_DEFAULT_CONTROL ")\n"
	"  -c, --config FILE   take the control socket's path from this configuration\n";

static const struct option reload_opts[] = {
	{ "control", required_argument, NULL, 'C' },
	{ "config", required_argument, NULL, 'c' },
	{ "help", no_argument, NULL, 'h' },
	{ 0 },
};

/* Prints the "message" string of a one-line JSON answer, unescaped enough for people. */
static void print_message(const char *json, FILE *f)
{
	const char *p = strstr(json, "\"message\": \"");

	if (!p) {
		fputs(json, f);
		return;
	}
	for (p += 12; *p && *p != '"'; p++) {
		if (*p == '\\' && p[1])
			p++;
		fputc(*p, f);
	}
	fputc('\n', f);
}

/* Sends "reload" to the daemon at path and prints its answer; 0 applied, else -errno. */
static int reload_request(const char *path)
{
	char *answer = NULL;
	size_t len = 0;
	FILE *f;
	int err;

	f = open_memstream(&answer, &len);
	if (!f)
		return -ENOMEM;
	err = cmd_control_request(path, "reload\n", f);
	fclose(f);
	if (err) {
		fprintf(stderr, "sockmux reload: cannot reach sockmux at %s: %s\n", path,
			strerror(-err));
	} else if (strstr(answer, "\"ok\": true")) {
		print_message(answer, stdout);
	} else {
		fputs("sockmux reload: rejected, the running configuration stays: ", stderr);
		print_message(answer, stderr);
		err = -EINVAL;
	}
	free(answer);
	return err;
}

int cmd_reload(const struct cmd *cmd, int argc, char **argv)
{
	const char *opt_path = NULL, *conf = NULL;
	char *path;
	int o, err;

	while ((o = getopt_long(argc, argv, "C:c:h", reload_opts, NULL)) != -1) {
		switch (o) {
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
		fprintf(stderr, "sockmux reload: unexpected argument \"%s\"\n", argv[optind]);
		return 1;
	}
	if (cmd_control_path(opt_path, conf, &path))
		return 1;
	err = reload_request(path);
	free(path);
	return err ? 1 : 0;
}
