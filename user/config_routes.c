// SPDX-License-Identifier: MIT
/*
 * config_routes.c - the routes section of the configuration file: each route's backend
 * (by name, among the backends already read), SNI patterns ("example.org", "*.example.org",
 * lowercased and checked as host names), ALPN protocol names and source prefixes; and a
 * route printed for `sockmux check`. Pure: no I/O (see config_routes.h).
 */
#include <errno.h>
#include <libconfig.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "config.h"
#include "config_routes.h"
#include "config_setting.h"
#include "hostname.h"

#define ALPN_NAME_MAX 255

static const char *const route_keys[] = { "sni", "alpn", "source", "backend", NULL };

/*
 * "Example.ORG." -> exact "example.org"; "*.example.org" -> wildcard ".example.org". The name
 * (after "*." for a wildcard) follows the one host-name rule (hostname.h).
 * Returns 0, -EINVAL with *why set, or -ENOMEM.
 */
static int sni_pattern_parse(const char *text, struct config_sni_pattern *p, const char **why)
{
	static const char *const problem[] = {
		[HOSTNAME_EMPTY] = "empty name",
		[HOSTNAME_TOO_LONG] = "longer than 253 characters",
		[HOSTNAME_BAD_BYTE] = "only letters, digits, '-', '_' and '.' are allowed",
		[HOSTNAME_EMPTY_LABEL] = "empty label",
		[HOSTNAME_LONG_LABEL] = "label longer than 63 characters",
	};
	char buf[HOSTNAME_MAX + 2];
	size_t len = strlen(text), name_len;
	enum hostname_problem hp;

	p->wildcard = len >= 2 && text[0] == '*' && text[1] == '.';
	if (p->wildcard) {
		text += 2;
		len -= 2;
		if (!len || (len == 1 && text[0] == '.')) {
			*why = "nothing after \"*.\"";
			return -EINVAL;
		}
	}
	if (memchr(text, '*', len)) {
		*why = "'*' is only allowed as the whole first label, as in \"*.example.org\"";
		return -EINVAL;
	}
	/* a wildcard keeps the dot before its suffix */
	buf[0] = '.';
	hp = hostname_normalize(text, len, buf + 1, &name_len);
	if (hp != HOSTNAME_OK) {
		*why = problem[hp];
		return -EINVAL;
	}
	p->name = strdup(p->wildcard ? buf : buf + 1);
	return p->name ? 0 : -ENOMEM;
}

static int parse_sni(const config_setting_t *list, struct config_route *r, struct config_error *err)
{
	const config_setting_t *s;
	char q[QUOTE_MAX];
	const char *str = NULL, *why = NULL;
	int i, n, ret;

	n = cfg_get_nonempty_list(list,
				  "an array of host names [ \"example.org\", \"*.example.org\" ]",
				  err);
	if (n < 0)
		return n;
	r->sni = calloc((size_t)n, sizeof(*r->sni));
	if (!r->sni)
		return cfg_err_nomem(err);
	for (i = 0; i < n; i++) {
		s = config_setting_get_elem(list, (unsigned int)i);
		ret = cfg_get_string(s, err, &str);
		if (ret)
			return ret;
		ret = sni_pattern_parse(str, &r->sni[i], &why);
		if (ret == -ENOMEM)
			return cfg_err_nomem(err);
		if (ret)
			return cfg_err_at(err, s, "invalid host name \"%s\": %s",
					  cfg_quote(str, q, sizeof(q)), why);
		r->n_sni++;
	}
	return 0;
}

static int parse_alpn(const config_setting_t *list, struct config_route *r,
		      struct config_error *err)
{
	const config_setting_t *s;
	const char *str = NULL;
	int i, n, ret;

