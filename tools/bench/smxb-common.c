// SPDX-License-Identifier: MIT
/*
 * smxb-common.c - helpers smxb-cli and smxb-srv share: clock, address parsing, a
 * browser-like ClientHello, whole-machine CPU time (every task's schedstat, kernel threads
 * included, so softirq and kworker work is counted wherever it ran) and kernel memory.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "smxb.h"

uint64_t smxb_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

int smxb_parse_addr(const char *text, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
	const char *colon;
	char host[128];

	memset(ss, 0, sizeof(*ss));
	if (text[0] == '[') {
		const char *end = strchr(text, ']');

		if (!end || end[1] != ':' || (size_t)(end - text - 1) >= sizeof(host))
			return -EINVAL;
		memcpy(host, text + 1, end - text - 1);
		host[end - text - 1] = 0;
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(atoi(end + 2));
		*len = sizeof(*in6);
		return inet_pton(AF_INET6, host, &in6->sin6_addr) == 1 ? 0 : -EINVAL;
	}
	colon = strrchr(text, ':');
	if (!colon || (size_t)(colon - text) >= sizeof(host))
		return -EINVAL;
	memcpy(host, text, colon - text);
	host[colon - text] = 0;
	in4->sin_family = AF_INET;
	in4->sin_port = htons(atoi(colon + 1));
	*len = sizeof(*in4);
	return inet_pton(AF_INET, host, &in4->sin_addr) == 1 ? 0 : -EINVAL;
}

int smxb_write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= n;
	}
	return 0;
}

int smxb_read_all(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = read(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -ECONNRESET;
		p += n;
		len -= n;
	}
	return 0;
}

struct wbuf {
	uint8_t *p;
	size_t n;
};

static void put8(struct wbuf *w, unsigned int v)
{
	w->p[w->n++] = v;
}

static void put16(struct wbuf *w, unsigned int v)
{
	put8(w, v >> 8);
	put8(w, v & 0xff);
}

static void put_bytes(struct wbuf *w, const void *b, size_t n)
{
	memcpy(w->p + w->n, b, n);
	w->n += n;
}

/* Patches a 16-bit length at offset `at` to cover everything written after it. */
static void patch16(struct wbuf *w, size_t at)
{
	size_t len = w->n - at - 2;

	w->p[at] = len >> 8;
	w->p[at + 1] = len & 0xff;
}

static void put_ext_sni(struct wbuf *w, const char *sni)
{
	size_t n = strlen(sni);

	put16(w, 0x0000);
	put16(w, n + 5);
	put16(w, n + 3);
	put8(w, 0);
	put16(w, n);
	put_bytes(w, sni, n);
}

static void put_ext_alpn(struct wbuf *w)
{
	static const char alpn[] = "\x02h2\x08http/1.1";

	put16(w, 0x0010);
	put16(w, sizeof(alpn) - 1 + 2);
	put16(w, sizeof(alpn) - 1);
	put_bytes(w, alpn, sizeof(alpn) - 1);
}

static void put_ext_list16(struct wbuf *w, unsigned int type, const uint16_t *v, size_t n)
{
	put16(w, type);
	put16(w, 2 * n + 2);
	put16(w, 2 * n);
	for (size_t i = 0; i < n; i++)
		put16(w, v[i]);
}

