/* SPDX-License-Identifier: MIT */
/*
 * conn.h - one client connection, from accept to its log line.
 *
 * A connection goes HELLO (reading the client's first bytes) -> CONNECTING (backend connect
 * under way) -> HANDED_OFF (an engine carries the bytes) and ends with exactly one log line
 * (conn_end) saying who, where, how much and how it ended.
 */
#ifndef SOCKMUX_CONN_H
#define SOCKMUX_CONN_H

#include <stdbool.h>
#include <stdint.h>

#include "addr.h"
#include "engine.h"
#include "list.h"
#include "log.h"
#include "sniff/sniff.h"

struct config_gen;
struct worker;

enum conn_state {
	CONN_HELLO,
	CONN_CONNECTING,
	CONN_HANDED_OFF,
};

/* How a connection ended: the log's end= field, and later a stats label. */
enum conn_end {
	END_CLOSED = 0,		/* both sides closed normally */
	END_RESET,		/* a side reset; the reset was passed on */
	END_HANDSHAKE_TIMEOUT,	/* no routing decision within handshake_ms */
	END_NOT_TLS,		/* not TLS, and no route without sni/alpn conditions */
	END_NO_ROUTE,		/* TLS, but no route matched */
	END_BAD_HELLO,		/* malformed or truncated ClientHello */
	END_CLIENT_CLOSED,	/* client left before a routing decision */
	END_CONNECT_REFUSED,
	END_CONNECT_TIMEOUT,
	END_CONNECT_ERROR,	/* any other backend connect failure */
	END_LIMIT,		/* max_connections reached */
	END_SHUTDOWN,		/* sockmux stopped */
	END_INTERNAL,		/* a local resource failure (fds, memory, map update) */
	END_BAD_PROXY,		/* accept_proxy listener: no valid PROXY header first */
	END_UNTRUSTED,		/* accept_proxy listener: the peer is not in its trusted list */
	END_EVICTED,		/* still before a routing decision when a newer connection
				 * needed its place (max_handshakes, max_connections) */
	END_SOURCE_LIMIT,	/* its client address held max_connections_per_source */
	END__COUNT,
};

/*
 * A socket of a handed-off connection failed (a reset, or a send error). Bytes that came from it
 * before the failure still go to the other socket; the engine calls worker_conn_fail_flushed()
 * once it has handed them all over, and the other socket is reset when they have left it
 * (acknowledged), or at deadline_ns. side -1: no failure.
 */
struct conn_fail {
	int side;
	int err;		/* -errno seen */
	bool fin_first;		/* its peer sent FIN before the reset (SO_ERROR EPIPE: the
				 * reset came in CLOSE_WAIT): the FIN is passed on first */
	bool fin_sent;
	uint64_t deadline_ns;	/* given up when the other socket takes nothing until then */
	uint64_t acked;		/* the other socket's tcpi_bytes_acked at the last progress */
	uint32_t backoff_ms;
};

/* What a PROXY header said besides the client (accept_proxy listeners). */
struct conn_proxied {
	struct addr via;		/* the peer that sent the header */
	struct addr dst;		/* where the client connected, per the header */
};

struct conn {
	struct list_head link;		/* in one of the worker's timing lists, or none */
	struct list_head all;		/* in the worker's list of live connections */
	uint64_t id;
	struct config_gen *gen;		/* the configuration it was accepted under (a
					 * reference, dropped when it is freed) */
	int fd[2];			/* [0] client, [1] backend; -1 when closed */
	enum conn_state state;
	enum conn_end end;
	unsigned int listener;		/* index into the config's listeners */
	long route;			/* index of the route, -1 before routing */
	long backend;			/* index of the backend, -1 before routing */
	int server;			/* index of the backend's server tried last, -1: none */
	unsigned int tries;		/* servers tried */
	uint64_t tried;			/* bit i: server i was tried */
	bool server_counted;		/* counts in server's live connections */
	bool transparent;		/* the backend socket is bound to the client's address */
	int16_t source;			/* index into the server's source list of the address
					 * the backend socket is bound to; -1: none */
	uint64_t accept_ns;
	uint64_t deadline_ns;		/* of the current HELLO or CONNECTING state */
	uint64_t next_poll_ns;		/* when the engine wants its poll, 0: never */
	struct addr client;		/* the peer, or the client its PROXY header named */
	struct conn_proxied *proxied;	/* a PROXY header named client: the peer that sent it
					 * and where client connected; NULL: client is the peer
					 * (kept apart: most connections have none) */
	uint32_t pp_in_len;		/* accept_proxy listener: length of the PROXY header
					 * received, 0 until parsed; read off at the hand-off */
	uint8_t *pp_alpn;		/* v2 header sent on: the ALPN TLV value, or NULL */
	size_t pp_alpn_len;
	char *host;			/* the name asked for (TLS SNI, HTTP Host, XMPP to),
					 * escaped; NULL if none */
	char *alpn;			/* escaped list "a,b", NULL if none */
	enum sniff_proto proto;		/* what the sniffers recognised */
	bool sniffed;			/* routed on its first bytes (not before any) */
	bool ech;			/* TLS with encrypted_client_hello: host is the outer SNI */
	bool probing;			/* no byte yet: at probe_ns, protocol "timeout" */
	uint64_t probe_ns;		/* accept + probe_ms */
	struct list_head probe_link;	/* in the worker's probing list, while probing */
	bool source_counted;		/* counted in max_connections_per_source */
	bool ack_held;			/* the backend socket holds the connect's last ACK
					 * for the first bytes (handshake_first_bytes_sent()) */
	bool dead;			/* ended; freed after the current epoll batch */
	const char *detail;		/* static text or strerror() for the log line */
	int err;			/* errno behind the end, 0 if none */
	uint64_t bytes[2];		/* client->backend, backend->client */
	uint64_t bytes_counted[2];	/* of bytes[], what the stats already hold */
	uint64_t connect_ns;		/* when connect() to the backend started */
	uint64_t unsent_on_reset;	/* bytes of a failed side the other socket never took:
					 * dropped when sockmux gave up and reset it */
	struct conn_fail fail;
	uint32_t early_events[2];	/* epoll events of each socket before the hand-off: a
					 * FIN whose edge the handshake took has no other */
	const struct engine_ops *engine;	/* the engine carrying c, set before its start() */
	const struct engine_ops *upgrade;	/* the engine that takes c over once it carried
						 * upgrade_at bytes (engine_ops.adopt); NULL:
						 * none */
	uint64_t upgrade_at;
	union {
		uint64_t align;
		uint8_t bytes[ENGINE_STATE_SIZE];
	} eng;					/* the engine's own state of c */
};

/*
 * A new connection on socket fd from peer, accepted on listener (an index into gen's
 * listeners, of which it takes a reference); NULL when out of memory.
 */
struct conn *conn_new(struct config_gen *gen, uint64_t id, unsigned int listener, int fd,
		      const struct sockaddr *peer, socklen_t len);
/* Frees c once ended (its sockets closed) and out of every list. */
void conn_free(struct conn *c);

const char *conn_end_str(enum conn_end end);

/* Writes c's one log line (conn_end must be set); names from its configuration. */
void conn_log(const struct conn *c, struct log_batch *lb);

#endif
