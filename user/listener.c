// SPDX-License-Identifier: MIT
/*
 * listener.c - listening sockets. Every worker opens its own socket on each configured
 * address with SO_REUSEPORT, so the kernel spreads new connections over the workers.
 * "[::]:443" is IPv6-only (as nginx does), so that "0.0.0.0:443" can be listed beside it.
 */
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
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
