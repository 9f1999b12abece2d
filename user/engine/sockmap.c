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
 * A FIN reaches the program after every byte before it, and the program marks it. On
 * EPOLLRDHUP from socket S, the engine waits until that mark is set, every byte S passed to
 * user space is written, and every byte has entered the peer D's send queue (bytes_acked +
 * SIOCOUTQ of D, from the base the program took); only then does it shutdown(D, SHUT_WR), so
 * no byte is cut off. It polls for that with a short back-off, since nothing wakes it.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sockios.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "conn.h"
#include "daemon.h"
#include "engine.h"
#include "log.h"
#include "engine/sockmap.h"
#include "engine/splice.h"
#include "pipe_pool.h"
#include "sockmap.skel.h"
#include "tcpstat.h"
#include "worker.h"

/*
 * Bytes of one direction that the verdict program passed to user space, read but not yet
 * written because the destination took less than offered. Usually none: reads are sized to
 * what the destination can take and go through the worker's scratch buffer.
 */
struct sockmap_spill {
	uint8_t *rest;
	uint32_t rest_off, rest_len;
	bool flushed_known;	/* redirected_flushed() held when redirected was flushed_at */
	uint64_t flushed_at;
};

/* Engine state for the sockmap path. */
struct sockmap_state {
	uint64_t cookie[2];	/* socket cookies: [0] client, [1] backend */
	uint32_t slot;
	bool eof[2];		/* the socket of this side sent FIN */
	bool shut[2];		/* FIN passed on for direction [dir] */
	bool want_out[2];	/* EPOLLOUT wanted on socket [side] (a spill is blocked on it) */
	bool src_gone;		/* the failed socket (conn->fail) has nothing more to read */
	uint32_t backoff_ms;
	struct sockmap_spill spill[2];	/* per direction */
	/* for the log line, from the slot's counters at the end */
	uint32_t spills;	/* times a direction spilled to user space */
	uint32_t repeated_skbs;	/* skbs that began with bytes already carried, or read by user
				 * space (a PROXY header): cut or dropped */
	uint64_t kernel_bytes;	/* bytes redirected inside the kernel */
	uint64_t lost_on_reset;	/* bytes a failed socket's psock held for user space, gone
				 * with it (see step_failed()) */
};

_Static_assert(sizeof(struct sockmap_state) <= ENGINE_STATE_SIZE, "sockmap_state fits conn->eng");

/* A worker's share of the slots (of the counters map): [base, base + n). */
struct sockmap_worker {
	uint32_t base;
	uint32_t *free;
	uint32_t n_free;
};

static struct sockmap_state *state(struct conn *c)
{
	return (struct sockmap_state *)c->eng.bytes;
}

static struct sockmap_engine *engine(struct worker *w)
{
	return w->d->engine_data;
}

static struct sockmap_worker *slots(struct worker *w)
{
	return w->engine_data;
}


#define SOCKMAP_POLL_MIN_MS 1
#define SOCKMAP_POLL_MAX_MS 50
/* Smallest read when carrying passed bytes, even towards a nearly full destination. */
#define SOCKMAP_READ_MIN 16384

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

int sockmap_open(struct sockmap_engine **out, uint32_t max_conns, bool backpressure,
		 const char **why)
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
	skel->rodata->backpressure = backpressure;
	bpf_map__set_max_entries(skel->maps.redir_map, 2 * max_conns);
	bpf_map__set_max_entries(skel->maps.verdict_map, 2 * max_conns);
	bpf_map__set_max_entries(skel->maps.peer_of, 2 * max_conns);
	bpf_map__set_max_entries(skel->maps.counters, max_conns);
	err = sockmap_bpf__load(skel);
	if (err) {
		*why = err == -EPERM ? "BPF not permitted (needs CAP_BPF, CAP_PERFMON and CAP_NET_ADMIN)"
				     : "the kernel refused the BPF program or its sockhash maps";
		goto out_destroy;
	}
	e->skel = skel;
	e->redir_fd = bpf_map__fd(skel->maps.redir_map);
	e->verdict_fd = bpf_map__fd(skel->maps.verdict_map);
	e->peer_fd = bpf_map__fd(skel->maps.peer_of);
	e->prog_fd = bpf_program__fd(skel->progs.peer_or_pass);
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

static unsigned int map_id(struct bpf_map *map)
{
	struct bpf_map_info info = { 0 };
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(bpf_map__fd(map), &info, &len))
		return 0;
	return info.id;
}

