// SPDX-License-Identifier: MIT
/*
 * sockmap.c - the sockmap engine: loads bpf/sockmap.bpf.c, puts each routed connection's two
 * sockets into its maps so that the kernel moves every further byte, and passes FINs and
 * resets on, since the kernel does not.
 *
 * Hand-off order matters (see docs/ARCHITECTURE.md): both sockets enter redir_map (the
 * redirect targets) before either enters verdict_map (where the program runs), backend
 * first; then SO_RCVLOWAT kicks the receive path so bytes queued before the hand-off (the
 * peeked ClientHello among them) are processed, in order, by the program.
 *
 * A FIN reaches the program as an empty skb, which it drops. On EPOLLRDHUP from socket S,
 * the engine waits until every byte S received was redirected (tcpi_bytes_received - 1 for
 * the FIN == the program's counter) and has entered the peer D's send queue (bytes_acked +
 * SIOCOUTQ of D, from its base at hand-off); only then does it shutdown(D, SHUT_WR), so no
 * byte is cut off. It polls for that with a short back-off, since nothing wakes it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "conn.h"
#include "daemon.h"
#include "log.h"
#include "sockmap.h"
#include "sockmap.skel.h"
#include "tcpstat.h"
#include "worker.h"

#define SOCKMAP_POLL_MIN_MS 1
#define SOCKMAP_POLL_MAX_MS 50

static int libbpf_log(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char buf[512];
	size_t n;

	if (level == LIBBPF_DEBUG && log_get_level() < LOG_DEBUG)
		return 0;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	if (n && buf[n - 1] == '\n')
		buf[n - 1] = '\0';
	pr_debug("libbpf: %s", buf);
	return 0;
}

int sockmap_open(struct sockmap_engine **out, uint32_t max_conns, const char **why)
{
	struct sockmap_engine *e;
	struct sockmap_bpf *skel;
	int err;

	libbpf_set_print(libbpf_log);
	e = calloc(1, sizeof(*e));
	if (!e) {
		*why = "out of memory";
		return -ENOMEM;
	}
	skel = sockmap_bpf__open();
	if (!skel) {
		err = -errno;
		*why = "cannot open the BPF object";
		goto out_free;
	}
	bpf_map__set_max_entries(skel->maps.redir_map, 2 * max_conns);
	bpf_map__set_max_entries(skel->maps.verdict_map, 2 * max_conns);
	bpf_map__set_max_entries(skel->maps.peer_of, 2 * max_conns);
	bpf_map__set_max_entries(skel->maps.counters, max_conns);
	err = sockmap_bpf__load(skel);
	if (err) {
		*why = err == -EPERM ? "BPF not permitted (needs CAP_BPF and CAP_NET_ADMIN)"
				     : "the kernel refused the BPF program or its sockhash maps";
		goto out_destroy;
	}
	e->skel = skel;
	e->redir_fd = bpf_map__fd(skel->maps.redir_map);
	e->verdict_fd = bpf_map__fd(skel->maps.verdict_map);
	e->peer_fd = bpf_map__fd(skel->maps.peer_of);
	e->prog_fd = bpf_program__fd(skel->progs.splice_verdict);
	e->n_slots = max_conns;
	err = bpf_prog_attach(e->prog_fd, e->verdict_fd, BPF_SK_SKB_STREAM_VERDICT, 0);
	if (err) {
		err = -errno;
		*why = "cannot attach the stream verdict program to its sockhash";
		goto out_destroy;
	}
	e->counters_len = sizeof(struct sm_counters) * (size_t)max_conns;
	e->counters_len = (e->counters_len + 4095) & ~(size_t)4095;
	e->counters = mmap(NULL, e->counters_len, PROT_READ | PROT_WRITE, MAP_SHARED,
			   bpf_map__fd(skel->maps.counters), 0);
	if (e->counters == MAP_FAILED) {
		err = -errno;
		*why = "cannot mmap the counters map";
		goto out_detach;
	}
	*out = e;
	return 0;

out_detach:
	bpf_prog_detach2(e->prog_fd, e->verdict_fd, BPF_SK_SKB_STREAM_VERDICT);
out_destroy:
	sockmap_bpf__destroy(skel);
out_free:
	free(e);
	return err < 0 ? err : -EINVAL;
}

void sockmap_close(struct sockmap_engine *e)
{
	if (!e)
		return;
	munmap(e->counters, e->counters_len);
	bpf_prog_detach2(e->prog_fd, e->verdict_fd, BPF_SK_SKB_STREAM_VERDICT);
	sockmap_bpf__destroy(e->skel);
	free(e);
}

static int sock_cookie(int fd, uint64_t *cookie)
{
	socklen_t len = sizeof(*cookie);

	if (getsockopt(fd, SOL_SOCKET, SO_COOKIE, cookie, &len) < 0)
		return -errno;
	return 0;
}

static int map_put_sock(int map_fd, uint64_t key, int fd)
{
	uint64_t val = (uint64_t)fd;

	if (bpf_map_update_elem(map_fd, &key, &val, BPF_NOEXIST) < 0)
		return -errno;
	return 0;
}

static void unmap_conn(struct sockmap_engine *e, struct sockmap_state *s)
{
	for (int i = 0; i < 2; i++) {
		bpf_map_delete_elem(e->verdict_fd, &s->cookie[i]);
		bpf_map_delete_elem(e->redir_fd, &s->cookie[i]);
		bpf_map_delete_elem(e->peer_fd, &s->cookie[i]);
	}
}

static int sockmap_start(struct worker *w, struct conn *c)
{
	struct sockmap_engine *e = w->d->sockmap;
	struct sockmap_state *s = &c->eng.sockmap;
	struct sm_peer peer;
	int one = 1, err, i;

	if (!w->n_free_slots)
		return -ENOSPC;
	s->slot = w->free_slots[--w->n_free_slots];
	memset(&e->counters[s->slot], 0, sizeof(e->counters[s->slot]));
	for (i = 0; i < 2; i++) {
		err = sock_cookie(c->fd[i], &s->cookie[i]);
		if (!err)
			err = tcpstat_queued(c->fd[i], &s->sent_base[i]);
		if (err)
			goto out_slot;
	}
	for (i = 0; i < 2; i++) {
		peer.peer_cookie = s->cookie[!i];
		peer.slot = s->slot;
		peer.dir = i == 0 ? SM_DIR_UP : SM_DIR_DOWN;
		if (bpf_map_update_elem(e->peer_fd, &s->cookie[i], &peer, BPF_NOEXIST) < 0) {
			err = -errno;
			goto out_unmap;
		}
	}
	/* Targets first, backend before client; then the sockets the program runs on. */
	err = map_put_sock(e->redir_fd, s->cookie[1], c->fd[1]);
	if (!err)
		err = map_put_sock(e->redir_fd, s->cookie[0], c->fd[0]);
	if (!err)
		err = map_put_sock(e->verdict_fd, s->cookie[1], c->fd[1]);
	if (!err)
		err = map_put_sock(e->verdict_fd, s->cookie[0], c->fd[0]);
	if (err)
		goto out_unmap;
	/* Bytes queued before the hand-off wait for the next data_ready: kick it. */
	for (i = 0; i < 2; i++) {
		if (setsockopt(c->fd[i], SOL_SOCKET, SO_RCVLOWAT, &one, sizeof(one)) < 0) {
			err = -errno;
			goto out_unmap;
		}
	}
	/* EPOLLIN on a socket in the map would spin: only hang-ups and errors from now on. */
	for (i = 0; i < 2; i++) {
		err = worker_watch(w, c, i, EPOLLRDHUP | EPOLLET, EPOLL_CTL_MOD);
		if (err)
			goto out_unmap;
	}
	return 0;

