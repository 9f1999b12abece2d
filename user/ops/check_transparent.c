// SPDX-License-Identifier: MIT
/*
 * check_transparent.c - what the host needs for transparent backends (check_transparent.h),
 * read from the running system:
 *
 * - IP_TRANSPARENT may be set (CAP_NET_ADMIN or CAP_NET_RAW): tried on a socket, the one
 *   test that also holds in user namespaces and under systemd's capability settings;
 * - a backend on this host (its address is the host's; docs/transparent.md, topology 2):
 *   a rule "from ADDR lookup T" and, in table T, a local default route;
 * - a backend on another host (topology 1): a rule "fwmark M lookup T", a local default
 *   route in T, and an nftables rule marking what comes for a transparent socket
 *   ("socket transparent 1 meta mark set M").
 *
 * Rules and routes are read over rtnetlink (two dumps, a page of code) rather than by parsing
 * `ip` output, whose format is not an interface; nftables rules are read with `nft list
 * ruleset`, since decoding nftables expressions from netlink would be most of a libnftnl.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <ifaddrs.h>
#include <linux/fib_rules.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "addr.h"
#include "config.h"
#include "ops/check_transparent.h"
#include "transparent.h"

#define MAX_RULES 256
#define MAX_TABLES 64
#define DEFAULT_TABLE 100
#define DEFAULT_MARK 1

struct rule {
	int family;
	uint8_t src[16];
	unsigned int src_len;
	bool has_mark;
	uint32_t mark;
	uint32_t table;
};

/* What the host has: its rules, and the tables holding a local default route, per family. */
struct sys {
	struct rule rules[MAX_RULES];
	size_t n_rules;
	uint32_t local_tables[2][MAX_TABLES];	/* [0] IPv4, [1] IPv6 */
	size_t n_local[2];
	uint32_t route_told[2][MAX_TABLES];	/* local routes whose command was printed */
	size_t n_told[2];
	int problems;
};

static int fam_index(int family)
{
	return family == AF_INET6;
}

static void add_rule(struct sys *s, const struct nlmsghdr *nh)
{
	const struct fib_rule_hdr *frh = NLMSG_DATA(nh);
	struct rtattr *rta = (struct rtattr *)((char *)frh + NLMSG_ALIGN(sizeof(*frh)));
	int len = (int)nh->nlmsg_len - NLMSG_LENGTH(sizeof(*frh));
	struct rule r = { .family = frh->family, .src_len = frh->src_len, .table = frh->table };

	if (frh->action != FR_ACT_TO_TBL || s->n_rules == MAX_RULES)
		return;
	for (; RTA_OK(rta, len); rta = RTA_NEXT(rta, len)) {
		if (rta->rta_type == FRA_SRC && RTA_PAYLOAD(rta) <= sizeof(r.src))
			memcpy(r.src, RTA_DATA(rta), RTA_PAYLOAD(rta));
		else if (rta->rta_type == FRA_FWMARK && RTA_PAYLOAD(rta) == 4)
			r.has_mark = memcpy(&r.mark, RTA_DATA(rta), 4) != NULL;
		else if (rta->rta_type == FRA_TABLE && RTA_PAYLOAD(rta) == 4)
			memcpy(&r.table, RTA_DATA(rta), 4);
	}
	s->rules[s->n_rules++] = r;
}

static void add_route(struct sys *s, const struct nlmsghdr *nh)
{
	const struct rtmsg *rtm = NLMSG_DATA(nh);
	struct rtattr *rta = RTM_RTA(rtm);
	int len = (int)RTM_PAYLOAD(nh), f = fam_index(rtm->rtm_family);
	uint32_t table = rtm->rtm_table;

	if (rtm->rtm_type != RTN_LOCAL || rtm->rtm_dst_len || s->n_local[f] == MAX_TABLES)
		return;
	for (; RTA_OK(rta, len); rta = RTA_NEXT(rta, len))
		if (rta->rta_type == RTA_TABLE && RTA_PAYLOAD(rta) == 4)
			memcpy(&table, RTA_DATA(rta), 4);
	s->local_tables[f][s->n_local[f]++] = table;
}

