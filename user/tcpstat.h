/* SPDX-License-Identifier: MIT */
/*
 * tcpstat.h - byte counts the kernel keeps for a TCP socket: the sockmap engine's hand-over
 * accounting, and the progress of the last bytes before a reset (worker.c). Measured on this kernel: tcpi_bytes_acked counts the SYN on the
 * connecting side; SIOCOUTQ counts a queued FIN. The verdict program takes the same sum from
 * the peer's tcp_sock as a base (bpf/sockmap.bpf.c, peer_entered()); callers compare
 * differences.
 */
#ifndef SOCKMUX_TCPSTAT_H
#define SOCKMUX_TCPSTAT_H

#include <stdint.h>

/* Bytes written into this socket's send queue so far: acked + still queued; or -errno. */
int tcpstat_queued(int fd, uint64_t *out);
/* Bytes of this socket's peer acknowledged so far (tcpi_bytes_acked); 0 or -errno. */
int tcpstat_acked(int fd, uint64_t *out);

#endif
