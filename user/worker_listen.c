// SPDX-License-Identifier: MIT
/*
 * worker_listen.c - a worker's listening sockets (SO_REUSEPORT, one per configured address):
 * opened at start, diffed when the worker adopts a new configuration generation (a listener
 * whose address stays keeps its socket, and the connections waiting in its backlog; a new one
 * is opened, a removed one closed), and ignored for a while when accepting must pause.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "clock.h"
#include "config_gen.h"
#include "daemon.h"
#include "listener.h"
#include "log.h"
#include "transport.h"
#include "worker.h"
#include "worker_listen.h"

/* Index in w->ls of a socket of l's type on l's address, not yet claimed; -1 if none. */
static int find_socket(struct worker *w, const bool *claimed, const struct config_listener *l)
{
	const struct config *old = &w->gen->cfg;

	for (unsigned int j = 0; j < w->n_ls; j++) {
		const struct config_listener *o = &old->listeners[w->ls[j].index];

		if (!claimed[j] && o->sock_type == l->sock_type && addr_equal(&o->addr, &l->addr))
			return (int)j;
	}
	return -1;
}

static int watch_listener(struct worker *w, struct listen_sock *ls, int op)
{
	struct epoll_event ev = {
		.events = w->accept_resume_ns ? 0 : EPOLLIN,
		.data.u64 = worker_ev_pack(ls, EV_LISTENER),
	};

	return epoll_ctl(w->epfd, op, ls->fd, &ev) < 0 ? -errno : 0;
}

int worker_listen_update(struct worker *w, const struct config *cfg, bool all_or_none)
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
		const struct config_listener *l = &cfg->listeners[i];

		const struct transport *t = transport_for(l->sock_type);

		k = find_socket(w, claimed, l);
		if (k >= 0) {
			claimed[k] = true;
			fd = w->ls[k].fd;
		} else {
			fd = t ? listener_get(l, t, w->d->inherited, w->d->n_inherited) :
				 -EPROTONOSUPPORT;
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
		ls[n].transport = t;
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
			.data.u64 = worker_ev_pack(&w->ls[i], EV_LISTENER),
		};

		epoll_ctl(w->epfd, EPOLL_CTL_MOD, w->ls[i].fd, &ev);
	}
}

void worker_listen_pause(struct worker *w, uint64_t until)
{
	if (!w->accept_resume_ns)
		worker_listen_watch(w, 0);
	w->accept_resume_ns = until;
}

void worker_listen_failed(struct worker *w, const struct listen_sock *ls, int err)
{
	w->accept_errors++;
	w->accept_backoff_ms = w->accept_backoff_ms ? w->accept_backoff_ms * 2 : 10;
	if (w->accept_backoff_ms > 1000)
		w->accept_backoff_ms = 1000;
	worker_listen_pause(w, now_ns() + w->accept_backoff_ms * 1000000ull);
	pr_warn("worker %u: accept on %s: %s; not accepting for %u ms (%" PRIu64 " such "
		"failures so far, %u connections open)", w->id,
		w->gen->cfg.listeners[ls->index].text, strerror(err), w->accept_backoff_ms,
		w->accept_errors, w->n_conns);
}

void worker_listen_resume(struct worker *w, uint64_t now)
{
	if (!w->accept_resume_ns || now < w->accept_resume_ns)
		return;
	w->accept_resume_ns = 0;
	worker_listen_watch(w, EPOLLIN);
}
