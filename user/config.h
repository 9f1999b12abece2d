/* SPDX-License-Identifier: MIT */
/*
 * config.h - sockmux's configuration: what the file says, checked and resolved.
 *
 * The file is libconfig syntax (see README.md and docs/config.md):
 *
 *	listen = ( { address = "0.0.0.0:443"; }, { address = "[::]:443"; },
 *		   { address = "10.0.0.5:443"; accept_proxy = true; trusted = [ "10.0.0.1" ]; } );
 *	timeouts = { handshake_ms = 5000; connect_ms = 3000; };
 *	backends = { web = { address = "[::1]:8443"; proxy_protocol = "v2"; }; };
 *	routes = ( { sni = [ "example.org" ]; alpn = [ "xmpp-client" ]; backend = "web"; } );
 *
 * config_parse() (config_file.h) turns text into a struct config or one error naming file,
 * line and key; config_load() reads a file and calls it. Nothing here logs.
 */
#ifndef SOCKMUX_CONFIG_H
#define SOCKMUX_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "addr.h"

#define CONFIG_DEFAULT_HANDSHAKE_MS 5000
#define CONFIG_DEFAULT_CONNECT_MS 3000
#define CONFIG_DEFAULT_PROBE_MS 2000
#define CONFIG_DEFAULT_MAX_CONNECTIONS 16384
/* the sockmap engine takes a connection once it carried this much (splice-auto's idea) */
#define CONFIG_DEFAULT_SOCKMAP_AFTER 65536
#define CONFIG_MAX_SOCKMAP_AFTER (1u << 30)
#define CONFIG_MAX_WORKERS 64
#define CONFIG_DEFAULT_CONTROL "/run/sockmux/control.sock"
#define CONFIG_CONTROL_PATH_MAX 108	/* sizeof(sun_path), NUL included */
#define CONFIG_USER_MAX 32
#define CONFIG_NAME_MAX 64	/* a listener name */

struct config_listener {
	char *text;		/* the address as written */
	char *name;		/* name = "..." (routes' listener = [ ... ]); NULL: none */
	struct addr addr;
	int sock_type;		/* SOCK_STREAM (TCP): names its transport (user/transport.h) */
	int line;
	bool accept_proxy;	/* every connection starts with a PROXY v1 or v2 header */
	struct cidr *trusted;	/* peers allowed to send it; required with accept_proxy */
	size_t n_trusted;
};

#define CONFIG_MAX_SERVERS 64	/* per backend: a connection's tried ones fit a bit mask */

/* How a backend with several servers picks one (balance = "..."). */
enum balance {
	BALANCE_ROUND_ROBIN,	/* smooth weighted round robin (the default) */
	BALANCE_LEAST_CONN,	/* fewest live connections per weight */
	BALANCE_SOURCE_HASH,	/* the client address, by weighted rendezvous hashing */
	BALANCE_FIRST,		/* the first server that is up, in file order */
};

#define CONFIG_MAX_SOURCES 64	/* addresses in one source = [ ... ] */

/*
 * Local addresses a server is connected from (source = [ ... ] on a backend or a server), as
 * HAProxy's `source` and nginx's `proxy_bind`: one per connection, so that one backend address
 * may take more connections than one local address has ports. Not a route's source (client
 * prefixes).
 */
struct config_source {
	struct addr *addr;	/* bare addresses (port 0), IPv4-mapped ones as IPv4, file order */
	size_t n;		/* 0: none, the kernel picks the address */
	int line;		/* of the source key the list came from */
};

struct config_server {
	char *text;		/* the address as written */
	struct addr addr;
	unsigned int weight;	/* 0: never chosen by balancing */
	bool backup;		/* only while no other server is up */
	bool transparent;	/* connected from the client's own address (the server's
				 * transparent key, else the backend's) */
	struct config_source source;	/* the server's source key, else (a copy of) the
					 * backend's; only addresses of the server's family are
					 * used */
	int line;
};

/*
 * Active health checks of a backend's servers (health = { ... }): a TCP connect, or with tls a
 * ClientHello that a TLS handshake record must answer. Without them (on false), a failed
 * connect takes a server out for interval_ms (passive).
 */
struct config_health {
	bool on;
	bool tls;
	unsigned int interval_ms;	/* between checks of one server, jittered */
	unsigned int timeout_ms;	/* one check's connect and answer */
	unsigned int rise, fall;	/* checks in a row that bring a server up, down */
	char *sni;		/* tls: the ClientHello's server name; NULL: none */
};

