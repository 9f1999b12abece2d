// SPDX-License-Identifier: MIT
/*
 * test_source_bind.c - `source = [ ... ]` on a backend or a server (source_bind.h): what the
 * parser keeps and which list a server inherits, what `sockmux check` prints, the order in
 * which connections take the addresses (round robin over the server's family, each address
 * once per connection), and source_bind_connect() on loopback sockets: bound to the listed
 * address, past one the host does not have, and a clear reason when none will do. The errors
 * with their lines are in test_config.c. TAP output.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config.h"
#include "config_file.h"
#include "source_bind.h"
#include "tap.h"

#define HEAD "listen = ( { address = \"0.0.0.0:443\"; } );\n"
#define ROUTE "routes = ( { backend = \"b\"; } );\n"

static int parse(const char *backend, struct config *cfg, struct config_error *err)
{
	char text[2048];

	snprintf(text, sizeof(text), HEAD "backends = { b = { %s }; };\n" ROUTE, backend);
	memset(err, 0, sizeof(*err));
	return config_parse(text, "t.cfg", cfg, err);
}

/* The list as "a,b,c" (bare addresses), for comparisons. */
static const char *list_text(const struct config_source *src, char *buf, size_t size)
{
	char a[ADDR_STRLEN];
	size_t i, n = 0;

	buf[0] = '\0';
	for (i = 0; i < src->n && n < size; i++)
		n += (size_t)snprintf(buf + n, size - n, "%s%s", i ? "," : "",
				      addr_format_host((const struct sockaddr *)&src->addr[i].ss,
						       a, sizeof(a)));
	return buf;
}

static void test_parse(void)
{
	struct config_error err;
	struct config cfg;
	char buf[256];

	if (ASSERT_OK(parse("address = \"192.0.2.1:80\";\n"
			    "source = [ \"192.0.2.7\", \"2001:db8::7\", \"::ffff:192.0.2.8\" ];",
			    &cfg, &err), "a backend's source")) {
		const struct config_backend *b = &cfg.backends[0];

		ASSERT_STREQ(list_text(&b->source, buf, sizeof(buf)),
			     "192.0.2.7,2001:db8::7,192.0.2.8",
			     "kept in file order, mapped as IPv4");
		ASSERT_EQ(b->source.addr[2].ss.ss_family, AF_INET, "a mapped address is AF_INET");
		ASSERT_EQ(b->source.line, 3, "its line");
		ASSERT_STREQ(list_text(&b->servers[0].source, buf, sizeof(buf)),
			     "192.0.2.7,2001:db8::7,192.0.2.8", "the server inherits it");
		ASSERT_TRUE(b->servers[0].source.addr != b->source.addr, "as a copy of its own");
		config_free(&cfg);
	} else {
		tap_diag("%s", err.msg);
	}
	if (ASSERT_OK(parse("servers = ( { address = \"192.0.2.1:80\"; },\n"
			    "  { address = \"[2001:db8::1]:80\"; source = ( \"2001:db8::9\" ); },\n"
			    "  { address = \"192.0.2.2:80\"; } );\n"
			    "source = [ \"192.0.2.7\", \"192.0.2.8\" ];", &cfg, &err),
		      "a server's own source, as a list ( )")) {
		const struct config_backend *b = &cfg.backends[0];

		ASSERT_STREQ(list_text(&b->servers[0].source, buf, sizeof(buf)),
			     "192.0.2.7,192.0.2.8", "server 0: the backend's");
		ASSERT_STREQ(list_text(&b->servers[1].source, buf, sizeof(buf)), "2001:db8::9",
			     "server 1: its own wins");
		ASSERT_EQ(b->servers[1].source.line, 3, "server 1: its own line");
		ASSERT_STREQ(list_text(&b->servers[2].source, buf, sizeof(buf)),
			     "192.0.2.7,192.0.2.8", "server 2: the backend's");
		config_free(&cfg);
	} else {
		tap_diag("%s", err.msg);
	}
	if (ASSERT_OK(parse("servers = ( { address = \"192.0.2.1:80\"; },\n"
			    "  { address = \"192.0.2.2:80\"; source = [ \"192.0.2.9\" ]; } );",
			    &cfg, &err), "a source on one server only")) {
		ASSERT_EQ(cfg.backends[0].servers[0].source.n, 0, "the other has none");
		ASSERT_EQ(cfg.backends[0].servers[1].source.n, 1, "that one has its own");
		config_free(&cfg);
	}
	if (ASSERT_OK(parse("address = \"192.0.2.1:80\";", &cfg, &err), "no source key")) {
		ASSERT_EQ(cfg.backends[0].source.n, 0, "backend: none");
		ASSERT_EQ(cfg.backends[0].servers[0].source.n, 0, "server: none");
		config_free(&cfg);
	}
	if (ASSERT_OK(parse("servers = ( { address = \"192.0.2.1:80\"; transparent = true; },\n"
			    "  { address = \"192.0.2.2:80\"; source = [ \"192.0.2.9\" ]; } );",
			    &cfg, &err), "a transparent server beside a server with a source")) {
		ASSERT_TRUE(cfg.backends[0].servers[0].transparent, "one transparent");
		ASSERT_EQ(cfg.backends[0].servers[1].source.n, 1, "the other with its source");
		config_free(&cfg);
	}
}

