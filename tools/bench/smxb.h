/* SPDX-License-Identifier: MIT */
/*
 * smxb.h - what the benchmark client (smxb-cli) and server (smxb-srv) share: the request the
 * client sends right after its ClientHello, the server's answers, and helpers for time,
 * addresses, the ClientHello itself, and whole-machine CPU and memory sampling.
 *
 * On the wire, after a real ClientHello that every proxy parses and routes on:
 *   client -> server  struct smxb_req (32 bytes), then payload as the mode says;
 *   server -> client  struct smxb_ack (8 bytes) first in every mode but SINK and ECHO,
 *                     struct smxb_report (32 bytes) at the end of a SINK window.
 * Both ends run on the same machine, so the structs travel in host byte order.
 */
#ifndef SMXB_H
#define SMXB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

enum smxb_mode {
	SMXB_SINK = 1,	/* server reads and discards; reports the bytes read in its window */
	SMXB_SOURCE,	/* server writes as fast as it can until the client goes away */
	SMXB_ECHO,	/* server echoes every byte back */
	SMXB_REPLY,	/* server answers reply_len bytes (ack first) and closes */
	SMXB_IDLE,	/* server acknowledges, then waits for EOF */
	SMXB_SLOW,	/* server acknowledges, then reads at `rate` bytes/s */
};

#define SMXB_REQ_MAGIC	  "SMXB"
#define SMXB_ACK_MAGIC	  "SMXA"
#define SMXB_REPORT_MAGIC "SMXR"

struct smxb_req {
	char magic[4];
	uint32_t mode;
	uint32_t warm_ms;	/* SINK: window starts this long after the request arrived */
	uint32_t dur_ms;	/* SINK: window length; the report is sent when it ends */
	uint32_t reply_len;	/* REPLY: bytes to answer, the 8-byte ack included */
	uint32_t pad;
	uint64_t rate;		/* SLOW: bytes per second */
};

struct smxb_ack {
	char magic[4];
	uint32_t tag;		/* the server's local port: tells which backend the route chose */
};

struct smxb_report {
	char magic[4];
	uint32_t tag;
	uint64_t bytes;		/* read inside the window */
	uint64_t window_ns;	/* the window's length as the server timed it */
	uint64_t total;		/* read since the request */
};

_Static_assert(sizeof(struct smxb_req) == 32, "smxb_req is 32 bytes");
_Static_assert(sizeof(struct smxb_ack) == 8, "smxb_ack is 8 bytes");
_Static_assert(sizeof(struct smxb_report) == 32, "smxb_report is 32 bytes");

#define SMXB_HELLO_MAX 1024

uint64_t smxb_now_ns(void);
int smxb_parse_addr(const char *text, struct sockaddr_storage *ss, socklen_t *len);
/* A TLS 1.3 ClientHello like a browser's (512-byte record body) naming sni. */
size_t smxb_build_hello(uint8_t *out, size_t size, const char *sni);
int smxb_write_all(int fd, const void *buf, size_t len);
int smxb_read_all(int fd, void *buf, size_t len);

/* CPU time of every task on the machine (kernel threads included), from schedstat (ns). */
struct smxb_cpu_task {
	int tid;
	bool ours;	/* a kernel thread, or a process in one of the benchmark's namespaces */
	uint64_t ns;
};

struct smxb_cpu_snap {
	struct smxb_cpu_task *task;
	size_t n, cap;
	uint64_t wall_ns;
	uint64_t stat_busy_ticks;	/* /proc/stat: all CPUs, everything but idle and iowait */
	uint64_t stat_idle_ticks;	/* /proc/stat: idle + iowait, exact on a NO_HZ kernel */
};

/*
 * The benchmark's network namespaces, as paths (/run/netns/NAME), comma-separated. Without
 * it every task counts as ours.
 */
int smxb_cpu_set_own_ns(const char *paths);
int smxb_cpu_snap_take(struct smxb_cpu_snap *s);
/*
 * Seconds of CPU between two snapshots, tasks in both by difference, new tasks in full:
 * `ours` (kernel threads and the benchmark's processes) or the rest (other users' load).
 */
double smxb_cpu_snap_diff(const struct smxb_cpu_snap *a, const struct smxb_cpu_snap *b,
			  bool ours);
/* Tick-sampled busy columns of /proc/stat, in seconds (a cross-check only). */
double smxb_cpu_stat_diff(const struct smxb_cpu_snap *a, const struct smxb_cpu_snap *b);
/*
 * Every CPU's wall time minus its idle time, in seconds: all work on the machine, exited
 * processes and interrupts taken while idle included. What it holds beyond the benchmark's
 * own tasks is other users' load on the machine.
 */
double smxb_cpu_busy_diff(const struct smxb_cpu_snap *a, const struct smxb_cpu_snap *b);
void smxb_cpu_snap_free(struct smxb_cpu_snap *s);

/*
 * Memory not held by user space or the page cache, in KiB: MemTotal - MemFree - Buffers -
 * Cached - AnonPages. Socket buffers, skbs queued anywhere, slab, page tables all land here.
 */
struct smxb_mem {
	long kernel_kib;
	long avail_kib;
};

int smxb_mem_read(struct smxb_mem *m);

#endif /* SMXB_H */
