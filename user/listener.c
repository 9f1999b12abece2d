// SPDX-License-Identifier: MIT
/*
 * listener.c - where a listener's socket comes from: its transport opens one per worker
 * (transport.h), unless systemd passed one.
 *
 * Socket activation: sockets systemd passes (sd_listen_fds) stand for the configured
 * listener with the same address; every worker then gets a duplicate of that one socket.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "listener.h"
#include "transport.h"

int listener_inherit(int **fds)
{
	int n = sd_listen_fds(1), kept = 0;

	*fds = NULL;
	if (n <= 0)
		return n;
	*fds = calloc((size_t)n, sizeof(**fds));
	if (!*fds)
		return -ENOMEM;
	for (int i = 0; i < n; i++) {
		int fd = SD_LISTEN_FDS_START + i;

		/* a stream socket must be listening already; a datagram one is bound */
		if ((sd_is_socket(fd, AF_UNSPEC, SOCK_STREAM, 1) <= 0 &&
		     sd_is_socket(fd, AF_UNSPEC, SOCK_DGRAM, -1) <= 0) ||
		    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0 ||
		    fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
			close(fd);
			continue;
		}
		(*fds)[kept++] = fd;
	}
	return kept;
}

int listener_find_inherited(const struct config_listener *l, const int *fds, unsigned int n)
{
	const struct addr *addr = &l->addr;

	for (unsigned int i = 0; i < n; i++) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss), tlen = sizeof(int);
		struct addr a;
		int type;

		if (getsockopt(fds[i], SOL_SOCKET, SO_TYPE, &type, &tlen) < 0 ||
		    type != l->sock_type)
			continue;
		if (getsockname(fds[i], (struct sockaddr *)&ss, &len) < 0)
			continue;
		addr_from_sockaddr((const struct sockaddr *)&ss, len, &a);
		if (a.len == addr->len && !memcmp(&a.ss, &addr->ss, a.len))
			return (int)i;
	}
	return -1;
}

int listener_get(const struct config_listener *l, const struct transport *t, const int *fds,
		 unsigned int n)
{
	int i = listener_find_inherited(l, fds, n), fd;

	if (i < 0)
		return t->listen(&l->addr);
	fd = fcntl(fds[i], F_DUPFD_CLOEXEC, 0);
	return fd < 0 ? -errno : fd;
}