static void expect_print(const char *backend, const char *want, const char *name)
{
	struct config_error err;
	struct config cfg;
	size_t len = 0;
	char *out = NULL, what[160];
	FILE *f;


	snprintf(what, sizeof(what), "%s: parses", name);
	if (!ASSERT_OK(parse(backend, &cfg, &err), what)) {
		tap_diag("%s", err.msg);
		return;
	}
	f = open_memstream(&out, &len);
	if (f) {
		config_print(&cfg, f);
		fclose(f);
	}
	if (!ASSERT_TRUE(out && strstr(out, want), name))
		tap_diag("got:\n%s", out ? out : "(nothing)");
	free(out);
	config_free(&cfg);
}

static void test_print(void)
{
	expect_print("address = \"192.0.2.1:80\"; source = [ \"192.0.2.7\", \"2001:db8::7\" ];",
		     "  b 192.0.2.1:80 source=192.0.2.7,2001:db8::7 (line 2)\n",
		     "check: one list for the backend");
	expect_print("servers = ( { address = \"192.0.2.1:80\"; },"
		     " { address = \"192.0.2.2:80\"; } ); source = [ \"192.0.2.7\" ];",
		     " retries=1 source=192.0.2.7 (line 2)\n",
		     "check: servers sharing the backend's list: printed once");
	expect_print("servers = ( { address = \"192.0.2.1:80\"; },"
		     " { address = \"192.0.2.2:80\";"
		     " source = [ \"192.0.2.9\", \"192.0.2.8\" ]; } );",
		     " retries=1 source=-|192.0.2.9,192.0.2.8 (line 2)\n",
		     "check: lists that differ: per server, - for none");
	expect_print("address = \"192.0.2.1:80\";", " b 192.0.2.1:80 (line 2)\n",
		     "check: nothing without source");
}

/* A list from bare addresses. */
static void make_list(struct config_source *src, struct addr *room, const char *const *ips,
		      size_t n)
{
	for (size_t i = 0; i < n; i++)
		addr_parse_host(ips[i], &room[i]);
	src->addr = room;
	src->n = n;
	src->line = 1;
}

static void test_order(void)
{
	static const char *const ips[] = { "192.0.2.1", "2001:db8::1", "192.0.2.2", "192.0.2.3",
					   "2001:db8::2" };
	struct addr room[5];
	struct config_source src, v4only;
	unsigned int counts[5] = { 0 }, turn, k;
	char name[96];
	bool perm = true;

	make_list(&src, room, ips, 5);
	ASSERT_EQ(source_bind_count(&src, AF_INET), 3, "three IPv4 addresses");
	ASSERT_EQ(source_bind_count(&src, AF_INET6), 2, "two IPv6 addresses");
	make_list(&v4only, room, ips, 1);
	ASSERT_EQ(source_bind_nth(&v4only, AF_INET6, 0, 0), -1, "no address of the family: -1");

	ASSERT_EQ(source_bind_nth(&src, AF_INET, 0, 0), 0, "turn 0 starts at the first IPv4");
	ASSERT_EQ(source_bind_nth(&src, AF_INET, 0, 1), 2, "then the next IPv4 (IPv6 skipped)");
	ASSERT_EQ(source_bind_nth(&src, AF_INET, 0, 2), 3, "then the third");
	ASSERT_EQ(source_bind_nth(&src, AF_INET, 0, 3), -1, "then none: each once");
	ASSERT_EQ(source_bind_nth(&src, AF_INET, 1, 0), 2, "turn 1 starts at the second");
	ASSERT_EQ(source_bind_nth(&src, AF_INET, 1, 2), 0, "and wraps to the first");
	ASSERT_EQ(source_bind_nth(&src, AF_INET, 5, 0), 3, "turn 5: 5 mod 3 = the third");
	ASSERT_EQ(source_bind_nth(&src, AF_INET6, 0, 0), 1, "IPv6 turn 0: 2001:db8::1");
	ASSERT_EQ(source_bind_nth(&src, AF_INET6, 1, 0), 4, "IPv6 turn 1: 2001:db8::2");
	ASSERT_EQ(source_bind_nth(&src, AF_INET6, 1, 1), 1, "IPv6 turn 1, then 2001:db8::1");
	ASSERT_EQ(source_bind_nth(&src, AF_INET6, 0xffffffffu, 0), 4,
		  "the turn counter wrapping (2^32 - 1 is odd): no index out of the list");

	for (turn = 0; turn < 3000; turn++) {
		unsigned int seen = 0;

		counts[source_bind_nth(&src, AF_INET, turn, 0)]++;
		for (k = 0; k < 3; k++)
			seen |= 1u << source_bind_nth(&src, AF_INET, turn, k);
		perm = perm && seen == ((1u << 0) | (1u << 2) | (1u << 3));
	}
	snprintf(name, sizeof(name), "3000 connections start evenly: %u, %u, %u", counts[0],
		 counts[2], counts[3]);
	ASSERT_TRUE(counts[0] == 1000 && counts[2] == 1000 && counts[3] == 1000 && !counts[1] &&
		    !counts[4], name);
	ASSERT_TRUE(perm, "each connection tries every IPv4 address once");
}

