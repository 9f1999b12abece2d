// SPDX-License-Identifier: MIT
/* config_health.c - a backend's health checks (see config_health.h). Pure: no I/O. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config_health.h"
#include "config_setting.h"
#include "hostname.h"

#define HEALTH_MIN_INTERVAL_MS 100
#define HEALTH_MAX_MS 3600000
#define HEALTH_MAX_COUNT 100

static const char *const health_keys[] = { "interval_ms", "timeout_ms", "rise", "fall", "tls",
					   "sni", NULL };

static int parse_sni(const config_setting_t *g, struct config_health *h,
		     struct config_error *err)
{
	const config_setting_t *s = config_setting_get_member(g, "sni");
	char name[HOSTNAME_MAX + 1], q[QUOTE_MAX];
	struct in6_addr a6;
	const char *str = NULL;
	size_t len;
	int ret;

	if (!s)
		return 0;
	ret = cfg_get_string(s, err, &str);
	if (ret)
		return ret;
	if (strchr(str, '*'))
		return cfg_err_at(err, s, "\"%s\": a check sends one exact name, not a wildcard",
				  cfg_quote(str, q, sizeof(q)));
	if (inet_pton(AF_INET, str, &a6) == 1 || inet_pton(AF_INET6, str, &a6) == 1)
		return cfg_err_at(err, s, "\"%s\": an IP address is not a server name (RFC 6066)",
				  cfg_quote(str, q, sizeof(q)));
	if (hostname_normalize(str, strlen(str), name, &len) != HOSTNAME_OK)
		return cfg_err_at(err, s, "invalid server name \"%s\": letters, digits, '-' and '.'"
				  " in labels of 1..63 bytes", cfg_quote(str, q, sizeof(q)));
	if (!h->tls)
		return cfg_err_at(err, s, "sni is sent by TLS checks only: add tls = true");
	h->sni = strdup(name);
	return h->sni ? 0 : cfg_err_nomem(err);
}

int config_parse_health(const config_setting_t *g, struct config_backend *b,
			struct config_error *err)
{
	const config_setting_t *hg = config_setting_get_member(g, "health");
	struct config_health *h = &b->health;
	const config_setting_t *s;
	int ret;

	h->interval_ms = CONFIG_HEALTH_INTERVAL_MS;
	h->timeout_ms = CONFIG_HEALTH_TIMEOUT_MS;
	h->rise = CONFIG_HEALTH_RISE;
	h->fall = CONFIG_HEALTH_FALL;
	if (!hg)
		return 0;
	if (!config_setting_is_group(hg))
		return cfg_err_at(err, hg, "expected a group { interval_ms = 2000; ... }, got %s",
				  cfg_type_name(hg));
	ret = cfg_check_keys(hg, health_keys, err);
	if (!ret)
		ret = cfg_get_opt_uint(hg, "interval_ms", HEALTH_MIN_INTERVAL_MS, HEALTH_MAX_MS,
				       err, &h->interval_ms);
	if (!ret && h->timeout_ms > h->interval_ms)
		h->timeout_ms = h->interval_ms;	/* the default follows a short interval */
	if (!ret)
		ret = cfg_get_opt_uint(hg, "timeout_ms", 1, HEALTH_MAX_MS, err, &h->timeout_ms);
	if (!ret)
		ret = cfg_get_opt_uint(hg, "rise", 1, HEALTH_MAX_COUNT, err, &h->rise);
	if (!ret)
		ret = cfg_get_opt_uint(hg, "fall", 1, HEALTH_MAX_COUNT, err, &h->fall);
	if (!ret && (s = config_setting_get_member(hg, "tls")))
		ret = cfg_get_bool(s, err, &h->tls);
	if (!ret)
		ret = parse_sni(hg, h, err);
	if (!ret)
		h->on = true;
	return ret;
}

/* The first exact name among a route's patterns; NULL when all are wildcards. */
static const char *exact_name(const struct config_sni_pattern *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!p[i].wildcard)
			return p[i].name;
	return NULL;
}

int config_health_names(const config_setting_t *root, struct config *cfg,
			struct config_error *err)
{
	(void)root;
	for (size_t i = 0; i < cfg->n_backends; i++) {
		struct config_health *h = &cfg->backends[i].health;
		const char *name = NULL;

		if (!h->on || !h->tls || h->sni)
			continue;
		for (size_t r = 0; !name && r < cfg->n_routes; r++) {
			const struct config_route *rt = &cfg->routes[r];

			if (rt->backend != i)
				continue;
			name = exact_name(rt->sni, rt->n_sni);
			if (!name)
				name = exact_name(rt->host, rt->n_host);
		}
		if (name && !(h->sni = strdup(name)))
			return cfg_err_nomem(err);
	}
	return 0;
}