size_t smxb_build_hello(uint8_t *out, size_t size, const char *sni)
{
	static const uint16_t suites[] = { 0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c,
					   0xc030, 0xcca9, 0xcca8, 0xc013, 0xc014, 0x009c,
					   0x009d, 0x002f, 0x0035, 0x00ff };
	static const uint16_t groups[] = { 0x001d, 0x0017, 0x0018, 0x0019 };
	static const uint16_t sigalgs[] = { 0x0403, 0x0503, 0x0603, 0x0804, 0x0805,
					    0x0806, 0x0401, 0x0501, 0x0601 };
	struct wbuf w = { out, 0 };
	size_t ext_at, i;

	if (size < SMXB_HELLO_MAX || strlen(sni) > 255)
		return 0;
	put8(&w, 22);			/* record: handshake, TLS 1.0 on the record layer */
	put16(&w, 0x0301);
	put16(&w, 512);			/* record body: 512 bytes, as browsers pad it */
	put8(&w, 1);			/* ClientHello */
	put8(&w, 0);
	put16(&w, 508);
	put16(&w, 0x0303);
	for (i = 0; i < 32; i++)
		put8(&w, i * 37 + 11);	/* random */
	put8(&w, 32);
	for (i = 0; i < 32; i++)
		put8(&w, i * 13 + 5);	/* legacy session id */
	put16(&w, sizeof(suites));
	for (i = 0; i < sizeof(suites) / sizeof(suites[0]); i++)
		put16(&w, suites[i]);
	put8(&w, 1);
	put8(&w, 0);			/* compression: null */
	ext_at = w.n;
	put16(&w, 0);
	put_ext_sni(&w, sni);
	put16(&w, 0x000b);		/* ec_point_formats: uncompressed */
	put16(&w, 2);
	put8(&w, 1);
	put8(&w, 0);
	put_ext_list16(&w, 0x000a, groups, sizeof(groups) / sizeof(groups[0]));
	put16(&w, 0x0023);		/* session_ticket, empty */
	put16(&w, 0);
	put_ext_alpn(&w);
	put16(&w, 0x0016);		/* encrypt_then_mac */
	put16(&w, 0);
	put16(&w, 0x0017);		/* extended_master_secret */
	put16(&w, 0);
	put_ext_list16(&w, 0x000d, sigalgs, sizeof(sigalgs) / sizeof(sigalgs[0]));
	put16(&w, 0x002b);		/* supported_versions: TLS 1.3, 1.2 */
	put16(&w, 5);
	put8(&w, 4);
	put16(&w, 0x0304);
	put16(&w, 0x0303);
	put16(&w, 0x002d);		/* psk_key_exchange_modes: psk_dhe_ke */
	put16(&w, 2);
	put8(&w, 1);
	put8(&w, 1);
	put16(&w, 0x0033);		/* key_share: one x25519 share */
	put16(&w, 38);
	put16(&w, 36);
	put16(&w, 0x001d);
	put16(&w, 32);
	for (i = 0; i < 32; i++)
		put8(&w, i * 29 + 3);
	if (w.n + 4 > 5 + 512)
		return 0;
	put16(&w, 0x0015);		/* padding up to the 512-byte record body */
	put16(&w, 5 + 512 - w.n - 2);
	while (w.n < 5 + 512)
		put8(&w, 0);
	patch16(&w, ext_at);
	return w.n;
}

static int read_small(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	return 0;
}

#define PF_KTHREAD 0x00200000
#define MAX_OWN_NS 16

static unsigned long g_own_ns[MAX_OWN_NS];
static int g_n_own_ns;

int smxb_cpu_set_own_ns(const char *paths)
{
	char *copy = strdup(paths), *save = NULL, *p;
	struct stat st;

	if (!copy)
		return -ENOMEM;
	for (p = strtok_r(copy, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
		if (g_n_own_ns == MAX_OWN_NS || stat(p, &st)) {
			free(copy);
			return -EINVAL;
		}
		g_own_ns[g_n_own_ns++] = st.st_ino;
	}
	free(copy);
	return 0;
}

/* A kernel thread, or a process in one of the benchmark's namespaces. */
static bool process_is_ours(const char *pid)
{
	char path[64], buf[1024], *p;
	unsigned long flags = 0, ino;
	ssize_t n;

	if (!g_n_own_ns)
		return true;
	snprintf(path, sizeof(path), "/proc/%s/stat", pid);
	if (read_small(path, buf, sizeof(buf)))
		return false;
	p = strrchr(buf, ')');
	/* after "pid (comm)": state ppid pgrp session tty_nr tpgid flags */
	if (p && sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %lu", &flags) == 1 &&
	    (flags & PF_KTHREAD))
		return true;
	snprintf(path, sizeof(path), "/proc/%s/ns/net", pid);
	n = readlink(path, buf, sizeof(buf) - 1);
	if (n <= 0)
		return false;
	buf[n] = 0;
	if (sscanf(buf, "net:[%lu]", &ino) != 1)
		return false;
	for (int i = 0; i < g_n_own_ns; i++)
		if (g_own_ns[i] == ino)
			return true;
	return false;
}

static int snap_add(struct smxb_cpu_snap *s, int tid, bool ours, uint64_t ns)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 1024;
		struct smxb_cpu_task *t = realloc(s->task, cap * sizeof(*t));

		if (!t)
			return -ENOMEM;
		s->task = t;
		s->cap = cap;
	}
	s->task[s->n].tid = tid;
	s->task[s->n].ours = ours;
	s->task[s->n].ns = ns;
	s->n++;
	return 0;
}

static int cmp_tid(const void *a, const void *b)
{
	const struct smxb_cpu_task *x = a, *y = b;

	return (x->tid > y->tid) - (x->tid < y->tid);
}

