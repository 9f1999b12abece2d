// SPDX-License-Identifier: MIT
/* tcpstat.c - TCP_INFO and SIOCOUTQ byte counters (see tcpstat.h). */
#include <errno.h>
#include <linux/sockios.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "tcpstat.h"

int tcpstat_queued(int fd, uint64_t *out)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);
	int outq;

	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0)
		return -errno;
	if (ioctl(fd, SIOCOUTQ, &outq) < 0)
		return -errno;
	*out = ti.tcpi_bytes_acked + (uint64_t)outq;
	return 0;
}

int tcpstat_acked(int fd, uint64_t *out)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0)
		return -errno;
	*out = ti.tcpi_bytes_acked;
	return 0;
}