void sockmap_log_ids(const struct sockmap_engine *e)
{
	struct bpf_prog_info info = { 0 };
	__u32 len = sizeof(info);

	bpf_obj_get_info_by_fd(e->prog_fd, &info, &len);
	pr_info("engine sockmap: BPF program peer_or_pass id %u; maps peer_of id %u, "
		"counters id %u, redir_map id %u, verdict_map id %u (bpftool map dump id N)",
		info.id, map_id(e->skel->maps.peer_of), map_id(e->skel->maps.counters),
		map_id(e->skel->maps.redir_map), map_id(e->skel->maps.verdict_map));
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

/*
 * Forgets the connection's sockets: closing them takes them out of the sockhashes (the kernel
 * does it in sock_map_close()), so only our own cookie -> peer entries are deleted here, in
 * one call. When start() fails half-way the connection is closed right after, too.
 */
static void unmap_conn(struct sockmap_engine *e, struct sockmap_state *s)
{
	__u32 count = 2;

	bpf_map_delete_batch(e->peer_fd, s->cookie, &count, NULL);
}

static struct sm_dir_state *dir_state(struct worker *w, struct conn *c, int dir)
{
	return &engine(w)->counters[state(c)->slot].dir[dir];
}

static int watch(struct worker *w, struct conn *c, int side)
{
	uint32_t ev = EPOLLIN | EPOLLRDHUP | EPOLLET;

	if (state(c)->want_out[side])
		ev |= EPOLLOUT;
	return worker_watch(w, c, side, ev, EPOLL_CTL_MOD);
}

/*
 * Takes the client back out of verdict_map after the backend could not enter it, and tells
 * whether the program moved none of the client's bytes meanwhile (so the fallback engine can
 * carry the connection from the start). TCP_INFO takes the socket lock, so a program run
 * that began before the delete has ended when it returns.
 */
static bool unverdict_client(struct sockmap_engine *e, struct conn *c)
{
	struct sockmap_state *s = state(c);
	struct sm_dir_state *ds = &e->counters[s->slot].dir[SM_DIR_UP];
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	if (bpf_map_delete_elem(e->verdict_fd, &s->cookie[0]) < 0)
		return false;
	if (getsockopt(c->fd[0], IPPROTO_TCP, TCP_INFO, &ti, &len) < 0)
		return false;
	return !__atomic_load_n(&ds->redirected, __ATOMIC_ACQUIRE) &&
	       !__atomic_load_n(&ds->passed, __ATOMIC_ACQUIRE);
}

/* Each socket's cookie -> its peer's, the slot and its direction, in one call; 0 or -errno. */
static int put_peers(struct sockmap_engine *e, struct sockmap_state *s)
{
	struct sm_peer peer[2];
	__u32 count = 2;

	for (int i = 0; i < 2; i++) {
		/* direction i sends to socket !i */
		peer[i].peer_cookie = s->cookie[!i];
		peer[i].slot = s->slot;
		peer[i].dir = i == 0 ? SM_DIR_UP : SM_DIR_DOWN;
	}
	if (bpf_map_update_batch(e->peer_fd, s->cookie, peer, &count, NULL) < 0)
		return -errno;
	return 0;
}

/*
 * The kernel takes only ESTABLISHED sockets into a sockmap: a peer that sent its FIN before
 * the hand-off (a request and its FIN at once; a backend that answers and closes as soon as it
 * accepts) is refused with EOPNOTSUPP, and the fallback engine carries that connection. The
 * sockets enter redir_map first: a refusal there leaves nothing to undo but the entries. Into
 * verdict_map goes the client first, the backend last: the client's queued bytes wait for the
 * SO_RCVLOWAT kick, so the program can only have run on new client bytes if the backend's
 * FIN and such bytes both came in the few microseconds between the two inserts.
 */
static int sockmap_adopt(struct worker *w, struct conn *c)
{
	struct sockmap_engine *e = engine(w);
	struct sockmap_state *s = state(c);
	int one = 1, err, i;

	memset(s, 0, sizeof(*s));
	s->slot = UINT32_MAX;
	/* this worker holds more than its share (SO_REUSEPORT is uneven): splice carries it */
	if (!slots(w)->n_free)
		return -EOPNOTSUPP;
	s->slot = slots(w)->free[--slots(w)->n_free];
	memset(&e->counters[s->slot], 0, sizeof(e->counters[s->slot]));
	for (i = 0; i < 2; i++) {
		err = sock_cookie(c->fd[i], &s->cookie[i]);
		if (err)
			goto out_slot;
	}
	err = put_peers(e, s);
	if (err)
		goto out_unmap;
	/* Targets first, backend before client; then the sockets the program runs on. */
	err = map_put_sock(e->redir_fd, s->cookie[1], c->fd[1]);
	if (err)
		goto out_unmap;
	err = map_put_sock(e->redir_fd, s->cookie[0], c->fd[0]);
	if (err)
		goto out_redir;
	err = map_put_sock(e->verdict_fd, s->cookie[0], c->fd[0]);
	if (err)
		goto out_redir;
	err = map_put_sock(e->verdict_fd, s->cookie[1], c->fd[1]);
	if (err == -EOPNOTSUPP && !unverdict_client(e, c)) {
		c->detail = "the backend closed during the hand-off while the client sent";
		err = -EPROTO;
	}
	if (err)
		goto out_redir;
	/* Bytes queued before the hand-off wait for the next data_ready: kick it. */
	for (i = 0; i < 2; i++) {
		if (setsockopt(c->fd[i], SOL_SOCKET, SO_RCVLOWAT, &one, sizeof(one)) < 0) {
			err = -errno;
			goto out_redir;
		}
	}
	/*
	 * Edge-triggered input: the psock wakes readers only for bytes the program passed to
	 * user space (a spill), never for redirected ones; level-triggered, it would spin. Both
	 * sockets were watched as splice watches them (engine_ops.watch), output included, which
	 * would wake the worker for every ACK. A FIN whose edge went by before is not lost: the
	 * SO_RCVLOWAT kick above runs the queue (FIN included) through the program, whose
	 * data-ready wakes epoll again.
	 */
	for (i = 0; i < 2; i++) {
		err = watch(w, c, i);
		if (err)
			goto out_redir;
	}
	stats_slot_own(&w->stats, s->slot - slots(w)->base, c);
	return 0;

out_redir:
	/* out of both sockhashes: a refused socket falls back with a clean slate */
	for (i = 0; i < 2; i++) {
		bpf_map_delete_elem(e->verdict_fd, &s->cookie[i]);
		bpf_map_delete_elem(e->redir_fd, &s->cookie[i]);
	}
out_unmap:
	unmap_conn(e, s);
out_slot:
	slots(w)->free[slots(w)->n_free++] = s->slot;
	s->slot = UINT32_MAX;
	return err;
}

/*
 * The hand-off of a routed connection: splice carries it (small reads copied, engine/splice.h)
 * until it has carried sockmap_after_bytes, and the sockmap engine adopts it then, between two
 * reads, with nothing in flight (worker_conn_upgrade()). A short connection (a request and its
 * answer) or an idle one that moved little never costs two psocks and their teardown through
 * the kernel's work queue; one that carries more moves in the kernel from then on. With
 * sockmap_after_bytes = 0, the sockets enter the maps at once.
 */
/* Splice carries c first, and its first pump sends them; from the hand-off, the kernel. */
static bool sockmap_sends_first_bytes(const struct conn *c)
{
	return c->gen->cfg.sockmap_after != 0;
}

static int sockmap_start(struct worker *w, struct conn *c)
{
	unsigned int after = c->gen->cfg.sockmap_after;

	if (!after)
		return sockmap_adopt(w, c);
	c->upgrade = c->engine;
	c->upgrade_at = after;
	c->engine = &splice_engine_ops;
	return splice_engine_ops.start(w, c);
}

/*
 * True when every byte the kernel redirected in direction dir, and every byte written by
 * us, has entered the destination's TCP send queue: passed bytes written now cannot
 * overtake redirected ones still waiting in the destination's psock.
 */
static bool redirected_flushed(struct worker *w, struct conn *c, int dir)
{
	struct sm_dir_state *ds = dir_state(w, c, dir);
	uint64_t base = __atomic_load_n(&ds->peer_base, __ATOMIC_ACQUIRE), queued;

	/* no base yet: the program never ran that way, so nothing was sent that way either */
	if (!(base & SM_BASE_SET))
		return ds->redirected + ds->written == 0;
	if (tcpstat_queued(c->fd[!dir], &queued))
		return false;
	return queued - (base & ~SM_BASE_SET) >= ds->redirected + ds->written;
}

static void set_want_out(struct worker *w, struct conn *c, int side, bool on)
{
	if (state(c)->want_out[side] == on)
		return;
	state(c)->want_out[side] = on;
	watch(w, c, side);
}

/*
 * What the destination's send buffer can take now, roughly (sk_sndbuf also counts overhead);
 * *sndbuf is read once per carry() call, SIOCOUTQ before every read.
 */
static size_t room(int fd, int *sndbuf)
{
	socklen_t len = sizeof(*sndbuf);
	long free_bytes;
	int outq = 0;

	if (*sndbuf < 0 && getsockopt(fd, SOL_SOCKET, SO_SNDBUF, sndbuf, &len) < 0)
		return SOCKMAP_READ_MIN;
	if (ioctl(fd, SIOCOUTQ, &outq) < 0)
		return SOCKMAP_READ_MIN;
	free_bytes = (long)*sndbuf - outq;
	if (free_bytes < SOCKMAP_READ_MIN)
		return SOCKMAP_READ_MIN;
	return free_bytes > WORKER_SCRATCH ? WORKER_SCRATCH : (size_t)free_bytes;
}

/* Keeps len bytes at buf, not yet written, as direction dir's rest. 0 or -ENOMEM. */
static int keep(struct sockmap_spill *sp, const uint8_t *buf, size_t len)
{
	sp->rest = malloc(len);
	if (!sp->rest)
		return -ENOMEM;
	memcpy(sp->rest, buf, len);
	sp->rest_off = 0;
	sp->rest_len = len;
	return 0;
}

/*
 * Writes buf to direction dir's destination; keeps what it did not take. 0, 1 blocked, or
 * -errno (the destination failed).
 */
static int carry_write(struct worker *w, struct conn *c, int dir, const uint8_t *buf, size_t len)
{
	struct sockmap_spill *sp = &state(c)->spill[dir];
	struct sm_dir_state *ds = dir_state(w, c, dir);
	ssize_t n;
	int err;

	n = send(c->fd[!dir], buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR)
			return -errno;
		n = 0;
	}
	/* the program resumes redirecting only once this equals passed */
	__atomic_store_n(&ds->written, ds->written + n, __ATOMIC_RELEASE);
	if ((size_t)n == len)
		return 0;
	if (!sp->rest) {
		err = keep(sp, buf + n, len - n);
		if (err)
			return err;
	} else {
		sp->rest_off += n;
	}
	set_want_out(w, c, !dir, true);
	return 1;
}

