// SPDX-License-Identifier: MIT
/*
 * hello.c - a connection's first bytes, up to its route (hello.h): a PROXY header on
 * accept_proxy listeners, then the sniffers (sniff/sniff.h), then the router, again whenever
 * more bytes arrive, until no earlier route can still match. A route that needs no byte is
 * taken at accept; a client silent for probe_ms is protocol "timeout".
 *
 * The first bytes are read with MSG_PEEK into the worker's buffer and parsed again from byte 0
 * whenever more arrive, so no per-connection buffer exists and no byte is taken off the
 * socket: after the hand-off the engine carries them on like any other byte, in order. A
 * PROXY header in front of them is peeked and parsed the same way, the first bytes behind it.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "clock.h"
#include "config.h"
#include "config_gen.h"
#include "conn.h"
#include "escape.h"
#include "handshake.h"
#include "hello.h"
#include "proxy_proto.h"
#include "router.h"
#include "sniff/sniff.h"
#include "worker.h"

static char *escaped_dup(const uint8_t *s, size_t len)
{
	char buf[4 * TLS_SNI_MAX + 8];

	return strdup(escape_bytes(s, len, buf, sizeof(buf)));
}

/*
 * Peeks at the client's first bytes (up to w->peek) into w->peek: their count, or 0 when
 * none is queued yet, or -1 when c was ended (the client left).
 */
static ssize_t peek_client(struct worker *w, struct conn *c)
{
	ssize_t n;

	n = recv(c->fd[0], w->peek, sizeof(w->peek), MSG_PEEK);
	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return 0;
		c->err = errno;
		c->detail = strerror(errno);
		worker_conn_end(w, c, END_CLIENT_CLOSED);
		return -1;
	}
	if (n == 0) {
		c->detail = c->fail.side == 0 ? "reset before sending anything" :
						 "closed before sending anything";
		worker_conn_end(w, c, END_CLIENT_CLOSED);
		return -1;
	}
	return n;
}

/*
 * accept_proxy listener: parses the PROXY header at the start of the n bytes peeked (the
 * peer was found trusted at accept). From then on the header's source is the client: in
 * routing, in the header sent on and in the log line. Returns 0 once parsed
 * (c->pp_in_len set), -EAGAIN while incomplete, -EPROTO when c was ended.
 */
static int parse_proxy_header(struct worker *w, struct conn *c, size_t n, uint32_t events)
{
	struct pp_header ph;

	switch (pp_parse(w->peek, n, &ph)) {
	case PP_OK:
		break;
	case PP_BAD:
		c->detail = ph.error;
		worker_conn_end(w, c, END_BAD_PROXY);
		return -EPROTO;
	case PP_NEED_MORE:
		if (events & (EPOLLRDHUP | EPOLLHUP)) {
			c->detail = "PROXY header cut short by EOF";
			worker_conn_end(w, c, END_BAD_PROXY);
			return -EPROTO;
		}
		return -EAGAIN;
	}
	c->pp_in_len = (uint32_t)ph.len;
	if (ph.has_addr) {
		c->proxied = malloc(sizeof(*c->proxied));
		if (!c->proxied) {
			c->err = ENOMEM;
			c->detail = strerror(ENOMEM);
			worker_conn_end(w, c, END_INTERNAL);
			return -EPROTO;
		}
		c->proxied->via = c->client;
		c->proxied->dst = ph.dst;
		c->client = ph.src;
	}
	/* the client is known now: max_connections_per_source counts it */
	if (!worker_count_source(w, c))
		return -EPROTO;
	return 0;
}

/* The first bytes came, or probe_ms passed: protocol "timeout" is out of the question. */
static void stop_probing(struct worker *w, struct conn *c)
{
	c->probing = false;
	list_del(&c->probe_link);
}