/* One rtnetlink dump (RTM_GETRULE or RTM_GETROUTE) of family into s. 0 or -errno. */
static int dump(struct sys *s, int type, int family)
{
	struct {
		struct nlmsghdr nh;
		struct rtmsg rtm;	/* fib_rule_hdr has the same size and leading family */
	} req = { .nh = { .nlmsg_len = sizeof(req), .nlmsg_type = (uint16_t)type,
			  .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP, .nlmsg_seq = 1 },
		  .rtm = { .rtm_family = (unsigned char)family } };
	char buf[16384];
	int fd, err = 0;
	bool done = false;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	if (send(fd, &req, sizeof(req), 0) < 0)
		err = -errno;
	while (!err && !done) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		struct nlmsghdr *nh = (struct nlmsghdr *)buf;
		/* the kernel pads each message to NLMSG_ALIGNTO: left never wraps */
		unsigned int left = n > 0 ? (unsigned int)n : 0;

		if (n < 0) {
			err = -errno;
			break;
		}
		for (; NLMSG_OK(nh, left); nh = NLMSG_NEXT(nh, left)) {
			if (nh->nlmsg_type == NLMSG_DONE) {
				done = true;
			} else if (nh->nlmsg_type == NLMSG_ERROR) {
				err = -EIO;
				break;
			} else if (nh->nlmsg_type == RTM_NEWRULE) {
				add_rule(s, nh);
			} else if (nh->nlmsg_type == RTM_NEWROUTE) {
				add_route(s, nh);
			}
		}
	}
	close(fd);
	return err;
}

static bool table_is_local(const struct sys *s, int family, uint32_t table)
{
	int f = fam_index(family);

	for (size_t i = 0; i < s->n_local[f]; i++)
		if (s->local_tables[f][i] == table)
			return true;
	return false;
}

/* addr (16 or 4 bytes by family) lies in the rule's source prefix, which is not empty */
static bool rule_has_src(const struct rule *r, const uint8_t *addr)
{
	unsigned int bits = r->src_len, full = bits / 8;

	if (!bits || memcmp(r->src, addr, full))
		return false;
	return bits % 8 == 0 || !((r->src[full] ^ addr[full]) & (0xff00 >> (bits % 8)));
}

/*
 * The rule of family that matches: from addr, or (addr NULL) a fwmark; the first with a local
 * default route in its table, else the first. NULL when none.
 */
static const struct rule *find_rule(const struct sys *s, int family, const uint8_t *addr)
{
	const struct rule *first = NULL;

	for (size_t i = 0; i < s->n_rules; i++) {
		const struct rule *r = &s->rules[i];

		if (r->family != family || !(addr ? rule_has_src(r, addr) : r->has_mark))
			continue;
		if (table_is_local(s, family, r->table))
			return r;
		if (!first)
			first = r;
	}
	return first;
}

/* The local default route of table, when it lacks one: its command, printed once. */
static void need_local_route(struct sys *s, int family, uint32_t table, FILE *f)
{
	int fi = fam_index(family);

	if (table_is_local(s, family, table))
		return;
	for (size_t i = 0; i < s->n_told[fi]; i++)
		if (s->route_told[fi][i] == table)
			return;
	if (s->n_told[fi] < MAX_TABLES)
		s->route_told[fi][s->n_told[fi]++] = table;
	if (family == AF_INET6)
		fprintf(f, "             ip -6 route add local ::/0 dev lo table %u\n", table);
	else
		fprintf(f, "             ip route add local 0.0.0.0/0 dev lo table %u\n", table);
}

/* The interface holding addr, "" when none does. */
static void addr_dev(const struct sockaddr *sa, char *dev, size_t size)
{
	struct local_addrs one = { 0 };
	struct ifaddrs *ifa, *p;

	*dev = 0;
	if (getifaddrs(&ifa) < 0)
		return;
	for (p = ifa; p; p = p->ifa_next) {
		if (!p->ifa_addr || local_addrs_add(&one, p->ifa_addr))
			continue;
		if (transparent_is_local(&one, sa) && !*dev)
			snprintf(dev, size, "%s", p->ifa_name);
		local_addrs_free(&one);
	}
	freeifaddrs(ifa);
}

