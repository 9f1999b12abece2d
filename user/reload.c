// SPDX-License-Identifier: MIT
/*
 * reload.c - configuration generations (see reload.h): their reference counts, the main
 * thread's reload (parse, check, publish, wake the workers) and each worker's adoption of
 * the new generation, which diffs its listening sockets: a listener whose address stays keeps
 * its socket (and the connections waiting in its backlog), a new one is opened, a removed one
 * closed.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "daemon.h"
#include "listener.h"
#include "log.h"
#include "reload.h"
#include "worker.h"

struct config_gen *config_gen_new(struct daemon *d, struct sm_config *cfg)
{
	struct config_gen *g;

	g = calloc(1, sizeof(*g));
	if (!g) {
		config_free(cfg);
		return NULL;
	}
	atomic_init(&g->refs, 1);
	g->cfg = *cfg;
	memset(cfg, 0, sizeof(*cfg));
	g->gen = atomic_load(&d->live_gen) + 1;
	if (stats_names_update(&d->names, g)) {
		config_gen_put(g);
		return NULL;
	}
	return g;
}

struct config_gen *config_gen_get(struct config_gen *g)
{
	atomic_fetch_add(&g->refs, 1);
	return g;
}

void config_gen_put(struct config_gen *g)
{
	if (!g || atomic_fetch_sub(&g->refs, 1) != 1)
		return;
	for (int kind = 0; kind < STATS__KINDS; kind++)
		free(g->sid[kind]);
	config_free(&g->cfg);
	free(g);
}

struct config_gen *config_gen_current(struct daemon *d)
{
	struct config_gen *g;

	pthread_mutex_lock(&d->live_lock);
	g = config_gen_get(d->live);
	pthread_mutex_unlock(&d->live_lock);
	return g;
}

static bool same_addr(const struct sm_addr *a, const struct sm_addr *b)
{
	return a->len == b->len && !memcmp(&a->ss, &b->ss, a->len);
}

static bool has_listener(const struct sm_config *cfg, const struct sm_addr *a)
{
	for (size_t i = 0; i < cfg->n_listeners; i++)
		if (same_addr(&cfg->listeners[i].addr, a))
			return true;
	return false;
}

static bool str_differs(const char *a, const char *b)
{
	return (a || b) && (!a || !b || strcmp(a, b));
}

/* Settings that size the daemon stay until a restart: say so when the file changed them. */
static void warn_fixed(const struct sm_config *boot, const struct sm_config *cfg)
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

static void log_listener_diff(const struct sm_config *old, const struct sm_config *cfg)
{
	size_t i;

	for (i = 0; i < cfg->n_listeners; i++)
		if (!has_listener(old, &cfg->listeners[i].addr))
			pr_info("reload: now listening on %s", cfg->listeners[i].text);
	for (i = 0; i < old->n_listeners; i++)
		if (!has_listener(cfg, &old->listeners[i].addr))
			pr_info("reload: no longer listening on %s", old->listeners[i].text);
}

int daemon_reload(struct daemon *d, char *msg, size_t size)
{
	const char *path = d->boot->cfg.path;
	struct config_gen *g, *old;
	struct config_error err;
	struct sm_config cfg;
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
	warn_fixed(&d->boot->cfg, &cfg);
	g = config_gen_new(d, &cfg);
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
	snprintf(msg, size, "%s: configuration %u: %zu listener(s), %zu backend(s), %zu route(s)",
		 path, g->gen, g->cfg.n_listeners, g->cfg.n_backends, g->cfg.n_routes);
	pr_info("reload: %s", msg);
	sd_notifyf(0, "READY=1\nSTATUS=serving configuration %u: %zu listener(s), %zu route(s)",
		   g->gen, g->cfg.n_listeners, g->cfg.n_routes);
	return 0;
}

/* Index in w->ls of a socket listening on a, not yet claimed; -1 if none. */
static int find_socket(struct worker *w, const bool *claimed, const struct sm_addr *a)
{
	const struct sm_config *old = &w->gen->cfg;

	for (unsigned int j = 0; j < w->n_ls; j++)
		if (!claimed[j] && same_addr(&old->listeners[w->ls[j].index].addr, a))
			return (int)j;
	return -1;
}

static int watch_listener(struct worker *w, struct listen_sock *ls, int op)
{
	struct epoll_event ev = {
		.events = EPOLLIN,
		.data.u64 = (uint64_t)(uintptr_t)ls | EV_LISTENER,
	};

	return epoll_ctl(w->epfd, op, ls->fd, &ev) < 0 ? -errno : 0;
}

/*
 * The sockets for g's listeners: kept ones re-pointed, new ones opened; those g does not
 * list are closed. Called between epoll batches, so no pending event names the old array.
 */
static int diff_listeners(struct worker *w, const struct sm_config *cfg)
{
	struct listen_sock *ls;
	unsigned int n = 0, j;
	bool *claimed;
	int fd, k;

	ls = calloc(cfg->n_listeners ? cfg->n_listeners : 1, sizeof(*ls));
	claimed = calloc(w->n_ls ? w->n_ls : 1, sizeof(*claimed));
	if (!ls || !claimed) {
		free(ls);
		free(claimed);
		return -ENOMEM;
	}
	for (size_t i = 0; i < cfg->n_listeners; i++) {
		const struct sm_listener *l = &cfg->listeners[i];

		k = find_socket(w, claimed, &l->addr);
		if (k >= 0) {
			claimed[k] = true;
			fd = w->ls[k].fd;
		} else {
			fd = listener_get(&l->addr, w->d->inherited, w->d->n_inherited);
			if (fd < 0) {
				if (w->id == 0)
					pr_err("reload: cannot listen on %s (%s:%d): %s", l->text,
					       cfg->path, l->line, strerror(-fd));
				continue;
			}
		}
		ls[n].fd = fd;
		ls[n].index = (unsigned int)i;
		if (watch_listener(w, &ls[n], k >= 0 ? EPOLL_CTL_MOD : EPOLL_CTL_ADD)) {
			pr_warn("worker %u: epoll: %s", w->id, strerror(errno));
			if (k < 0)
				close(fd);
			else
				claimed[k] = false;
			continue;
		}
		n++;
	}
	for (j = 0; j < w->n_ls; j++) {
		if (claimed[j])
			continue;
		epoll_ctl(w->epfd, EPOLL_CTL_DEL, w->ls[j].fd, NULL);
		close(w->ls[j].fd);
	}
	free(claimed);
	free(w->ls);
	w->ls = ls;
	w->n_ls = n;
	return 0;
}

void worker_adopt_config(struct worker *w)
{
	struct daemon *d = w->d;
	struct config_gen *g;

	if (atomic_load(&d->live_gen) == w->gen->gen)
		return;
	g = config_gen_current(d);
	if (stats_worker_fit(w) || diff_listeners(w, &g->cfg)) {
		/* out of memory: keep the old one; the next wake-up tries again */
		pr_warn("worker %u: cannot apply configuration %u: out of memory", w->id, g->gen);
		config_gen_put(g);
		return;
	}
	config_gen_put(w->gen);
	w->gen = g;
}
