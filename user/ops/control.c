// SPDX-License-Identifier: MIT
/*
 * control.c - the Unix control socket (see control.h): binds it safely (never over a live
 * daemon's socket), answers one request per connection, ticks the rate snapshots.
 */
#include <errno.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <unistd.h>

#include "config.h"
#include "ops/control.h"
#include "daemon.h"
#include "log.h"
#include "ops/reload.h"
#include "ops/stats_render.h"

#define CONTROL_REQ_MAX 256
#define CONTROL_IO_TIMEOUT_S 1

static int sun_of(const char *path, struct sockaddr_un *sun)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun->sun_path))
		return -ENAMETOOLONG;
	strcpy(sun->sun_path, path);
	return 0;
}

/* A socket file at path nobody listens on is stale: remove it. -EADDRINUSE if live. */
static int remove_stale(const struct sockaddr_un *sun)
{
	struct stat st;
	int fd, err = 0;

	if (lstat(sun->sun_path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) == 0)
		err = -EADDRINUSE;
	else if (unlink(sun->sun_path) < 0 && errno != ENOENT)
		err = -errno;
	close(fd);
	return err;
}

static int bind_socket(const char *path, int *out)
{
	struct sockaddr_un sun;
	char *dir;
	mode_t old;
	int fd, err;

	err = sun_of(path, &sun);
	if (err)
		return err;
	dir = strdup(path);
	if (!dir)
		return -ENOMEM;
	/* /run/sockmux does not survive a reboot: create the last component only */
	if (mkdir(dirname(dir), 0755) < 0 && errno != EEXIST)
		err = -errno;
	free(dir);
	if (err)
		return err;
	err = remove_stale(&sun);
	if (err)
		return err;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	old = umask(0177);
	if (bind(fd, (const struct sockaddr *)&sun, sizeof(sun)) < 0)
		err = -errno;
	umask(old);
	if (!err && listen(fd, 16) < 0)
		err = -errno;
	if (err) {
		close(fd);
		return err;
	}
	*out = fd;
	return 0;
}

int control_open(struct daemon *d, struct control **out)
{
	const struct itimerspec tick = { .it_interval = { 1, 0 }, .it_value = { 1, 0 } };
	const char *path = d->boot->cfg.control;
	struct control *ctl;
	int err;

	ctl = calloc(1, sizeof(*ctl));
	if (!ctl)
		return -ENOMEM;
	ctl->fd = -1;
	ctl->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (ctl->timerfd < 0 || timerfd_settime(ctl->timerfd, 0, &tick, NULL) < 0) {
		err = -errno;
		goto out_free;
	}
	if (*path) {
		err = bind_socket(path, &ctl->fd);
		if (err && d->boot->cfg.control_explicit) {
			pr_err("control socket %s (%s:control): %s%s", path, d->boot->cfg.path,
			       strerror(-err),
			       err == -EADDRINUSE ? " (another sockmux runs?)" : "");
			goto out_free;
		}
		if (err) {
			pr_warn("control socket %s: %s%s; running without one (set control = in "
				"the configuration)", path, strerror(-err),
				err == -EADDRINUSE ? " (another sockmux runs?)" : "");
		} else {
			ctl->path = strdup(path);
			pr_info("control socket %s", path);
		}
	}
	*out = ctl;
	return 0;

out_free:
	control_close(ctl);
	return err;
}

void control_close(struct control *ctl)
{
	if (!ctl)
		return;
	if (ctl->fd >= 0)
		close(ctl->fd);
	if (ctl->path)
		unlink(ctl->path);
	if (ctl->timerfd >= 0)
		close(ctl->timerfd);
	free(ctl->path);
	stats_snapshot_free(&ctl->prev);
	stats_snapshot_free(&ctl->last);
	free(ctl);
}

void control_tick(struct daemon *d, struct control *ctl)
{
	struct stats_snapshot s;
	uint64_t n;

	if (read(ctl->timerfd, &n, sizeof(n)) < 0)
		return;
	if (stats_snapshot(d, &s))
		return;
	stats_snapshot_free(&ctl->prev);
	ctl->prev = ctl->last;
	ctl->last = s;
}

/* Reads one request line into req (NUL-terminated, newline stripped); 0 or -errno. */
static int read_request(int fd, char *req, size_t size)
{
	size_t len = 0;
	ssize_t n;

	while (len + 1 < size) {
		n = read(fd, req + len, size - 1 - len);
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		len += (size_t)n;
		if (memchr(req, '\n', len))
			break;
	}
	req[len] = '\0';
	req[strcspn(req, "\r\n")] = '\0';
	return 0;
}

static void write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n <= 0)
			return;
		buf += n;
		len -= (size_t)n;
	}
}

static void answer(struct daemon *d, struct control *ctl, const char *req, FILE *f)
{
	struct stats_snapshot cur;

	char msg[512];
	int err;

	if (!strcmp(req, "reload")) {
		err = daemon_reload(d, msg, sizeof(msg));
		fprintf(f, "{\"ok\": %s, \"message\": ", err ? "false" : "true");
		stats_json_str(f, msg);
		fputs("}\n", f);
		return;
	}
	if (strcmp(req, "stats json") && strcmp(req, "stats text") && strcmp(req, "stats top") &&
	    strcmp(req, "servers")) {
		fprintf(f, "{\"error\": \"unknown request (known: stats json, stats text, "
			"stats top, servers, reload)\"}\n");
		return;
	}
	if (stats_snapshot(d, &cur)) {
		fprintf(f, "{\"error\": \"out of memory\"}\n");
		return;
	}
	if (!strcmp(req, "servers"))
		stats_servers_write_lines(cur.servers, cur.n_servers, f);
	else if (!strcmp(req, "stats json"))
		stats_write_json(d, &cur, &ctl->prev, &ctl->last, f);
	else
		stats_write_text(d, &cur, &ctl->prev, &ctl->last, !strcmp(req, "stats top"), f);
	stats_snapshot_free(&cur);
}

void control_serve(struct daemon *d, struct control *ctl)
{
	const struct timeval tv = { CONTROL_IO_TIMEOUT_S, 0 };
	char req[CONTROL_REQ_MAX], *out = NULL;
	size_t len = 0;
	FILE *f;
	int fd;

	fd = accept4(ctl->fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return;
	/* the main thread serves: a silent client holds it at most this long */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (read_request(fd, req, sizeof(req)))
		goto out_close;
	f = open_memstream(&out, &len);
	if (!f)
		goto out_close;
	answer(d, ctl, req, f);
	if (fclose(f) == 0)
		write_all(fd, out, len);
	free(out);
out_close:
	close(fd);
}
