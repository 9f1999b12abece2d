// SPDX-License-Identifier: MIT
/*
 * listener.c - listening sockets. Every worker opens its own socket on each configured
 * address with SO_REUSEPORT, so the kernel spreads new connections over the workers.
 * "[::]:443" is IPv6-only (as nginx does), so that "0.0.0.0:443" can be listed beside it.
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

#define LISTEN_BACKLOG 4096

int listener_open(const struct sm_addr *addr)
{
	int fd, one = 1, err;
	int family = addr->ss.ss_family;

	fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0)
		goto out_close;
	if (family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0)
		goto out_close;
	if (bind(fd, (const struct sockaddr *)&addr->ss, addr->len) < 0)
		goto out_close;
	if (listen(fd, LISTEN_BACKLOG) < 0)
		goto out_close;
	return fd;

out_close:
	err = -errno;
	close(fd);
	return err;
}

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

		if (sd_is_socket(fd, AF_UNSPEC, SOCK_STREAM, 1) <= 0 ||
		    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0 ||
		    fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
			close(fd);
			continue;
		}
		(*fds)[kept++] = fd;
	}
	return kept;
}

int listener_find_inherited(const struct sm_addr *addr, const int *fds, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		struct sm_addr a;

		if (getsockname(fds[i], (struct sockaddr *)&ss, &len) < 0)
			continue;
		addr_from_sockaddr((const struct sockaddr *)&ss, len, &a);
		if (a.len == addr->len && !memcmp(&a.ss, &addr->ss, a.len))
			return (int)i;
	}
	return -1;
}

int listener_get(const struct sm_addr *addr, const int *fds, unsigned int n)
{
	int i = listener_find_inherited(addr, fds, n), fd;

	if (i < 0)
		return listener_open(addr);
	fd = fcntl(fds[i], F_DUPFD_CLOEXEC, 0);
	return fd < 0 ? -errno : fd;
}
