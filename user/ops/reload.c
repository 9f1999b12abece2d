// SPDX-License-Identifier: MIT
/*
 * reload.c - the main thread's reload (SIGHUP, `sockmux reload`): parse, check, publish the
 * new configuration generation (config_gen.h) and wake the workers, which adopt it between
 * epoll batches (worker_listen.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "config_file.h"
#include "daemon.h"
#include "listener.h"
#include "health.h"
#include "log.h"
#include "ops/reload.h"
#include "transparent.h"
#include "worker_loop.h"

static bool has_listener(const struct config *cfg, const struct addr *a)
{
	for (size_t i = 0; i < cfg->n_listeners; i++)
		if (addr_equal(&cfg->listeners[i].addr, a))
			return true;
	return false;
}

static bool str_differs(const char *a, const char *b)
{
	return (a || b) && (!a || !b || strcmp(a, b));
}

/* Settings that size the daemon stay until a restart: say so when the file changed them. */
static void warn_fixed(const struct config *boot, const struct config *cfg)
{
	const char *key = NULL;

	if (cfg->workers != boot->workers)
		key = "workers";
	else if (cfg->max_connections != boot->max_connections)
		key = "max_connections";
	else if (cfg->max_handshakes != boot->max_handshakes)
		key = "max_handshakes";
	else if (cfg->max_per_source != boot->max_per_source)
		key = "max_connections_per_source";
	else if (strcmp(cfg->control, boot->control))
		key = "control";
	else if (str_differs(cfg->metrics_text, boot->metrics_text))
		key = "metrics";
	else if (str_differs(cfg->user, boot->user))
		key = "user";
	if (key)
		pr_warn("reload: %s changed: it takes effect at the next restart (the running "
			"value stays)", key);
}

static void log_listener_diff(const struct config *old, const struct config *cfg)
{
	size_t i;

	for (i = 0; i < cfg->n_listeners; i++)
		if (!has_listener(old, &cfg->listeners[i].addr))
			pr_info("reload: now listening on %s", cfg->listeners[i].text);
	for (i = 0; i < old->n_listeners; i++)
		if (!has_listener(cfg, &old->listeners[i].addr))
			pr_info("reload: no longer listening on %s", old->listeners[i].text);
}

/*
 * A configuration with transparent backends needs IP_TRANSPARENT, which a daemon that dropped
 * its privileges without such a backend (user =) no longer may set. 0 or -EPERM (msg says).
 */
static int transparent_allowed(const struct config *cfg, char *msg, size_t size)
{
	const struct config_backend *b = transparent_first(cfg);
	int err;

	if (!b)
		return 0;
	err = transparent_probe_any();
	if (!err)
		return 0;
	snprintf(msg, size, "%s:%d: backend \"%s\" is transparent, but this process may no longer "
		 "set IP_TRANSPARENT (%s): restart sockmux to get CAP_NET_ADMIN", cfg->path,
		 b->line, b->name, strerror(-err));
	return -EPERM;
}

int daemon_reload(struct daemon *d, char *msg, size_t size)
{
	const char *path = d->boot->cfg.path;
	struct config_gen *g, *old;
	struct config_error err;
	struct config cfg;
	int ret;

	sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu", (unsigned long long)(now_ns() / 1000));
	ret = config_load(path, &cfg, &err);
	if (ret) {
		sd_notifyf(0, "READY=1\nSTATUS=reload rejected: %s:%d", path, err.line);
		atomic_fetch_add(&d->reloads_failed, 1);
		if (err.line > 0)
			snprintf(msg, size, "%s:%d: %s", path, err.line, err.msg);
		else
			snprintf(msg, size, "%s: %s", path, err.msg);
		pr_err("reload: %s; the running configuration stays", msg);
		return ret;
	}
	ret = transparent_allowed(&cfg, msg, size);
	if (ret) {
		sd_notify(0, "READY=1\nSTATUS=reload rejected: IP_TRANSPARENT not permitted");
		atomic_fetch_add(&d->reloads_failed, 1);
		pr_err("reload: %s; the running configuration stays", msg);
		config_free(&cfg);
		return ret;
	}
	warn_fixed(&d->boot->cfg, &cfg);
	g = daemon_config_new(d, &cfg);
	if (!g) {
		sd_notify(0, "READY=1\nSTATUS=reload failed: out of memory");
		atomic_fetch_add(&d->reloads_failed, 1);
		snprintf(msg, size, "out of memory");
		pr_err("reload: out of memory; the running configuration stays");
		return -ENOMEM;
	}
	pthread_mutex_lock(&d->live_lock);
	old = d->live;
	log_listener_diff(&old->cfg, &g->cfg);
	d->live = g;
	atomic_store(&d->live_gen, g->gen);
	pthread_mutex_unlock(&d->live_lock);
	config_gen_put(old);
	for (unsigned int i = 0; i < d->n_workers; i++)
		worker_wake(&d->workers[i]);
	health_reload(d->health);
	snprintf(msg, size, "%s: configuration %u: %zu listener(s), %zu backend(s), %zu route(s)",
		 path, g->gen, g->cfg.n_listeners, g->cfg.n_backends, g->cfg.n_routes);
	pr_info("reload: %s", msg);
	sd_notifyf(0, "READY=1\nSTATUS=serving configuration %u: %zu listener(s), %zu route(s)",
		   g->gen, g->cfg.n_listeners, g->cfg.n_routes);
	return 0;
}

