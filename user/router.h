/* SPDX-License-Identifier: MIT */
/*
 * router.h - pick the route for a connection: pure, no I/O, no allocation.
 *
 * Routes are tried in order; the first whose every condition holds wins:
 *   listener: the connection arrived on a listener with one of the listed names;
 *   protocol: its first bytes are one of the listed protocols (sniff/sniff.h), "unknown"
 *             when no sniffer recognised them, "timeout" when no byte came within probe_ms;
 *   sni:      TLS, and the hello's host name equals an exact entry or lies under a
 *             "*.suffix" entry (strictly below it: "*.example.org" does not match
 *             "example.org");
 *   host:     the name the client asked for (TLS SNI, HTTP Host, XMPP to), by the same rules;
 *   alpn:     TLS, and the client offered at least one of the listed protocols;
 *   regex:    the first bytes match (route_regex.h);
 *   source:   the client address lies in one of the listed prefixes.
 * A connection without a name fails every sni and host condition, and one without ALPN (or
 * not TLS) fails every alpn condition.
 *
 * The decision is made as soon as no earlier route can still match: while the sniffers wait
 * for more bytes (route_input.pending), a condition on them may be "not known yet", and a
 * route is taken only once every route before it is known not to match. A route that needs
 * no byte at all (listener, source, none) is taken at once.
 */
#ifndef SOCKMUX_ROUTER_H
#define SOCKMUX_ROUTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "config.h"
#include "route_regex.h"
#include "sniff/sniff.h"

/* What the sniffers found in the connection's first bytes (sniff/sniff.h), and who sent them. */
struct route_input {
	enum sniff_proto proto;		/* PROTO_UNKNOWN: no sniffer recognised the bytes */
	bool pending;			/* the sniffers wait for more bytes: proto, name and
					 * alpn are not known yet; maybe says which protocols
					 * the bytes may still turn out to be */
	uint32_t maybe;			/* pending: 1 << proto of each sniffer still waiting */
	const char *listener;		/* the name of the listener it came on; NULL: none */
	const uint8_t *data;		/* the first bytes (for regex); len 0: none yet */
	size_t len;
	bool final;			/* no more bytes will come before the decision (the
					 * client's EOF): a partial regex match is no match */
	pcre2_match_data *md;		/* this thread's, for regex conditions */
	const char *name;		/* the host name asked for (TLS: SNI); NULL: none; else
					 * lowercased, no trailing dot */
	const uint8_t *alpn;		/* client's protocol_name_list (wire format), or NULL */
	size_t alpn_len;
	const struct sockaddr *src;	/* client address, or NULL when unknown */
};

struct route_result {
	long route;		/* index of the winning route, -1 if none */
	const char *alpn;	/* the alpn entry of the route that matched, or NULL */
	size_t alpn_len;
};

/*
 * Returns the index of the first matching route; -ENOENT when none matches; -EAGAIN when a
 * route before any matching one may still match once more bytes come (in->pending, or a
 * regex's partial match). Fills *res if non-NULL. With an alpn condition, res->alpn is the
 * first entry of the route's list (in the route's order) that the client offered. A
 * malformed ALPN list (an empty name, a length past alpn_len) counts as no ALPN; it is never
 * read past alpn_len.
 */
long router_match(const struct config *cfg, const struct route_input *in,
		  struct route_result *res);

/*
 * Explain in words why route i (from 0) does or does not match in (for `sockmux route`, with
 * in not pending): writes
 * one line, routes numbered from 1, client strings escaped, such as
 *	#1 (line 8): sni "a.example.org" matches "*.example.org"; alpn [h2,http/1.1] not in
 *	[xmpp-client] -> no match
 * (on one line) or "#3 (line 11): no condition (default route) -> match" into buf
 * (truncated to size) and returns whether the route matches, exactly as router_match() decides.
 */
bool router_explain(const struct config *cfg, size_t i, const struct route_input *in,
		    char *buf, size_t size);

/* True when host (lowercased, no trailing dot) matches the pattern. */
bool router_sni_match(const struct config_sni_pattern *p, const char *host);

#endif