#define CONFIG_HEALTH_INTERVAL_MS 2000
#define CONFIG_HEALTH_TIMEOUT_MS 1000
#define CONFIG_HEALTH_RISE 2
#define CONFIG_HEALTH_FALL 3

struct config_backend {
	char *name;
	char *text;		/* the address as written; several servers: "a, b, c" */
	struct addr addr;	/* the first server's */
	int line;
	unsigned int proxy_protocol;	/* PROXY header version sent first: 1, 2, or 0 (none) */
	bool proxy_protocol_crc;	/* v2 only: with a CRC32C TLV */
	bool transparent;		/* transparent = true: its servers' default */
	struct config_source source;	/* source = [ ... ]: its servers' default */
	struct config_server *servers;	/* address = "..." is one server of weight 1 */
	size_t n_servers;
	enum balance balance;
	unsigned int retries;		/* further servers tried after a failed connect */
	uint8_t *schedule[2];		/* round robin: server indices in smooth weighted order,
					 * [0] of the main servers, [1] of the backups */
	size_t n_schedule[2];
	struct config_health health;
};

/* One entry of an sni list: "example.org" (exact) or "*.example.org" (any name under it). */
struct config_sni_pattern {
	char *name;		/* lowercased, trailing dot stripped; for a wildcard, the suffix
				 * including its leading dot (".example.org") */
	bool wildcard;
};

struct route_regex;	/* route_regex.h */

struct config_route {
	char **listeners;	/* listener names */
	size_t n_listeners;	/* 0: no listener condition */
	uint32_t protocols;	/* 1 << enum sniff_proto of each listed protocol; 0: none */
	struct config_sni_pattern *sni;
	size_t n_sni;		/* 0: no sni condition */
	struct config_sni_pattern *host;	/* the name asked for: SNI, HTTP Host, XMPP to */
	size_t n_host;		/* 0: no host condition */
	struct route_regex *regex;	/* NULL: no regex condition */
	char **alpn;
	size_t n_alpn;		/* 0: no alpn condition */
	struct cidr *source;
	size_t n_source;	/* 0: no source condition */
	size_t backend;		/* index into config.backends */
	int line;
};

struct config {
	char *path;		/* file name used in messages */
	struct config_listener *listeners;
	size_t n_listeners;
	struct config_backend *backends;
	size_t n_backends;
	struct config_route *routes;
	size_t n_routes;
	unsigned int handshake_ms;
	unsigned int connect_ms;
	unsigned int probe_ms;		/* no byte for this long: protocol "timeout" */
	bool probes;			/* some route lists protocol "timeout" */
	unsigned int workers;		/* 0: one per online CPU */
	unsigned int max_connections;	/* handed off and pending, whole daemon */
	unsigned int max_handshakes;	/* before a routing decision; 0: auto (a quarter of
					 * max_connections) */
	unsigned int max_per_source;	/* max_connections_per_source: per client address
					 * (IPv6: per /64); 0: no limit */
	unsigned int sockmap_after;	/* sockmap_after_bytes: the sockmap engine takes a
					 * connection once it carried this many bytes (splice
					 * carries them); 0: at its hand-off */
	char *control;			/* Unix control socket path; "" when off */
	bool control_explicit;		/* control = set in the file (not the default) */
	char *metrics_text;		/* Prometheus endpoint as written, NULL when off */
	char *user;			/* run as this user after the set-up; NULL: stay */
	int user_line;
	struct addr metrics;
};

struct config_error {
	int line;		/* 0 when no line applies (e.g. unreadable file) */
	char msg[256];		/* names the key path, e.g.
				 * "routes.[1].backend: no backend named \"webb\"" */
};

/* How many servers of cfg's backends are transparent (IP_TRANSPARENT, see transparent.h). */
size_t config_transparent_servers(const struct config *cfg);

/* Releases what config_parse() (config_file.h) filled in; cfg is left empty. */
void config_free(struct config *cfg);

/*
 * How many connections may be before a routing decision at once, given the max_connections
 * in force (lowered to fit the descriptors): max_handshakes, or a quarter of it by default.
 */
unsigned int config_max_handshakes(const struct config *cfg, unsigned int max_connections);

/*
 * Whether a peer at sa may connect to listener l: always, unless l has accept_proxy, whose
 * peers must lie in one of its trusted prefixes (an IPv4 prefix holds IPv4-mapped peers too).
 */
bool config_listener_trusts(const struct config_listener *l, const struct sockaddr *sa);

#endif