out_unmap:
	unmap_conn(e, s);
out_slot:
	w->free_slots[w->n_free_slots++] = s->slot;
	s->slot = UINT32_MAX;
	return err;
}

/* True once direction dir's source sent FIN and every byte of it is in the peer's queue. */
static bool sockmap_dir_drained(struct worker *w, struct conn *c, int dir)
{
	struct sockmap_state *s = &c->eng.sockmap;
	volatile struct sm_counters *cnt = &w->d->sockmap->counters[s->slot];
	int src = dir, dst = !dir;
	uint64_t received, queued, moved;

	if (tcpstat_received(c->fd[src], &received) || tcpstat_queued(c->fd[dst], &queued))
		return false;
	moved = cnt->redirected[dir] + cnt->dropped[dir];
	/* tcpi_bytes_received counts the FIN as one byte. */
	if (received - 1 > moved)
		return false;
	return queued - s->sent_base[dst] >= cnt->redirected[dir];
}

static void sockmap_poll(struct worker *w, struct conn *c, uint64_t now)
{
	struct sockmap_state *s = &c->eng.sockmap;
	bool pending = false;

	for (int dir = 0; dir < 2; dir++) {
		if (!s->eof[dir] || s->shut[dir])
			continue;
		if (!sockmap_dir_drained(w, c, dir)) {
			pending = true;
			continue;
		}
		shutdown(c->fd[!dir], SHUT_WR);
		s->shut[dir] = true;
		s->backoff_ms = 0;
	}
	if (s->shut[0] && s->shut[1]) {
		worker_conn_end(w, c, END_CLOSED);
		return;
	}
	if (!pending) {
		worker_poll_at(w, c, 0);
		return;
	}
	s->backoff_ms = s->backoff_ms ? s->backoff_ms * 2 : SOCKMAP_POLL_MIN_MS;
	if (s->backoff_ms > SOCKMAP_POLL_MAX_MS)
		s->backoff_ms = SOCKMAP_POLL_MAX_MS;
	worker_poll_at(w, c, now + s->backoff_ms * 1000000ull);
}

static void sockmap_event(struct worker *w, struct conn *c, int side, uint32_t events)
{
	struct sockmap_state *s = &c->eng.sockmap;

	if (events & EPOLLERR) {
		worker_conn_reset(w, c, side, 0);
		return;
	}
	if ((events & (EPOLLRDHUP | EPOLLHUP)) && !s->eof[side]) {
		/* the bytes of direction `side` (client: up, backend: down) are complete */
		s->eof[side] = true;
		s->backoff_ms = 0;
		sockmap_poll(w, c, now_ns());
	}
}

static void sockmap_release(struct worker *w, struct conn *c)
{
	struct sockmap_engine *e = w->d->sockmap;
	struct sockmap_state *s = &c->eng.sockmap;

	if (s->slot == UINT32_MAX)
		return;
	unmap_conn(e, s);
	for (int dir = 0; dir < 2; dir++)
		c->bytes[dir] += e->counters[s->slot].redirected[dir];
	w->free_slots[w->n_free_slots++] = s->slot;
	s->slot = UINT32_MAX;
}

const struct engine_ops sockmap_engine_ops = {
	.name = "sockmap",
	.start = sockmap_start,
	.event = sockmap_event,
	.poll = sockmap_poll,
	.release = sockmap_release,
};