/* Topology 2: server at sa (unmapped), an address of this host. */
static void check_same_host(struct sys *s, const char *backend, const struct sockaddr *sa,
			    FILE *f)
{
	int family = sa->sa_family;
	const uint8_t *bytes = family == AF_INET6 ?
				       ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr :
				       (const uint8_t *)&((const struct sockaddr_in *)sa)->sin_addr;
	const struct rule *r = find_rule(s, family, bytes);
	char a[ADDR_STRLEN], host[ADDR_STRLEN], dev[IF_NAMESIZE + 1];
	const char *ip = family == AF_INET6 ? "-6 " : "";

	addr_format(sa, a, sizeof(a));
	snprintf(host, sizeof(host), "%s", a + (family == AF_INET6));
	*strrchr(host, family == AF_INET6 ? ']' : ':') = 0;
	addr_dev(sa, dev, sizeof(dev));
	if (strcmp(dev, "lo")) {
		/* no rule is printed: one from this address would take the host's own traffic */
		s->problems++;
		fprintf(f, "  MISSING  %s (backend %s, this host): the address is on %s, not on lo. "
			"A rule from it would deliver all of this host's traffic from that address "
			"locally (ssh included), so none is given. Give the server an address of "
			"its own on lo, one no network of yours uses, e.g.\n"
			"             ip %saddr add %s dev lo\n"
			"           then have the server listen there and set backend %s's address to "
			"it (docs/transparent.md, the backend on the sockmux host)\n", a, backend, dev,
			ip, family == AF_INET6 ? "fd00:127::1/128 nodad" :
						 "192.168.127.1/32 scope host", backend);
		return;
	}
	if (r && table_is_local(s, family, r->table)) {
		fprintf(f, "  ok       %s (backend %s, this host): rule from it to table %u, which "
			"has a local default route\n", a, backend, r->table);
		return;
	}
	s->problems++;
	if (r) {
		fprintf(f, "  MISSING  %s (backend %s, this host): the rule from it goes to table %u, "
			"which has no local default route: add\n", a, backend, r->table);
		need_local_route(s, family, r->table, f);
		return;
	}
	fprintf(f, "  MISSING  %s (backend %s, this host): its replies to clients must be "
		"delivered here: add\n             ip %srule add from %s lookup %u\n", a, backend,
		ip, host, DEFAULT_TABLE);
	need_local_route(s, family, DEFAULT_TABLE, f);
}

/* What `nft list ruleset` marks: per family ([0] IPv4, [1] IPv6), whether and with what. */
struct nft_marks {
	bool found[2];
	uint32_t mark[2];
};

/*
 * The rules marking packets for transparent sockets ("socket transparent 1 ... mark set N")
 * in prerouting chains: a table inet covers both families, ip IPv4, ip6 IPv6. 0, or -1 when
 * nft cannot tell (not installed, not permitted).
 */
static int nft_marks(struct nft_marks *m)
{
	char line[512], fam[16] = "";
	bool prerouting = false;
	FILE *p = popen("nft list ruleset 2>/dev/null", "r");

	memset(m, 0, sizeof(*m));
	if (!p)
		return -1;
	while (fgets(line, sizeof(line), p)) {
		const char *set = strstr(line, "mark set ");
		unsigned long v;

		if (sscanf(line, "table %15s", fam) == 1 || strstr(line, "chain "))
			prerouting = false;
		if (strstr(line, "hook prerouting"))
			prerouting = true;
		if (!prerouting || !set || !strstr(line, "socket transparent 1"))
			continue;
		v = strtoul(set + strlen("mark set "), NULL, 0);
		for (int f = 0; f < 2; f++) {
			if (m->found[f] || (strcmp(fam, "inet") && strcmp(fam, f ? "ip6" : "ip")))
				continue;
			m->found[f] = true;
			m->mark[f] = (uint32_t)v;
		}
	}
	return pclose(p) ? -1 : 0;
}

