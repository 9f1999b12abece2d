/* SPDX-License-Identifier: MIT */
/*
 * sniff.h - what a connection's first bytes say, one sniffer per protocol behind one
 * interface (caddy-l4's model): given the bytes peeked so far, a sniffer answers "need more",
 * "not mine", "mine" (with what the client asked for) or "mine but malformed". The handshake
 * runs the table (sniffers.c) and routes on the result; it knows no protocol.
 *
 * Sniffers are pure: no I/O, no allocation, no logging; each is unit-tested and fuzzed.
 */
#ifndef SOCKMUX_SNIFF_H
#define SOCKMUX_SNIFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hostname.h"
#include "sniff/tls_hello.h"

enum sniff_status {
	SNIFF_NEED_MORE,	/* could still be this protocol: wait for more bytes */
	SNIFF_NO,		/* not this protocol */
	SNIFF_OK,		/* this protocol; the result is filled in */
	SNIFF_BAD,		/* this protocol, malformed: result.error says how */
};

/* What a connection opens with: its `protocol = [...]` name is the sniffer's. */
enum sniff_proto {
	PROTO_UNKNOWN = 0,	/* "unknown": no sniffer recognised the bytes */
	PROTO_TIMEOUT,		/* "timeout": no byte within probe_ms (the handshake's) */
	PROTO_TLS,		/* a TLS ClientHello */
	PROTO_SSH,		/* an SSH identification string (RFC 4253 4.2) */
	PROTO_HTTP,		/* an HTTP/1.x request line and headers */
	PROTO_XMPP,		/* an XML stream header, jabber:client or jabber:server */
	PROTO_OPENVPN,		/* OpenVPN over TCP: P_CONTROL_HARD_RESET_CLIENT */
	PROTO_SOCKS5,		/* a SOCKS5 greeting (RFC 1928) */
	PROTO_SOCKS4,		/* a SOCKS4 or 4a request */
	PROTO__COUNT,
};

struct sniff_result {
	enum sniff_proto proto;
	const char *error;		/* SNIFF_BAD: static text for the log line */
	const char *name;		/* the host name the client asked for (TLS: SNI),
					 * lowercased, no trailing dot; NULL: none */
	size_t name_len;
	const uint8_t *alpn;		/* TLS: the client's protocol_name_list (wire format,
					 * pointing into tls below), NULL: none */
	size_t alpn_len;
	uint32_t maybe;			/* SNIFF_NEED_MORE: 1 << proto for every protocol whose
					 * sniffer still waits for more bytes */
	bool ech;			/* TLS: the hello carries encrypted_client_hello (the
					 * name is then its outer SNI) */
	union {
		struct tls_hello tls;	/* PROTO_TLS: the whole parsed ClientHello */
		char host[HOSTNAME_MAX + 1];	/* other sniffers: the name points here */
	} u;
};

struct sniffer {
	const char *name;		/* as in the log and, later, in routes */
	enum sniff_proto proto;
	/*
	 * The len bytes at buf are all the connection sent so far, from its first; out is all
	 * zero (sniff() clears it). Only what the verdict needs is read, never a byte past len
	 * nor past the sniffer's cap, and on a prefix of any input the verdict is
	 * SNIFF_NEED_MORE or the verdict on the whole: each sniffer decides at one byte and
	 * never looks further.
	 */
	enum sniff_status (*parse)(const uint8_t *buf, size_t len, struct sniff_result *out);
};

/*
 * Runs the sniffers over the len bytes at buf: SNIFF_OK or SNIFF_BAD from the first that
 * claims them (in table order), else SNIFF_NEED_MORE while any might still (out->maybe says
 * which), else SNIFF_NO (out->proto PROTO_UNKNOWN).
 */
enum sniff_status sniff(const uint8_t *buf, size_t len, struct sniff_result *out);
/*
 * For sniffers: keeps the len bytes at raw as out's name when they are a host name by
 * hostname.h's rule (lowercased, trailing dot dropped, in out->u.host) and returns true;
 * otherwise leaves out without a name and returns false.
 */
bool sniff_set_name(struct sniff_result *out, const char *raw, size_t len);
/* The name of a protocol, as in the log and in routes: "tls", "ssh", "unknown", "timeout". */
const char *sniff_proto_name(enum sniff_proto proto);
/* The protocol of that name (as in routes), or -1. */
int sniff_proto_by_name(const char *name);

#endif