/*
 * Carries direction dir's passed bytes: recv() them from the source into the worker's scratch
 * buffer, at most what the destination can take, write() them on, publish the count for the
 * program. Nothing is written before every byte the kernel redirected earlier has entered the
 * destination's send queue. Returns 0, 1 when it must be polled again (redirected bytes still
 * flushing), or -errno on a socket error, with *side the socket that failed. A failed source
 * that gives no more bytes (its psock went with the reset) is such an error too.
 */
static int carry(struct worker *w, struct conn *c, int dir, int *side)
{
	struct sockmap_spill *sp = &state(c)->spill[dir];
	struct sm_dir_state *ds = dir_state(w, c, dir);
	int err, sndbuf = -1;
	uint64_t redirected;
	ssize_t n;

	*side = !dir;	/* a write error: the destination failed */
	if (ds->broken) {
		/* bytes lost before the program, or a repeat it could not cut off */
		c->detail = dir ? "sequence check failed on the backend's bytes" :
				  "sequence check failed on the client's bytes";
		*side = dir;
		return -EPROTO;
	}
	/* Nothing passed to user space that is not written yet: no system call at all. A spill
	 * that starts after this load wakes the worker again (EPOLLIN, edge-triggered). */
	if (!sp->rest && __atomic_load_n(&ds->passed, __ATOMIC_ACQUIRE) == ds->written)
		return 0;
	for (;;) {
		/*
		 * Nothing is written before what the program redirected has entered the
		 * destination's send queue. While passed bytes wait it redirects nothing new, and
		 * our own writes enter that queue as they are made, so the check holds until
		 * redirected moves: it is made again only then.
		 */
		redirected = __atomic_load_n(&ds->redirected, __ATOMIC_ACQUIRE);
		if (!sp->flushed_known || sp->flushed_at != redirected) {
			if (!redirected_flushed(w, c, dir))
				return 1;
			sp->flushed_known = true;
			sp->flushed_at = redirected;
		}
		if (sp->rest) {
			err = carry_write(w, c, dir, sp->rest + sp->rest_off,
					  sp->rest_len - sp->rest_off);
			if (err)
				return err < 0 ? err : 0;
			free(sp->rest);
			sp->rest = NULL;
			set_want_out(w, c, !dir, false);
			continue;
		}
		if (state(c)->src_gone)
			return 0;
		n = recv(c->fd[dir], w->scratch, room(c->fd[!dir], &sndbuf), MSG_DONTWAIT);
		if (n <= 0) {
			*side = dir;
			/* 0 is not EOF here: passed bytes may still be on their way (drained()),
			 * unless the socket failed: its reset came after every byte */
			if (n == 0 && c->fail.side == dir)
				return -ECONNRESET;
			if (n == 0 || errno == EAGAIN || errno == EINTR)
				return 0;
			return -errno;
		}
		/*
		 * Caught up with passed, the program may have redirected an skb since the check
		 * and then passed these bytes behind it: they wait, as rest, for the next check.
		 */
		if (__atomic_load_n(&ds->redirected, __ATOMIC_ACQUIRE) != redirected) {
			err = keep(sp, w->scratch, (size_t)n);
			if (err)
				return err;
			continue;
		}
		err = carry_write(w, c, dir, w->scratch, n);
		if (err)
			return err < 0 ? err : 0;
	}
}

