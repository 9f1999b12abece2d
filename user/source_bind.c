// SPDX-License-Identifier: MIT
/* source_bind.c - connecting a server from one of its source addresses (see source_bind.h). */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "source_bind.h"
#include "transparent.h"

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

size_t source_bind_count(const struct config_source *src, int family)
{
	size_t i, n = 0;

	for (i = 0; i < src->n; i++)
		n += src->addr[i].ss.ss_family == family;
	return n;
}

int source_bind_nth(const struct config_source *src, int family, unsigned int turn,
		    unsigned int k)
{
	size_t m = source_bind_count(src, family), want, i;

	if (k >= m)
		return -1;
	want = (turn % m + k) % m;
	for (i = 0; i < src->n; i++) {
		if (src->addr[i].ss.ss_family != family)
			continue;
		if (!want--)
			return (int)i;
	}
	return -1;
}

/* A new non-blocking socket bound to a (port 0, the port chosen at connect) in *fd. */
static int bound_socket(const struct addr *a, int *fd)
{
	int s, one = 1, err;

	s = socket(a->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (setsockopt(s, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one)) < 0 ||
	    bind(s, (const struct sockaddr *)&a->ss, a->len) < 0) {
		err = -errno;
		goto out_close;
	}
	*fd = s;
	return 0;
out_close:
	close(s);
	return err;
}

/* Why no address of the list would do: some gone from the host, some out of ports. */
static const char *none_left(unsigned int gone, unsigned int full)
{
	if (gone && full)
		return "source: every address of the server's family is gone from the host or "
		       "out of ports to this server";
	if (full)
		return "source: every address of the server's family is out of ports to this "
		       "server";
	return "source: no address of the server's family can be bound (gone from the host?)";
}

int source_bind_connect(const struct config_source *src, const struct addr *dst,
			unsigned int turn, int *fd, struct source_bind_result *res)
{
	unsigned int k, gone = 0, full = 0;
	struct addr to;
	int i, s = -1, err;

	*fd = -1;
	res->used = -1;
	res->detail = NULL;
	res->internal = false;
	transparent_unmap((const struct sockaddr *)&dst->ss, &to);
	for (k = 0; (i = source_bind_nth(src, to.ss.ss_family, turn, k)) >= 0; k++) {
		err = bound_socket(&src->addr[i], &s);
		if (err == -EMFILE || err == -ENFILE || err == -ENOMEM || err == -ENOBUFS) {
			res->detail = strerror(-err);
			res->internal = true;
			return err;
		}
		if (err) {
			/* EADDRNOTAVAIL: no longer the host's; anything else: not bindable */
			gone++;
			continue;
		}
		err = connect(s, (const struct sockaddr *)&to.ss, to.len) < 0 ? -errno : 0;
		if (!err || err == -EINPROGRESS) {
			*fd = s;
			res->used = i;
			return err;
		}
		close(s);
		if (err != -EADDRNOTAVAIL && err != -EADDRINUSE) {
			/* the server's own failure (unreachable): the next server, not source */
			res->used = i;
			res->detail = strerror(-err);
			return err;
		}
		/* no port left from this address towards dst */
		full++;
	}
	res->detail = none_left(gone, full);
	return -EADDRNOTAVAIL;
}
