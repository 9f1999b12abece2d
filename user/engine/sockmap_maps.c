// SPDX-License-Identifier: MIT
/*
 * sockmap_maps.c - the sockmap engine's BPF object, bpf/sockmap.bpf.c: loading the verdict
 * program and its maps sized for max_conns, attaching it to verdict_map and mapping the
 * counters (sockmap_open(), sockmap_close()), their ids for bpftool, and a connection's entries
 * in the maps: its sockets' cookies, its sockets into redir_map and verdict_map, its peer_of
 * entries in and out. The order they go in is the hand-off's (sockmap_adopt() in sockmap.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "log.h"
#include "engine/sockmap.h"
#include "engine/sockmap_state.h"
#include "sockmap.skel.h"

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

int sockmap_sock_cookie(int fd, uint64_t *cookie)
{
	socklen_t len = sizeof(*cookie);

	if (getsockopt(fd, SOL_SOCKET, SO_COOKIE, cookie, &len) < 0)
		return -errno;
	return 0;
}

int sockmap_map_put_sock(int map_fd, uint64_t key, int fd)
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
void sockmap_unmap_conn(struct sockmap_engine *e, struct sockmap_state *s)
{
	__u32 count = 2;

	bpf_map_delete_batch(e->peer_fd, s->cookie, &count, NULL);
}

/* Each socket's cookie -> its peer's, the slot and its direction, in one call; 0 or -errno. */
int sockmap_put_peers(struct sockmap_engine *e, struct sockmap_state *s)
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