/*
 * True once direction dir's source sent FIN and every byte before it reached the destination's
 * send queue: the FIN went through the program after every byte (d->fin), every passed byte
 * was written, every redirected one has left the psock.
 */
static bool drained(struct worker *w, struct conn *c, int dir)
{
	struct sm_dir_state *ds = dir_state(w, c, dir);
	struct sockmap_spill *sp = &state(c)->spill[dir];

	if (!__atomic_load_n(&ds->fin, __ATOMIC_ACQUIRE))
		return false;
	if (ds->written != ds->passed || sp->rest)
		return false;
	return redirected_flushed(w, c, dir);
}

static void poll_backoff(struct worker *w, struct conn *c, uint64_t now, uint64_t limit_ns)
{
	struct sockmap_state *s = state(c);
	uint64_t when;

	s->backoff_ms = s->backoff_ms ? s->backoff_ms * 2 : SOCKMAP_POLL_MIN_MS;
	if (s->backoff_ms > SOCKMAP_POLL_MAX_MS)
		s->backoff_ms = SOCKMAP_POLL_MAX_MS;
	when = now + s->backoff_ms * 1000000ull;
	worker_poll_at(w, c, limit_ns && when > limit_ns ? limit_ns : when);
}

/*
 * Bytes of direction dir sockmux still holds: passed to user space and not written (in the
 * source's psock or read and kept), and redirected or written but not yet in the
 * destination's send queue (in its psock).
 */