/* A listening socket on 127.0.0.1, port chosen by the kernel, its address in *at. */
static int listen_loopback(struct addr *at)
{
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (s < 0)
		return -errno;
	addr_parse_host("127.0.0.1", at);
	at->len = sizeof(struct sockaddr_in);
	if (bind(s, (struct sockaddr *)&at->ss, at->len) < 0 || listen(s, 8) < 0 ||
	    getsockname(s, (struct sockaddr *)&at->ss, &at->len) < 0) {
		close(s);
		return -errno;
	}
	return s;
}

static void test_connect(void)
{
	/* 192.0.2.1 (TEST-NET-1) is no host's address: bind() says EADDRNOTAVAIL */
	static const char *const ips[] = { "192.0.2.1", "::1", "127.0.0.1" };
	struct config_source src, gone;
	struct source_bind_result res;
	struct addr room[3], dst, local, mapped;
	socklen_t len = sizeof(local.ss);
	char a[ADDR_STRLEN];
	int ls, fd, err;

	ls = listen_loopback(&dst);
	if (ls < 0) {
		tap_skip("source_bind_connect on loopback", "no loopback socket");
		return;
	}
	make_list(&src, room, ips, 3);
	err = source_bind_connect(&src, &dst, 0, &fd, &res);
	ASSERT_TRUE(err == 0 || err == -EINPROGRESS, "connects past an address the host lacks");
	ASSERT_EQ(res.used, 2, "from 127.0.0.1, the IPv6 one skipped");
	if (fd >= 0 && !getsockname(fd, (struct sockaddr *)&local.ss, &len))
		ASSERT_STREQ(addr_format_host((struct sockaddr *)&local.ss, a, sizeof(a)),
			     "127.0.0.1", "the socket is bound to it");
	if (fd >= 0)
		close(fd);

	/* an IPv4-mapped server: connected over IPv4, from the IPv4 source */
	memset(&mapped, 0, sizeof(mapped));
	mapped.ss.ss_family = AF_INET6;
	((struct sockaddr_in6 *)&mapped.ss)->sin6_port = ((struct sockaddr_in *)&dst.ss)->sin_port;
	inet_pton(AF_INET6, "::ffff:127.0.0.1", &((struct sockaddr_in6 *)&mapped.ss)->sin6_addr);
	mapped.len = sizeof(struct sockaddr_in6);
	err = source_bind_connect(&src, &mapped, 1, &fd, &res);
	ASSERT_TRUE((err == 0 || err == -EINPROGRESS) && res.used == 2,
		    "a mapped server is reached from the IPv4 source");
	if (fd >= 0)
		close(fd);

	make_list(&gone, room, ips, 1);
	err = source_bind_connect(&gone, &dst, 0, &fd, &res);
	ASSERT_EQ(err, -EADDRNOTAVAIL, "no address can be bound: -EADDRNOTAVAIL");
	ASSERT_TRUE(fd == -1 && res.used == -1 && !res.internal, "no socket, none used");
	if (!ASSERT_TRUE(res.detail && strstr(res.detail, "can be bound"), "the reason says so"))
		tap_diag("detail: %s", res.detail ? res.detail : "(none)");
	close(ls);
}

int main(void)
{
	tap_plan_start();
	test_parse();
	test_print();
	test_order();
	test_connect();
	return tap_done();
}
