// SPDX-License-Identifier: MIT
/*
 * fuzz_config.c - libFuzzer target for config_parse(), config_print() and the router.
 *
 * The input is taken as configuration text (up to its first NUL byte). Besides memory
 * safety and leaks (run under ASan/UBSan), it checks what callers rely on:
 *  - on error: -EINVAL or -ENOMEM, err.msg non-empty and terminated, err.line >= 0, and cfg
 *    left empty;
 *  - on success: at least one listener, backend and route, every route's backend index in
 *    range, sni patterns stored lowercase and valid (a wildcard keeps its leading dot), alpn
 *    names of 1..255 bytes, every number within its documented range;
 *  - config_print() writes something, and router_explain() agrees with router_match() for a
 *    few fixed inputs on every route.
 * Run with -max_len=4096: libconfig is slow on huge inputs. Seeds: tests/fuzz/seeds/config/.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "config_file.h"
#include "router.h"

/*
 * libconfig 1.5 (Debian 12) itself leaks a string buffer on some syntax errors (e.g. a string
 * followed by a name and another string: `a = "x"b"y"`), reproducible with libconfig alone.
 * Leaks allocated from inside libconfig are suppressed; sockmux's own allocations never have a
 * libconfig frame on their stack, so they are still reported.
 */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
	return "leak:libconfig.so\n";
}

/* ... and not listed after every input that triggered one. */
const char *__lsan_default_options(void);
const char *__lsan_default_options(void)
{
	return "print_suppressions=0";
}

static void fail(const char *what, size_t len)
{
	fprintf(stderr, "fuzz_config: invariant broken: %s (input of %zu bytes)\n", what, len);
	abort();
}

static bool cfg_empty(const struct config *cfg)
{
	return !cfg->path && !cfg->listeners && !cfg->n_listeners && !cfg->backends &&
	       !cfg->n_backends && !cfg->routes && !cfg->n_routes;
}

static bool sni_ok(const struct config_sni_pattern *p)
{
	size_t i, len;

	if (!p->name)
		return false;
	len = strlen(p->name);
	if (!len || len > 253 || (p->wildcard && (p->name[0] != '.' || len < 2)))
		return false;
	for (i = 0; i < len; i++) {
		char c = p->name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
		      c == '_'))
			return false;
	}
	return true;
}

static bool route_ok(const struct config *cfg, const struct config_route *r)
{
	size_t i;

	if (r->backend >= cfg->n_backends || r->line < 0)
		return false;
	for (i = 0; i < r->n_sni; i++)
		if (!sni_ok(&r->sni[i]))
			return false;
	for (i = 0; i < r->n_alpn; i++)
		if (!r->alpn[i] || !r->alpn[i][0] || strlen(r->alpn[i]) > 255)
			return false;
	for (i = 0; i < r->n_source; i++)
		if (r->source[i].family == AF_INET ? r->source[i].prefix > 32 :
		    r->source[i].family != AF_INET6 || r->source[i].prefix > 128)
			return false;
	return true;
}

static void check_config(const struct config *cfg, size_t len)
{
	size_t i;

	if (!cfg->path || !cfg->n_listeners || !cfg->n_backends || !cfg->n_routes)
		fail("success with an empty section", len);
	if (cfg->handshake_ms < 1 || cfg->handshake_ms > 3600000 || cfg->connect_ms < 1 ||
	    cfg->connect_ms > 3600000 || cfg->workers > CONFIG_MAX_WORKERS ||
	    cfg->max_connections < 1 || cfg->max_connections > 1000000)
		fail("number out of range", len);
	for (i = 0; i < cfg->n_listeners; i++)
		if (!cfg->listeners[i].text || !cfg->listeners[i].addr.len)
			fail("listener without address", len);
	for (i = 0; i < cfg->n_backends; i++)
		if (!cfg->backends[i].name || !cfg->backends[i].text || !cfg->backends[i].addr.len)
			fail("backend without name or address", len);
	for (i = 0; i < cfg->n_routes; i++)
		if (!route_ok(cfg, &cfg->routes[i]))
			fail("bad route", len);
}

static void check_print(const struct config *cfg, size_t len)
{
	size_t out_len = 0;
	char *out = NULL;
	FILE *f;

	f = open_memstream(&out, &out_len);
	if (!f)
		return;
	config_print(cfg, f);
	fclose(f);
	if (!out_len || strncmp(out, "listeners:\n", 11))
		fail("config_print wrote nothing", len);
	free(out);
}

/* router_explain() must say "match" exactly for the routes router_match() would pick. */
static void check_router(const struct config *cfg, const struct route_input *in, size_t len)
{
	struct route_result res;
	char buf[512];
	long got;
	size_t i;

	got = router_match(cfg, in, &res);
	if (got != res.route && !(got == -ENOENT && res.route == -1))
		fail("router_match and res.route disagree", len);
	for (i = 0; i < cfg->n_routes; i++) {
		bool ok = router_explain(cfg, i, in, buf, sizeof(buf));

		if ((long)i < got && ok)
			fail("router_explain matches a route before the winner", len);
		if ((long)i == got && !ok)
			fail("router_explain rejects the winning route", len);
		if (got == -ENOENT && ok)
			fail("router_explain matches although router_match found none", len);
		if (!buf[0])
			fail("router_explain wrote nothing", len);
	}
	if (res.alpn && res.alpn_len != strlen(res.alpn))
		fail("res.alpn_len", len);
}

static void check_routes(const struct config *cfg, size_t len)
{
	static const uint8_t alpn[] = "\x02h2\x0bxmpp-client\x08http/1.1";
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6 };
	struct sockaddr_in sin = { .sin_family = AF_INET };
	const char *sni = NULL;
	struct route_input in;

	sin.sin_addr.s_addr = htonl(0xc0000207);	/* 192.0.2.7 */
	inet_pton(AF_INET6, "::ffff:10.1.2.3", &sin6.sin6_addr);
	/* the first sni pattern of the config, as a host name, plus one below it */
	if (cfg->routes[0].n_sni)
		sni = cfg->routes[0].sni[0].name + cfg->routes[0].sni[0].wildcard;

	in = (struct route_input){ .proto = PROTO_UNKNOWN };
	check_router(cfg, &in, len);
	in = (struct route_input){ .proto = PROTO_TLS, .name = sni, .alpn = alpn,
				   .alpn_len = sizeof(alpn) - 1,
				   .src = (const struct sockaddr *)&sin };
	check_router(cfg, &in, len);
	in.src = (const struct sockaddr *)&sin6;
	in.name = "a.example.org";
	check_router(cfg, &in, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config_error err;
	struct config cfg;
	char *text;
	int ret;

	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';

	memset(&err, 0xa5, sizeof(err));
	ret = config_parse(text, "fuzz.cfg", &cfg, &err);
	if (ret) {
		if (ret != -EINVAL && ret != -ENOMEM)
			fail("error other than -EINVAL/-ENOMEM", size);
		if (err.line < 0)
			fail("negative error line", size);
		if (!memchr(err.msg, '\0', sizeof(err.msg)) || !err.msg[0])
			fail("empty or unterminated error message", size);
		if (!cfg_empty(&cfg))
			fail("cfg not left empty on error", size);
		goto out_free_text;
	}
	check_config(&cfg, size);
	check_print(&cfg, size);
	check_routes(&cfg, size);
	config_free(&cfg);
	if (!cfg_empty(&cfg))
		fail("config_free left something behind", size);
out_free_text:
	free(text);
	return 0;
}