static uint64_t undelivered(struct worker *w, struct conn *c, int dir)
{
	struct sm_dir_state *ds = dir_state(w, c, dir);
	struct sockmap_spill *sp = &state(c)->spill[dir];
	uint64_t base = __atomic_load_n(&ds->peer_base, __ATOMIC_ACQUIRE), queued, held;

	held = state(c)->src_gone ? 0 : ds->passed - ds->written;
	if (sp->rest)
		held += sp->rest_len - sp->rest_off;
	if ((base & SM_BASE_SET) && !tcpstat_queued(c->fd[!dir], &queued) &&
	    ds->redirected + ds->written > queued - (base & ~SM_BASE_SET))
		held += ds->redirected + ds->written - (queued - (base & ~SM_BASE_SET));
	return held;
}

/*
 * After a socket failed (c->fail): the bytes it sent before its reset still go on. Those the
 * program redirected wait in the peer's psock until they entered its send queue; those it
 * passed to user space are carried, unless the reset took them: the kernel unhashes a reset
 * socket, which drops it from the sockhashes, and its psock, holding them, goes too (counted
 * as lost_on_reset in the log line). Nothing goes towards the failed socket. Then the reset
 * is passed on (worker_conn_fail_flushed()).
 */
static void step_failed(struct worker *w, struct conn *c, uint64_t now)
{
	struct sockmap_state *s = state(c);
	int dir = c->fail.side, side, err;
	struct sm_dir_state *ds = dir_state(w, c, dir);
	struct sockmap_spill *sp = &s->spill[dir];

	err = carry(w, c, dir, &side);
	if (err < 0 && side != dir) {
		worker_conn_reset(w, c, dir, c->fail.err);	/* the other socket failed too */
		return;
	}
	if (err < 0 && !s->src_gone) {
		s->src_gone = true;
		s->lost_on_reset = ds->passed - ds->written -
				   (sp->rest ? sp->rest_len - sp->rest_off : 0);
	}
	if (!sp->rest && (s->src_gone || ds->written == ds->passed) &&
	    redirected_flushed(w, c, dir)) {
		/* the program saw the failed socket's FIN before its reset: it goes on first */
		if (__atomic_load_n(&ds->fin, __ATOMIC_ACQUIRE))
			c->fail.fin_first = true;
		s->backoff_ms = 0;
		worker_conn_fail_flushed(w, c, now);
		return;
	}
	if (worker_conn_fail_due(w, c, now)) {
		worker_conn_fail_give_up(w, c, undelivered(w, c, dir));
		return;
	}
	poll_backoff(w, c, now, c->fail.deadline_ns);
}