	n = cfg_get_nonempty_list(list, "an array of protocol names [ \"h2\", \"http/1.1\" ]", err);
	if (n < 0)
		return n;
	r->alpn = calloc((size_t)n, sizeof(*r->alpn));
	if (!r->alpn)
		return cfg_err_nomem(err);
	for (i = 0; i < n; i++) {
		s = config_setting_get_elem(list, (unsigned int)i);
		ret = cfg_get_string(s, err, &str);
		if (ret)
			return ret;
		if (!*str)
			return cfg_err_at(err, s, "empty protocol name");
		if (strlen(str) > ALPN_NAME_MAX)
			return cfg_err_at(err, s, "protocol name longer than 255 bytes");
		r->alpn[i] = strdup(str);
		if (!r->alpn[i])
			return cfg_err_nomem(err);
		r->n_alpn++;
	}
	return 0;
}

static int find_backend(const struct config *cfg, const char *name, size_t *idx)
{
	size_t i;

	for (i = 0; i < cfg->n_backends; i++) {
		if (!strcmp(cfg->backends[i].name, name)) {
			*idx = i;
			return 0;
		}
	}
	return -ENOENT;
}

static int parse_route(const config_setting_t *g, struct config *cfg, struct config_route *r,
		       struct config_error *err)
{
	const config_setting_t *s;
	char q[QUOTE_MAX];
	const char *name = NULL;
	int ret;

	if (!config_setting_is_group(g))
		return cfg_err_at(err, g, "expected a group { ...; backend = \"name\"; }, got %s",
				  cfg_type_name(g));
	r->line = cfg_line(g);
	ret = cfg_check_keys(g, route_keys, err);
	if (ret)
		return ret;
	s = config_setting_get_member(g, "backend");
	if (!s)
		return cfg_err_at(err, g, "missing required key \"backend\"");
	ret = cfg_get_string(s, err, &name);
	if (ret)
		return ret;
	if (find_backend(cfg, name, &r->backend))
		return cfg_err_at(err, s, "no backend named \"%s\"", cfg_quote(name, q, sizeof(q)));
	s = config_setting_get_member(g, "sni");
	if (s) {
		ret = parse_sni(s, r, err);
		if (ret)
			return ret;
	}
	s = config_setting_get_member(g, "alpn");
	if (s) {
		ret = parse_alpn(s, r, err);
		if (ret)
			return ret;
	}
	s = config_setting_get_member(g, "source");
	if (s)
		return cfg_get_prefixes(s, &r->source, &r->n_source, err);
	return 0;
}

int config_parse_routes(const config_setting_t *root, struct config *cfg,
			struct config_error *err)
{
	const config_setting_t *list;
	int i, n, ret;

	list = config_setting_get_member(root, "routes");
	if (!list)
		return cfg_err_set(err, 0, "missing required key \"routes\"");
	n = cfg_get_nonempty_list(list, "a list of groups ( { ...; backend = \"name\"; }, ... )",
				  err);
	if (n < 0)
		return n;
	cfg->routes = calloc((size_t)n, sizeof(*cfg->routes));
	if (!cfg->routes)
		return cfg_err_nomem(err);
	for (i = 0; i < n; i++) {
		/* counted first so that config_free() releases a half-parsed route */
		cfg->n_routes++;
		ret = parse_route(config_setting_get_elem(list, (unsigned int)i), cfg,
				  &cfg->routes[i], err);
		if (ret)
			return ret;
	}
	return 0;
}

void config_print_route(const struct config *cfg, size_t i, FILE *f)
{
	const struct config_route *r = &cfg->routes[i];
	char buf[ADDR_STRLEN + 4], q[2 * ALPN_NAME_MAX];
	size_t j;

	fprintf(f, "  #%zu", i + 1);
	for (j = 0; j < r->n_sni; j++)
		fprintf(f, "%s%s%s", j ? "," : " sni=", r->sni[j].wildcard ? "*" : "",
			r->sni[j].name);
	for (j = 0; j < r->n_alpn; j++)
		fprintf(f, "%s%s", j ? "," : " alpn=", cfg_quote(r->alpn[j], q, sizeof(q)));
	for (j = 0; j < r->n_source; j++)
		fprintf(f, "%s%s", j ? "," : " source=",
			cidr_format(&r->source[j], buf, sizeof(buf)));
	if (!r->n_sni && !r->n_alpn && !r->n_source)
		fprintf(f, " (default)");
	fprintf(f, " -> %s (line %d)\n", cfg->backends[r->backend].name, r->line);
}
