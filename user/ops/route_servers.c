// SPDX-License-Identifier: MIT
/* route_servers.c - `sockmux route`'s server choice (see route_servers.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "balance.h"
#include "clock.h"
#include "ops/cmd.h"
#include "ops/route_servers.h"
#include "ops/stats_servers.h"

/* What the daemon said of b's servers: [i] set when it knows server i. */
struct known {
	struct stats_server s[CONFIG_MAX_SERVERS];
	bool have[CONFIG_MAX_SERVERS];
	size_t n;		/* servers the daemon knows of b */
};

/* The "servers" answer into k for b's servers; 0 or -errno (unreachable, bad answer). */
static int ask_daemon(const struct config_backend *b, const char *control, struct known *k)
{
	char *out = NULL, *line, *save = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	int err;

	if (!f)
		return -ENOMEM;
	err = cmd_control_request(control, "servers\n", f);
	fclose(f);
	for (line = err ? NULL : strtok_r(out, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		struct stats_server s;

		if (stats_servers_parse_line(line, &s)) {
			err = -EPROTO;	/* an older daemon, or an error message */
			break;
		}
		for (size_t i = 0; i < b->n_servers; i++) {
			if (k->have[i] || strcmp(s.backend, b->name) ||
			    strcmp(s.address, b->servers[i].text))
				continue;
			k->s[i] = s;
			k->have[i] = true;
			k->n++;
			s.backend = s.address = NULL;
			break;
		}
		free(s.backend);
		free(s.address);
	}
	free(out);
	return err;
}

static const char *hhmmss(uint64_t rt, char *buf, size_t size)
{
	time_t t = (time_t)(rt / 1000000000ull);
	struct tm tm;

	if (!localtime_r(&t, &tm) || !strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm))
		snprintf(buf, size, "?");
	return buf;
}

/* server i's live connections per weight, as least_conn compares them */
static double load_of(const struct config_backend *b, const struct known *k, int i)
{
	return (double)(k->have[i] ? k->s[i].live : 0) / b->servers[i].weight;
}

/* The rule's words for why server i won (i == win) or lost against server win. */
static void rule_words(const struct config_backend *b, const struct known *k, int i, int win,
		       char *buf, size_t size)
{
	unsigned long long live = k->have[i] ? (unsigned long long)k->s[i].live : 0;
	bool won = i == win;

	switch (b->balance) {
	case BALANCE_FIRST:
		snprintf(buf, size, won ? "the first server that is up (balance first)" :
			 "a server listed earlier is up (balance first)");
		break;
	case BALANCE_LEAST_CONN:
		if (!won && load_of(b, k, i) == load_of(b, k, win))
			snprintf(buf, size, "as loaded as the chosen one (%llu live, weight %u); "
				 "among equals the round robin decides, and it is not its turn",
				 live, b->servers[i].weight);
		else
			snprintf(buf, size, "%s connections per weight (%llu live, weight %u; "
				 "balance least_conn)", won ? "the fewest" : "more", live,
				 b->servers[i].weight);
		break;
	case BALANCE_SOURCE_HASH:
		snprintf(buf, size, "%s for this client's address (balance source_hash)",
			 won ? "the highest score" : "a lower score");
		break;
	case BALANCE_ROUND_ROBIN:
		snprintf(buf, size, won ? "next in turn (balance round_robin, weight %u)" :
			 "not its turn (balance round_robin, weight %u)", b->servers[i].weight);
		break;
	}
}

/* Why server i, not the winner, would not take this connection. */
static void skipped_why(const struct config_backend *b, const struct known *k, int i, int win,
			uint64_t main_up, char *buf, size_t size)
{
	const struct stats_server *s = &k->s[i];
	char when[32];

	if (!b->servers[i].weight) {
		snprintf(buf, size, "weight 0: never chosen by balancing");
	} else if (k->have[i] && s->down == SERVER_DOWN_CHECK) {
		snprintf(buf, size, "down since %s: its health check failed (last: %s)",
			 hhmmss(s->since_rt, when, sizeof(when)), check_result_str(s->last_check));
	} else if (k->have[i] && s->down == SERVER_DOWN_CONNECT) {
		snprintf(buf, size, "down: a connect to it failed at %s; tried again %u ms after",
			 hhmmss(s->since_rt, when, sizeof(when)), b->health.interval_ms);
	} else if (b->servers[i].backup && main_up) {
		snprintf(buf, size, "backup: used only while no other server is up");
	} else if (win < 0) {
		snprintf(buf, size, "up");
	} else {
		rule_words(b, k, i, win, buf, size);
	}
}