/* Topology 1: servers of family on other hosts; the mark their rule wants into *mark. */
static void check_other_host(struct sys *s, int family, uint32_t *mark, FILE *f)
{
	const struct rule *r = find_rule(s, family, NULL);
	const char *v = family == AF_INET6 ? "IPv6" : "IPv4", *ip = family == AF_INET6 ? "-6 " : "";

	*mark = r ? r->mark : DEFAULT_MARK;
	if (r && table_is_local(s, family, r->table)) {
		fprintf(f, "  ok       %s backends on other hosts: rule fwmark %u to table %u, which "
			"has a local default route\n", v, r->mark, r->table);
		return;
	}
	s->problems++;
	if (r) {
		fprintf(f, "  MISSING  %s backends on other hosts: the rule fwmark %u goes to table "
			"%u, which has no local default route: add\n", v, r->mark, r->table);
		need_local_route(s, family, r->table, f);
		return;
	}
	fprintf(f, "  MISSING  %s backends on other hosts: replies marked for a transparent "
		"socket must be delivered here: add\n"
		"             ip %srule add fwmark %u lookup %u\n", v, ip, DEFAULT_MARK,
		DEFAULT_TABLE);
	need_local_route(s, family, DEFAULT_TABLE, f);
}

/*
 * Topology 1: an nftables rule marks replies for transparent sockets of each family in
 * need[] with the mark that family's fwmark rule wants (want[]).
 */
static void check_nft(struct sys *s, const bool need[2], const uint32_t want[2], FILE *f)
{
	static const char *const v[2] = { "IPv4", "IPv6" };
	struct nft_marks m;
	bool told = false;

	if (nft_marks(&m) < 0) {
		fprintf(f, "  unknown  backends on other hosts: `nft list ruleset` failed (not "
			"installed, or not root): cannot tell whether replies are marked\n");
		return;
	}
	for (int i = 0; i < 2; i++) {
		if (!need[i])
			continue;
		if (m.found[i] && m.mark[i] == want[i]) {
			fprintf(f, "  ok       %s backends on other hosts: nftables marks replies for "
				"transparent sockets with %u, as the fwmark rule wants\n", v[i],
				want[i]);
			continue;
		}
		s->problems++;
		if (m.found[i]) {
			fprintf(f, "  MISSING  %s backends on other hosts: nftables marks replies with "
				"%u, but the fwmark rule wants %u: make them agree\n", v[i], m.mark[i],
				want[i]);
			continue;
		}
		fprintf(f, "  MISSING  %s backends on other hosts: no nftables rule in a prerouting "
			"chain of a table inet (or %s) marks replies for transparent sockets%s\n",
			v[i], i ? "ip6" : "ip", told ? " (the commands above add it)" :
			": add (IPv4 and IPv6 alike)");
		if (told)
			continue;
		told = true;
		fprintf(f, "             nft add table inet sockmux\n"
			"             nft add chain inet sockmux divert "
			"'{ type filter hook prerouting priority mangle; }'\n"
			"             nft add rule inet sockmux divert meta l4proto tcp socket "
			"transparent 1 meta mark set %u accept\n", want[i]);
	}
}

