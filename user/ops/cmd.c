// SPDX-License-Identifier: MIT
/*
 * cmd.c - what several commands share: loading the configuration named by -c FILE (run,
 * check, route) and the client side of the control socket (stats, top, reload), which sends
 * one request line and copies the answer.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ops/cmd.h"
#include "config.h"
#include "config_file.h"

int cmd_load_config(const char *path, struct config *cfg)
{
	struct config_error err;

	if (!path) {
		fprintf(stderr, "sockmux: missing -c FILE\n");
		return -EINVAL;
	}
	if (config_load(path, cfg, &err)) {
		if (err.line > 0)
			fprintf(stderr, "%s:%d: %s\n", path, err.line, err.msg);
		else
			fprintf(stderr, "%s: %s\n", path, err.msg);
		return -EINVAL;
	}
	return 0;
}

int cmd_control_path(const char *opt, const char *conf, char **path)
{
	struct config_error err;
	struct config cfg;

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

int cmd_control_request(const char *path, const char *req, FILE *out)
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