/* The daemon's view of b as states balance_pick() reads; NULL when out of memory. */
static struct backend_state *states_of(const struct config_backend *b, const struct known *k,
				       uint64_t now)
{
	struct backend_state *st = calloc(1, sizeof(*st));

	for (size_t i = 0; st && i < b->n_servers; i++) {
		st->servers[i] = calloc(1, sizeof(*st->servers[i]));
		if (!st->servers[i])
			goto out_nomem;
		atomic_init(&st->servers[i]->refs, 1);
		if (!k->have[i])
			continue;
		atomic_store(&st->rr, k->s[i].rr);
		atomic_store(&st->servers[i]->live, (uint32_t)k->s[i].live);
		atomic_store(&st->servers[i]->check_down, k->s[i].down == SERVER_DOWN_CHECK);
		if (k->s[i].down != SERVER_UP)	/* a check down counts even if the file has no
						 * health checks: it is what the daemon does now */
			atomic_store(&st->servers[i]->down_until_ns, now + 1000000000ull);
	}
	return st;
out_nomem:
	for (size_t i = 0; i < b->n_servers; i++)
		free(st->servers[i]);
	free(st);
	return NULL;
}

void route_servers_report(const struct config_backend *b, const struct sockaddr *src,
			  const char *control)
{
	struct known k = { 0 };
	struct backend_state *st;
	uint64_t now = now_ns(), main_up = 0;
	char why[160];
	int err = control ? ask_daemon(b, control, &k) : -ENOTCONN, pick;

	if (err)
		printf("servers: the running daemon's state is unknown (%s%s%s): every server "
		       "is taken as up\n", control ? "control socket " : "control is off",
		       control ? control : "", control ? err == -EPROTO ? ": unexpected answer" :
		       err == -ENOENT || err == -ECONNREFUSED ? ": not running" : ": unreachable" :
		       "");
	else if (k.n < b->n_servers)
		printf("servers: the running daemon does not have %zu of these servers (reload it "
		       "to apply this file); they are taken as up\n", b->n_servers - k.n);
	st = states_of(b, &k, now);
	if (!st) {
		printf("servers: out of memory\n");
		for (size_t i = 0; i < b->n_servers; i++) {
			free(k.s[i].backend);
			free(k.s[i].address);
		}
		return;
	}
	/* source_hash without a client address: no answer to give but each server's state */
	pick = b->balance == BALANCE_SOURCE_HASH && !src ? -1 : balance_pick(b, st, src, 0, now);
	if (pick < 0 && b->balance == BALANCE_SOURCE_HASH && !src)
		printf("  (balance source_hash: the server depends on the client's address; give "
		       "--src ADDR)\n");
	for (size_t i = 0; i < b->n_servers; i++)
		if (!b->servers[i].backup && b->servers[i].weight && balance_is_up(b, st, (int)i, now))
			main_up |= 1ull << i;
	for (size_t i = 0; i < b->n_servers; i++) {
		if ((int)i == pick) {
			if (!balance_is_up(b, st, (int)i, now))
				snprintf(why, sizeof(why), "every server is down: tried anyway");
			else
				rule_words(b, &k, (int)i, pick, why, sizeof(why));
			printf("  server %s: chosen now: %s\n", b->servers[i].text, why);
		} else {
			skipped_why(b, &k, (int)i, pick, main_up, why, sizeof(why));
			printf("  server %s: %s%s\n", b->servers[i].text,
			       strcmp(why, "up") ? "skipped: " : "", why);
		}
	}
	if (pick >= 0 && b->retries && b->n_servers > 1)
		printf("  a failed connect goes on to the next server, up to %u more\n",
		       b->retries);
	for (size_t i = 0; i < b->n_servers; i++) {
		free(st->servers[i]);
		free(k.s[i].backend);
		free(k.s[i].address);
	}
	free(st);
}