/* What c's first bytes said, kept for the log line and the PROXY header; false: no memory. */
static bool keep_names(struct conn *c, const struct sniff_result *sr)
{
	char alpn[512];

	c->sniffed = true;
	c->proto = sr->proto;
	c->ech = sr->ech;
	if (sr->name && !c->host)
		c->host = escaped_dup((const uint8_t *)sr->name, sr->name_len);
	if (sr->alpn && !c->alpn)
		c->alpn = strdup(escape_alpn_list(sr->alpn, sr->alpn_len, alpn, sizeof(alpn)));
	return (!sr->name || c->host) && (!sr->alpn || c->alpn);
}

/* The route for input in, if one is decided: connects, or ends c. False: wait for more. */
static bool decide(struct worker *w, struct conn *c, const struct route_input *in,
		   const struct sniff_result *sr)
{
	struct route_result res;
	long r = router_match(&c->gen->cfg, in, &res);

	if (r == -EAGAIN)
		return false;
	if (sr && !keep_names(c, sr)) {
		c->err = ENOMEM;
		c->detail = strerror(ENOMEM);
		worker_conn_end(w, c, END_INTERNAL);
		return true;
	}
	if (r < 0) {
		/* not_tls: bytes no sniffer knows; no_route: a known protocol, or nothing read
		 * yet (no route applies to the listener) */
		worker_conn_end(w, c, sr && sr->proto == PROTO_UNKNOWN ? END_NOT_TLS : END_NO_ROUTE);
		return true;
	}
	/* routed: off the probing list (a route taken at accept leaves it before any byte) */
	if (c->probing)
		stop_probing(w, c);
	handshake_connect(w, c, &res, sr);
	return true;
}

static void input_init(struct route_input *in, struct worker *w, const struct conn *c)
{
	memset(in, 0, sizeof(*in));
	in->listener = c->gen->cfg.listeners[c->listener].name;
	in->src = (const struct sockaddr *)&c->client.ss;
	in->md = w->regex_md;
}

/* Before any byte of the client's own: a route that needs none is taken. True if decided. */
static bool look_before_bytes(struct worker *w, struct conn *c)
{
	struct sniff_result sr;
	struct route_input in;

	input_init(&in, w, c);
	in.pending = true;
	sniff(NULL, 0, &sr);
	in.maybe = sr.maybe;
	return decide(w, c, &in, NULL);
}

void hello_first_look(struct worker *w, struct conn *c)
{
	/* on an accept_proxy listener the client is known from its PROXY header only: the
	 * look is taken once the header is read (hello_event()) */
	if (!c->gen->cfg.listeners[c->listener].accept_proxy)
		look_before_bytes(w, c);
}

/* Ends c whose first bytes cannot be complete any more; false when they still may be. */
static bool cut_short(struct worker *w, struct conn *c, size_t n, uint32_t events)
{
	if (n >= sizeof(w->peek)) {
		c->detail = "first bytes too large to recognise";
		worker_conn_end(w, c, END_BAD_HELLO);
	} else if (c->fail.side == 0) {
		c->detail = "reset before the first bytes were complete";
		worker_conn_end(w, c, END_CLIENT_CLOSED);
	} else if (events & (EPOLLRDHUP | EPOLLHUP)) {
		c->detail = "first bytes cut short by EOF";
		worker_conn_end(w, c, END_BAD_HELLO);
	} else {
		return false;
	}
	return true;
}

/* The client sent its FIN after these bytes (and no reset): no more will come. */
static bool eof_ends_them(const struct conn *c, size_t n, uint32_t events)
{
	return (events & (EPOLLRDHUP | EPOLLHUP)) && c->fail.side != 0 && n < TLS_HELLO_MAX_RAW;
}