static int snap_process(struct smxb_cpu_snap *s, const char *pid)
{
	char path[300], buf[128];
	bool ours = process_is_ours(pid);
	struct dirent *de;
	DIR *d;
	int err = 0;

	snprintf(path, sizeof(path), "/proc/%s/task", pid);
	d = opendir(path);
	if (!d)
		return 0;	/* exited meanwhile */
	while ((de = readdir(d))) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/task/%s/schedstat", pid, de->d_name);
		if (read_small(path, buf, sizeof(buf)))
			continue;
		err = snap_add(s, atoi(de->d_name), ours, strtoull(buf, NULL, 10));
		if (err)
			break;
	}
	closedir(d);
	return err;
}

static void stat_ticks(struct smxb_cpu_snap *s)
{
	unsigned long long v[10] = { 0 };
	char buf[512];

	s->stat_busy_ticks = s->stat_idle_ticks = 0;
	if (read_small("/proc/stat", buf, sizeof(buf)))
		return;
	/* cpu user nice system idle iowait irq softirq steal guest guest_nice */
	if (sscanf(buf, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2],
		   &v[3], &v[4], &v[5], &v[6], &v[7]) != 8)
		return;
	s->stat_busy_ticks = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
	s->stat_idle_ticks = v[3] + v[4];
}

int smxb_cpu_snap_take(struct smxb_cpu_snap *s)
{
	struct dirent *de;
	DIR *d = opendir("/proc");
	int err = 0;

	if (!d)
		return -errno;
	s->n = 0;
	while ((de = readdir(d))) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		err = snap_process(s, de->d_name);
		if (err)
			break;
	}
	closedir(d);
	qsort(s->task, s->n, sizeof(*s->task), cmp_tid);
	stat_ticks(s);
	s->wall_ns = smxb_now_ns();
	return err;
}

double smxb_cpu_snap_diff(const struct smxb_cpu_snap *a, const struct smxb_cpu_snap *b,
			  bool ours)
{
	uint64_t sum = 0;
	size_t i = 0, j;

	for (j = 0; j < b->n; j++) {
		if (b->task[j].ours != ours)
			continue;
		while (i < a->n && a->task[i].tid < b->task[j].tid)
			i++;
		if (i < a->n && a->task[i].tid == b->task[j].tid) {
			if (b->task[j].ns > a->task[i].ns)
				sum += b->task[j].ns - a->task[i].ns;
		} else {
			sum += b->task[j].ns;
		}
	}
	return sum / 1e9;
}

double smxb_cpu_stat_diff(const struct smxb_cpu_snap *a, const struct smxb_cpu_snap *b)
{
	long hz = sysconf(_SC_CLK_TCK);

	return (double)(b->stat_busy_ticks - a->stat_busy_ticks) / (hz > 0 ? hz : 100);
}

double smxb_cpu_busy_diff(const struct smxb_cpu_snap *a, const struct smxb_cpu_snap *b)
{
	long hz = sysconf(_SC_CLK_TCK), ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	double idle = (double)(b->stat_idle_ticks - a->stat_idle_ticks) / (hz > 0 ? hz : 100);

	return (b->wall_ns - a->wall_ns) / 1e9 * (ncpu > 0 ? ncpu : 1) - idle;
}

void smxb_cpu_snap_free(struct smxb_cpu_snap *s)
{
	free(s->task);
	s->task = NULL;
	s->n = s->cap = 0;
}

int smxb_mem_read(struct smxb_mem *m)
{
	long total = -1, mfree = -1, buffers = -1, cached = -1, anon = -1, avail = -1;
	char buf[8192], *line, *save = NULL;
	int err = read_small("/proc/meminfo", buf, sizeof(buf));

	if (err)
		return err;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		long v;
		char key[64];

		if (sscanf(line, "%63[^:]: %ld", key, &v) != 2)
			continue;
		if (!strcmp(key, "MemTotal"))
			total = v;
		else if (!strcmp(key, "MemFree"))
			mfree = v;
		else if (!strcmp(key, "Buffers"))
			buffers = v;
		else if (!strcmp(key, "Cached"))
			cached = v;
		else if (!strcmp(key, "AnonPages"))
			anon = v;
		else if (!strcmp(key, "MemAvailable"))
			avail = v;
	}
	if (total < 0 || mfree < 0 || buffers < 0 || cached < 0 || anon < 0 || avail < 0)
		return -EINVAL;
	m->kernel_kib = total - mfree - buffers - cached - anon;
	m->avail_kib = avail;
	return 0;
}
