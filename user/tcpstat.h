/* SPDX-License-Identifier: MIT */
/*
 * tcpstat.h - byte counts the kernel keeps for a TCP socket, for the sockmap engine's
 * hand-over accounting. Measured on this kernel: tcpi_bytes_received counts a received FIN
 * as one byte; tcpi_bytes_acked counts the SYN on the connecting side; SIOCOUTQ counts a
 * queued FIN. Callers take a base at hand-off and compare differences.
 */
#ifndef SOCKMUX_TCPSTAT_H
#define SOCKMUX_TCPSTAT_H

#include <stdint.h>

/* Bytes this socket has received (FIN included), or -errno. */
int tcpstat_received(int fd, uint64_t *out);
/* Bytes written into this socket's send queue so far: acked + still queued; or -errno. */
int tcpstat_queued(int fd, uint64_t *out);

#endif
