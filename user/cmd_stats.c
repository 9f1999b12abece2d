// SPDX-License-Identifier: MIT
/*
 * cmd_stats.c - the client side of the control socket: `sockmux stats [--json] [--watch]`,
 * `sockmux top` and `sockmux reload`. It sends one request line and copies the answer to
 * stdout; the daemon renders the figures (user/stats_render.c), so client and daemon never
 * disagree on them.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cmd_stats.h"
#include "config.h"

static const char usage_stats[] =
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

/* Sends req to the daemon at path and copies its answer to out; 0 or -errno. */
static int control_request(const char *path, const char *req, FILE *out)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char buf[4096];
	ssize_t n;
	int fd, err = 0;

	if (strlen(path) >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	strcpy(sun.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (const struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    write(fd, req, strlen(req)) != (ssize_t)strlen(req)) {
		err = -errno;
		goto out_close;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		fwrite(buf, 1, (size_t)n, out);
	if (n < 0)
		err = -errno;
out_close:
	close(fd);
	return err;
}

/* The control path: --control, else the configuration's, else the default. 0 or -EINVAL. */
static int control_path(const char *opt, const char *conf, char **path)
{
	struct config_error err;
	struct sm_config cfg;

	if (opt || !conf) {
		*path = strdup(opt ? opt : CONFIG_DEFAULT_CONTROL);
		return *path ? 0 : -ENOMEM;
	}
	if (config_load(conf, &cfg, &err)) {
		fprintf(stderr, "%s:%d: %s\n", conf, err.line, err.msg);
		return -EINVAL;
	}
	if (!*cfg.control) {
		fprintf(stderr, "sockmux: %s turns the control socket off (control = \"\")\n",
			conf);
		config_free(&cfg);
		return -EINVAL;
	}
	*path = cfg.control;
	cfg.control = NULL;
	config_free(&cfg);
	return 0;
}

static const char usage_reload[] =
	"usage: sockmux reload [--control PATH | -c FILE]\n"
	"\n"
	"Makes the running daemon re-read its configuration file (as SIGHUP does) and prints\n"
	"the result. A file with an error is rejected with FILE:LINE: message, exit 1, and the\n"
	"running configuration stays. New connections get the new configuration; connections\n"
	"under way keep theirs.\n"
	"  -C, --control PATH  the control socket (default " CONFIG_DEFAULT_CONTROL ")\n"
	"  -c, --config FILE   take the control socket's path from this configuration\n";

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

int cmd_reload(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "control", required_argument, NULL, 'C' },
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *opt_path = NULL, *conf = NULL;
	char *path, *answer = NULL;
	size_t len = 0;
	FILE *f;
	int o, err;

	while ((o = getopt_long(argc, argv, "C:c:h", opts, NULL)) != -1) {
		switch (o) {
		case 'C':
			opt_path = optarg;
			break;
		case 'c':
			conf = optarg;
			break;
		case 'h':
			fputs(usage_reload, stdout);
			return 0;
		default:
			fputs(usage_reload, stderr);
			return 1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "sockmux reload: unexpected argument \"%s\"\n", argv[optind]);
		return 1;
	}
	if (control_path(opt_path, conf, &path))
		return 1;
	f = open_memstream(&answer, &len);
	if (!f) {
		free(path);
		return 1;
	}
	err = control_request(path, "reload\n", f);
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
	free(path);
	return err ? 1 : 0;
}

int cmd_stats(int argc, char **argv, bool top)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "watch", no_argument, NULL, 'w' },
		{ "control", required_argument, NULL, 'C' },
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *opt_path = NULL, *conf = NULL;
	bool json = false, watch = top;
	char *path;
	int o, err;

	while ((o = getopt_long(argc, argv, "jwC:c:h", opts, NULL)) != -1) {
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
			fputs(usage_stats, stdout);
			return 0;
		default:
			fputs(usage_stats, stderr);
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
	if (control_path(opt_path, conf, &path))
		return 1;
	do {
		if (watch)
			fputs("\033[H\033[2J", stdout);
		err = control_request(path, json ? "stats json\n" :
					    watch ? "stats top\n" : "stats text\n", stdout);
		if (err) {
			fprintf(stderr, "sockmux stats: cannot reach sockmux at %s: %s\n", path,
				strerror(-err));
			break;
		}
		fflush(stdout);
	} while (watch && !sleep(1));
	free(path);
	return err ? 1 : 0;
}