/* Routes on the len first bytes at data (after any PROXY header), or waits for more. */
static void sniff_and_decide(struct worker *w, struct conn *c, const uint8_t *data, size_t len,
			     size_t n, uint32_t events)
{
	struct sniff_result sr;
	struct route_input in;

	input_init(&in, w, c);
	in.data = data;
	in.len = len;
	switch (sniff(data, len, &sr)) {
	case SNIFF_BAD:
		c->sniffed = true;
		c->proto = sr.proto;
		c->detail = sr.error;
		worker_conn_end(w, c, END_BAD_HELLO);
		return;
	case SNIFF_NEED_MORE:
		if (eof_ends_them(c, n, events)) {
			/* what a direct connection would deliver: bytes no sniffer completed */
			memset(&sr, 0, sizeof(sr));
			break;
		}
		in.pending = true;
		in.maybe = sr.maybe;
		if (!decide(w, c, &in, NULL))
			cut_short(w, c, n, events);
		return;
	case SNIFF_OK:
	case SNIFF_NO:
		break;
	}
	in.final = eof_ends_them(c, n, events);
	in.proto = sr.proto;
	in.name = sr.name;
	in.alpn = sr.alpn;
	in.alpn_len = sr.alpn_len;
	/* a regex still partly matching waits for more bytes, as long as they can come */
	if (!decide(w, c, &in, &sr))
		cut_short(w, c, n, events);
}

void hello_event(struct worker *w, struct conn *c, uint32_t events)
{
	struct sniff_result sr;
	struct route_input in;
	ssize_t n;

	/* A reset: the bytes that came before it are still routed and carried, then the reset
	 * is passed on (worker_conn_fail()); first bytes cut short by it end here. */
	if (events & EPOLLERR) {
		worker_conn_fail(w, c, 0, 0);
		events |= EPOLLRDHUP;
	}
	n = peek_client(w, c);
	if (n < 0)
		return;
	if (c->gen->cfg.listeners[c->listener].accept_proxy && !c->pp_in_len) {
		/* no header yet at probe_ms: silence is measured behind the header only */
		if (!n && c->probing && now_ns() >= c->probe_ns)
			stop_probing(w, c);
		if (!n || parse_proxy_header(w, c, (size_t)n, events))
			return;
		/* the client is known now: a route that needs no more byte is taken at once,
		 * not after probe_ms of silence (a server that speaks first, say) */
		if ((size_t)n == c->pp_in_len && !(events & (EPOLLRDHUP | EPOLLHUP)) &&
		    look_before_bytes(w, c))
			return;
	}
	if ((size_t)n > c->pp_in_len) {
		if (c->probing)
			stop_probing(w, c);
		sniff_and_decide(w, c, w->peek + c->pp_in_len, (size_t)n - c->pp_in_len,
				 (size_t)n, events);
		return;
	}
	/* nothing yet (after the PROXY header, if any) */
	if (n && (events & (EPOLLRDHUP | EPOLLHUP))) {
		c->detail = "closed after the PROXY header";
		worker_conn_end(w, c, END_CLIENT_CLOSED);
		return;
	}
	if (!c->probing || now_ns() < c->probe_ns)
		return;
	/* silent for probe_ms: protocol "timeout" */
	input_init(&in, w, c);
	in.proto = PROTO_TIMEOUT;
	memset(&sr, 0, sizeof(sr));
	sr.proto = PROTO_TIMEOUT;
	/* no route takes a silent client here: it may still speak within handshake_ms */
	if (router_match(&c->gen->cfg, &in, NULL) < 0) {
		stop_probing(w, c);
		return;
	}
	stop_probing(w, c);
	decide(w, c, &in, &sr);
}

void hello_probes(struct worker *w, uint64_t now)
{
	while (!list_empty(&w->probing)) {
		struct conn *c = list_first_entry(&w->probing, struct conn, probe_link);

		if (c->probe_ns > now)
			return;
		hello_event(w, c, 0);
		/* bytes came meanwhile (an event later in the batch), or it was routed, ended,
		 * or left probing: in every case it is off the list now */
		if (c->probing)
			stop_probing(w, c);
	}
}

bool hello_moved_on(struct worker *w, struct conn *c)
{
	enum conn_state st = c->state;
	struct pollfd p = { .fd = c->fd[1], .events = POLLOUT };
	if (st == CONN_HELLO)
		hello_event(w, c, 0);
	else if (st == CONN_CONNECTING && poll(&p, 1, 0) == 1)
		handshake_connect_event(w, c, EPOLLOUT | (p.revents & POLLERR ? EPOLLERR : 0));
	return c->dead || c->state != st;
}
