/* SPDX-License-Identifier: MIT */
/*
 * proxy_proto.h - the PROXY protocol, versions 1 and 2 (HAProxy's doc/proxy-protocol.txt):
 * the header sockmux writes to a backend before the client's bytes, and the header a load
 * balancer in front of sockmux writes before its client's.
 *
 * Pure: no I/O, no allocation, no logging. pp_parse() is given every byte received on the
 * connection so far, from the first one, like tls_hello_parse(); on a prefix of any input it
 * returns PP_NEED_MORE or the result on the whole input, so it may be called again as bytes
 * trickle in. It never guesses: input that is neither a v1 nor a v2 header is PP_BAD.
 *
 * v1 ("PROXY TCP4 192.0.2.7 198.51.100.1 51000 443\r\n"): CRLF within 107 bytes, fields
 * separated by single spaces, both addresses of the protocol's family, ports 0..65535;
 * "PROXY UNKNOWN ...\r\n" is accepted and carries no address.
 * v2 (binary): version 2, command LOCAL or PROXY, a known family and transport, a length of
 * at most PP2_MAX_PAYLOAD that holds the family's address block; the TLVs after it are walked
 * within that length, and a CRC32C TLV is verified. LOCAL, and PROXY with the UNSPEC or UNIX
 * family, carry no address the receiver uses. Bytes after the header are never looked at.
 */
#ifndef SOCKMUX_PROXY_PROTO_H
#define SOCKMUX_PROXY_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "addr.h"

/* Longest v1 header, CRLF included (the spec's limit). */
#define PP1_MAX_LEN 107
/* v2: signature, version and command, family and transport, length. */
#define PP2_HDR_LEN 16
/* Largest v2 length field accepted (address block and TLVs); the spec allows 65535. */
#define PP2_MAX_PAYLOAD 4096
/* Longest header pp_parse() accepts, either version. */
#define PP_MAX_LEN (PP2_HDR_LEN + PP2_MAX_PAYLOAD)
/* Longest PP2_TYPE_UNIQUE_ID value (the spec's limit). */
#define PP2_UNIQUE_ID_MAX 128

/* v2 TLV types sockmux writes or reads. */
#define PP2_TYPE_ALPN 0x01
#define PP2_TYPE_AUTHORITY 0x02
#define PP2_TYPE_CRC32C 0x03
#define PP2_TYPE_NOOP 0x04
#define PP2_TYPE_UNIQUE_ID 0x05

enum pp_status {
	PP_OK = 0,	/* a complete, valid header of out->len bytes */
	PP_NEED_MORE,	/* valid so far, incomplete: call again with more bytes */
	PP_BAD,		/* not a PROXY header, or a malformed one: out->error says why */
};

struct pp_header {
	unsigned int version;		/* 1 or 2 */
	size_t len;			/* header bytes: the connection's own bytes start after */
	bool local;			/* v2 LOCAL command (a health check, say) */
	/* false for v1 UNKNOWN, v2 LOCAL, v2 UNSPEC or UNIX: use the connection's addresses */
	bool has_addr;
	struct addr src, dst;	/* client and the address it connected to, same family */
	/* v2 TLVs, pointing into the parsed buffer; NULL when absent */
	const uint8_t *authority;
	size_t authority_len;
	const uint8_t *alpn;
	size_t alpn_len;
	const uint8_t *unique_id;
	size_t unique_id_len;
	bool crc32c;			/* a CRC32C TLV was present (and matched) */
	const char *error;		/* PP_BAD: a short static reason; NULL otherwise */
};

/*
 * buf holds the len bytes received so far, from the first one. out is always filled: with
 * anything but PP_OK, it is all zero but for error.
 */
enum pp_status pp_parse(const uint8_t *buf, size_t len, struct pp_header *out);

/* Short name of a status ("ok", "need-more", "bad"). */
const char *pp_status_str(enum pp_status st);

/*
 * What a v2 header sockmux sends carries besides the addresses; a NULL or empty value is
 * left out.
 */
struct pp2_tlvs {
	const uint8_t *alpn;		/* PP2_TYPE_ALPN: one protocol name */
	size_t alpn_len;
	const char *authority;		/* PP2_TYPE_AUTHORITY: the SNI */
	size_t authority_len;
	const char *unique_id;		/* PP2_TYPE_UNIQUE_ID, at most PP2_UNIQUE_ID_MAX bytes */
	size_t unique_id_len;
	bool crc32c;			/* append a PP2_TYPE_CRC32C over the whole header */
};

/*
 * Write the header announcing a connection from src to dst (AF_INET or AF_INET6, ports
 * included) into buf (size bytes) and its length into *len. Both addresses of a header have
 * one family: TCP4 when both are IPv4 or IPv4-mapped IPv6 (::ffff:a.b.c.d, as a dual-stack
 * socket reports an IPv4 peer), written in IPv4 form; TCP6 otherwise, an IPv4 one written in
 * its mapped form. Returns 0, -EAFNOSUPPORT, -ENOSPC (buf too small) or, for v2, -EINVAL
 * (a unique id over PP2_UNIQUE_ID_MAX bytes, a value over 65535 bytes).
 */
int pp1_encode(const struct sockaddr *src, const struct sockaddr *dst, uint8_t *buf,
	       size_t size, size_t *len);
/* v2 with command PROXY, transport STREAM, then TLVs: ALPN, AUTHORITY, UNIQUE_ID, CRC32C. */
int pp2_encode(const struct sockaddr *src, const struct sockaddr *dst,
	       const struct pp2_tlvs *tlvs, uint8_t *buf, size_t size, size_t *len);

/*
 * The header of a connection that relays no client, a health check's: v1 "PROXY UNKNOWN\r\n",
 * v2 command LOCAL with no address (the receiver uses the connection's own). 0, -EINVAL (a
 * version other than 1 or 2) or -ENOSPC.
 */
int pp_encode_local(unsigned int version, uint8_t *buf, size_t size, size_t *len);

/* CRC32C (Castagnoli, RFC 4960 appendix B) of len bytes, as a v2 header's CRC32C TLV holds. */
uint32_t pp_crc32c(const uint8_t *buf, size_t len);

#endif
