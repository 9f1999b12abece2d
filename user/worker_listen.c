// SPDX-License-Identifier: MIT
/*
 * worker_listen.c - a worker's listening sockets (SO_REUSEPORT, one per configured address):
 * opened at start, diffed when the worker adopts a new configuration generation (a listener
 * whose address stays keeps its socket, and the connections waiting in its backlog; a new one
 * is opened, a removed one closed), and ignored for a while when accepting must pause.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "config_gen.h"
#include "daemon.h"
#include "listener.h"
#include "log.h"
#include "worker.h"

/* Index in w->ls of a socket listening on a, not yet claimed; -1 if none. */
static int find_socket(struct worker *w, const bool *claimed, const struct sm_addr *a)
{
	const struct sm_config *old = &w->gen->cfg;

	for (unsigned int j = 0; j < w->n_ls; j++)
		if (!claimed[j] && addr_equal(&old->listeners[w->ls[j].index].addr, a))
			return (int)j;
	return -1;
}

static int watch_listener(struct worker *w, struct listen_sock *ls, int op)
{
	struct epoll_event ev = {
		.events = w->accept_resume_ns ? 0 : EPOLLIN,
		.data.u64 = (uint64_t)(uintptr_t)ls | EV_LISTENER,
	};

	return epoll_ctl(w->epfd, op, ls->fd, &ev) < 0 ? -errno : 0;
}

int worker_listen_update(struct worker *w, const struct sm_config *cfg, bool all_or_none)
{
	struct listen_sock *ls;
	unsigned int n = 0, j;
	bool *claimed;
	int fd, k, err;

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
			if (fd < 0 && all_or_none) {
				pr_err("cannot listen on %s (%s:%d): %s", l->text, cfg->path, l->line,
				       strerror(-fd));
				err = fd;
				goto out_undo;
			}
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
			if (all_or_none) {
				err = -errno;
				n++;
				goto out_undo;
			}
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

out_undo:
	/* only at start, when no socket was kept: close what was opened */
	for (j = 0; j < n; j++)
		close(ls[j].fd);
	free(claimed);
	free(ls);
	return err;
}

void worker_listen_watch(struct worker *w, uint32_t events)
{
	for (unsigned int i = 0; i < w->n_ls; i++) {
		struct epoll_event ev = {
			.events = events,
			.data.u64 = (uint64_t)(uintptr_t)&w->ls[i] | EV_LISTENER,
		};

		epoll_ctl(w->epfd, EPOLL_CTL_MOD, w->ls[i].fd, &ev);
	}
}

void worker_adopt_config(struct worker *w)
{
	struct daemon *d = w->d;
	struct config_gen *g;

	if (atomic_load(&d->live_gen) == w->gen->gen)
		return;
	g = config_gen_current(d);
	if (stats_worker_fit(w) || worker_listen_update(w, &g->cfg, false)) {
		/* out of memory: keep the old one; the next wake-up tries again */
		pr_warn("worker %u: cannot apply configuration %u: out of memory", w->id, g->gen);
		config_gen_put(g);
		return;
	}
	config_gen_put(w->gen);
	w->gen = g;
}