static void check_capability(struct sys *s, FILE *f)
{
	int err = transparent_probe_any();
	char exe[PATH_MAX];
	ssize_t n;

	if (!err) {
		fprintf(f, "  ok       IP_TRANSPARENT may be set (CAP_NET_ADMIN or CAP_NET_RAW)\n");
		return;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	exe[n > 0 ? n : 0] = '\0';
	s->problems++;
	fprintf(f, "  MISSING  IP_TRANSPARENT may not be set (%s): sockmux needs CAP_NET_ADMIN "
		"(or CAP_NET_RAW); run it as root, or grant it, e.g.\n"
		"             setcap cap_net_admin,cap_net_bind_service+ep %s\n"
		"             (systemd: AmbientCapabilities=CAP_NET_ADMIN CAP_NET_BIND_SERVICE)\n",
		strerror(-err), n > 0 ? exe : "/usr/sbin/sockmux");
}

/* Server addresses already noted (a backend per family often lists the same host). */
struct told {
	struct addr a[64];
	size_t n;
};

/* Whether a was noted before; notes it. */
static bool told_before(struct told *t, const struct addr *a)
{
	for (size_t i = 0; i < t->n; i++)
		if (addr_equal(&t->a[i], a))
			return true;
	if (t->n < sizeof(t->a) / sizeof(t->a[0]))
		t->a[t->n++] = *a;
	return false;
}

/* Whether any listener may bring clients of family (accept_proxy: any family). */
static bool clients_of(const struct config *cfg, int family)
{
	for (size_t i = 0; i < cfg->n_listeners; i++) {
		const struct config_listener *l = &cfg->listeners[i];
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&l->addr.ss;

		if (l->accept_proxy || l->addr.ss.ss_family == family)
			return true;
		/* [::] takes IPv4 clients too (dual-stack) */
		if (family == AF_INET && l->addr.ss.ss_family == AF_INET6 &&
		    IN6_IS_ADDR_UNSPECIFIED(&s6->sin6_addr))
			return true;
	}
	return false;
}

/*
 * A transparent backend with no server a client of some family may use (transparent ones of
 * its family, or plain ones), while listeners bring such clients: each would fail.
 */
static void check_families(const struct config *cfg, const struct config_backend *b, FILE *f)
{
	static const int fams[2] = { AF_INET, AF_INET6 };

	for (int k = 0; k < 2; k++) {
		bool served = false;
		struct addr a;

		for (size_t j = 0; j < b->n_servers && !served; j++) {
			transparent_unmap((const struct sockaddr *)&b->servers[j].addr.ss, &a);
			served = !b->servers[j].transparent || a.ss.ss_family == fams[k];
		}
		if (!served && clients_of(cfg, fams[k]))
			fprintf(f, "  note     backend %s has no %s server: its %s clients (except those "
				"on this host) will fail as connect_error, \"transparent: an %s client, "
				"no %s server\"\n", b->name, k ? "IPv6" : "IPv4", k ? "IPv6" : "IPv4",
				k ? "IPv6" : "IPv4", k ? "IPv6" : "IPv4");
	}
}

int check_transparent(const struct config *cfg, FILE *f)
{
	static struct sys s;	/* 10 KiB: not on the stack */
	struct local_addrs la = { 0 };
	bool other[2] = { false, false };
	uint32_t mark[2] = { DEFAULT_MARK, DEFAULT_MARK };
	char a_text[ADDR_STRLEN];
	struct told told = { 0 };
	struct addr a;

	if (!config_transparent_servers(cfg))
		return 0;
	memset(&s, 0, sizeof(s));
	fprintf(f, "transparent: what this host has (uid %u, network namespace of this "
		"process):\n", (unsigned int)geteuid());
	check_capability(&s, f);
	if (local_addrs_load(&la) || dump(&s, RTM_GETRULE, AF_INET) ||
	    dump(&s, RTM_GETRULE, AF_INET6) || dump(&s, RTM_GETROUTE, AF_INET) ||
	    dump(&s, RTM_GETROUTE, AF_INET6))
		fprintf(f, "  unknown  cannot read the host's addresses, rules or routes\n");
	for (size_t i = 0; i < cfg->n_backends; i++) {
		const struct config_backend *b = &cfg->backends[i];

		if (transparent_any(b))
			check_families(cfg, b, f);
		for (size_t j = 0; j < b->n_servers; j++) {
			if (!b->servers[j].transparent)
				continue;
			transparent_unmap((const struct sockaddr *)&b->servers[j].addr.ss, &a);
			if (transparent_is_local(&la, (const struct sockaddr *)&a.ss)) {
				check_same_host(&s, b->name, (const struct sockaddr *)&a.ss, f);
				continue;
			}
			other[fam_index(a.ss.ss_family)] = true;
			if (told_before(&told, &a))
				continue;
			fprintf(f, "  note     %s (backend %s) is not an address of this host: taken "
				"as a server on another host; for one on this host, add the address "
				"to lo first\n", addr_format((const struct sockaddr *)&a.ss, a_text,
							     sizeof(a_text)), b->name);
		}
	}
	if (other[0])
		check_other_host(&s, AF_INET, &mark[0], f);
	if (other[1])
		check_other_host(&s, AF_INET6, &mark[1], f);
	if (other[0] || other[1])
		check_nft(&s, other, mark, f);
	if (other[0] || other[1])
		fprintf(f, "  note     a backend on another host must send its replies to clients "
			"through this host (its default route, or policy routing): not checked "
			"from here\n");
	fprintf(f, "transparent: %d problem(s); docs/transparent.md explains each step\n",
		s.problems);
	local_addrs_free(&la);
	return s.problems;
}