/* Carries, passes FINs on, ends the connection when both directions are done. */
static void sockmap_step(struct worker *w, struct conn *c, uint64_t now)
{
	struct sockmap_state *s = state(c);
	bool again = false;
	int dir, err, side;

	if (c->fail.side >= 0) {
		step_failed(w, c, now);
		return;
	}
	for (dir = 0; dir < 2; dir++) {
		if (s->shut[dir])
			continue;
		err = carry(w, c, dir, &side);
		if (err == -EPROTO) {
			worker_conn_reset(w, c, dir, err);	/* the sequence check failed */
			return;
		}
		if (err < 0) {
			worker_conn_fail(w, c, side, err);
			step_failed(w, c, now);
			return;
		}
		if (err > 0)
			again = true;
		if (!s->eof[dir])
			continue;
		if (!drained(w, c, dir)) {
			again = true;
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
	if (!again) {
		s->backoff_ms = 0;
		worker_poll_at(w, c, 0);
		return;
	}
	poll_backoff(w, c, now, 0);
}

static void sockmap_poll(struct worker *w, struct conn *c, uint64_t now)
{
	sockmap_step(w, c, now);
}

/* A reset is recorded, not acted on: the bytes that arrived before it go on first. */
static void sockmap_event(struct worker *w, struct conn *c, int side, uint32_t events)
{
	struct sockmap_state *s = state(c);

	if ((events & EPOLLERR) && c->fail.side < 0)
		worker_conn_fail(w, c, side, 0);
	if (events & (EPOLLRDHUP | EPOLLHUP))
		s->eof[side] = true;
	if (events & (EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLHUP))
		s->backoff_ms = 0;
	sockmap_step(w, c, now_ns());
}

static void sockmap_release(struct worker *w, struct conn *c)
{
	struct sockmap_engine *e = engine(w);
	struct sockmap_state *s = state(c);

	if (s->slot == UINT32_MAX)
		return;
	unmap_conn(e, s);
	/* the slot's bytes leave the live figures and enter the totals at once */
	stats_slot_lock(&w->stats);
	for (int dir = 0; dir < 2; dir++) {
		struct sm_dir_state *ds = &e->counters[s->slot].dir[dir];

		c->bytes[dir] += ds->redirected + ds->written;
		s->kernel_bytes += ds->redirected;
		s->spills += ds->spills;
		s->repeated_skbs += ds->repeated_skbs;
		free(s->spill[dir].rest);
		s->spill[dir].rest = NULL;
	}
	stats_conn_bytes(&w->stats, c);
	stats_slot_free(&w->stats, s->slot - slots(w)->base);
	stats_slot_unlock(&w->stats);
	slots(w)->free[slots(w)->n_free++] = s->slot;
	s->slot = UINT32_MAX;
}

static int open_engine(struct daemon *d, unsigned int max_conns, bool backpressure,
		       const char **why)
{
	struct sockmap_engine *e;
	int err;

	err = sockmap_open(&e, max_conns, backpressure, why);
	if (err)
		return err;
	sockmap_log_ids(e);
	d->engine_data = e;
	return 0;
}

static int sockmap_engine_open(struct daemon *d, unsigned int max_conns, const char **why)
{
	return open_engine(d, max_conns, true, why);
}

/* --engine sockmap-unbounded: the program without its congestion check (measurement only) */
static int sockmap_unbounded_open(struct daemon *d, unsigned int max_conns, const char **why)
{
	return open_engine(d, max_conns, false, why);
}

static void sockmap_engine_close(struct daemon *d)
{
	sockmap_close(d->engine_data);
	d->engine_data = NULL;
}

/* The worker's slots of the counters map: [id * max_conns, (id + 1) * max_conns). */
static int sockmap_worker_init(struct worker *w)
{
	struct sockmap_worker *sw = calloc(1, sizeof(*sw));

	if (!sw)
		return -ENOMEM;
	sw->free = calloc(w->max_conns, sizeof(*sw->free));
	if (!sw->free) {
		free(sw);
		return -ENOMEM;
	}
	sw->base = w->id * w->max_conns;
	for (uint32_t i = 0; i < w->max_conns; i++)
		sw->free[i] = sw->base + w->max_conns - 1 - i;
	sw->n_free = w->max_conns;
	w->engine_data = sw;
	return 0;
}

static void sockmap_worker_fini(struct worker *w)
{
	struct sockmap_worker *sw = w->engine_data;

	if (sw)
		free(sw->free);
	free(sw);
	w->engine_data = NULL;
}

/* Bytes of a live connection, still only in the counters map (stats.c, under its lock). */
static void sockmap_live_bytes(struct worker *w, uint32_t slot, uint64_t bytes[2])
{
	const struct sm_counters *k = &engine(w)->counters[slots(w)->base + slot];

	for (int dir = 0; dir < 2; dir++)
		bytes[dir] = __atomic_load_n(&k->dir[dir].redirected, __ATOMIC_RELAXED) +
			     __atomic_load_n(&k->dir[dir].written, __ATOMIC_RELAXED);
}

/* kernel= share moved in the kernel, spills=; repeated_skbs= and lost_on_reset= when seen. */
static void sockmap_log_fields(const struct conn *c, char *buf, size_t size)
{
	const struct sockmap_state *s = (const struct sockmap_state *)c->eng.bytes;
	uint64_t total = c->bytes[0] + c->bytes[1];
	int n;

	n = snprintf(buf, size, " kernel=%u%% spills=%u",
		     total ? (unsigned int)(s->kernel_bytes * 100 / total) : 100, s->spills);
	/* retransmissions overlapping bytes already carried: shown only when seen */
	if (s->repeated_skbs && n >= 0 && (size_t)n < size)
		n += snprintf(buf + n, size - n, " repeated_skbs=%u", s->repeated_skbs);
	/* a reset took bytes the psock held for user space (see step_failed()) */
	if (s->lost_on_reset && n >= 0 && (size_t)n < size)
		snprintf(buf + n, size - n, " lost_on_reset=%" PRIu64, s->lost_on_reset);
}

const struct engine_ops sockmap_engine_ops = {
	.name = "sockmap",
	.watch = SPLICE_WATCH,	/* splice carries it first */
	.pipes_per_worker = PIPE_POOL_MAX,	/* for the connections splice carries */
	.open = sockmap_engine_open,
	.close = sockmap_engine_close,
	.worker_init = sockmap_worker_init,
	.worker_fini = sockmap_worker_fini,
	.sends_first_bytes = sockmap_sends_first_bytes,
	.start = sockmap_start,
	.adopt = sockmap_adopt,
	.event = sockmap_event,
	.poll = sockmap_poll,
	.release = sockmap_release,
	.live_bytes = sockmap_live_bytes,
	.log_fields = sockmap_log_fields,
	.fallback = &splice_engine_ops,
};

const struct engine_ops sockmap_unbounded_engine_ops = {
	.name = "sockmap",
	.watch = SPLICE_WATCH,	/* splice carries it first */
	.pipes_per_worker = PIPE_POOL_MAX,	/* for the connections splice carries */
	.open = sockmap_unbounded_open,
	.close = sockmap_engine_close,
	.worker_init = sockmap_worker_init,
	.worker_fini = sockmap_worker_fini,
	.sends_first_bytes = sockmap_sends_first_bytes,
	.start = sockmap_start,
	.adopt = sockmap_adopt,
	.event = sockmap_event,
	.poll = sockmap_poll,
	.release = sockmap_release,
	.live_bytes = sockmap_live_bytes,
	.log_fields = sockmap_log_fields,
	.fallback = &splice_engine_ops,
};
