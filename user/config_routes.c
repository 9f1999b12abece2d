// SPDX-License-Identifier: MIT
/*
 * config_routes.c - the routes section of the configuration file: each route's backend
 * (by name, among the backends already read), listener names (among the listeners'), protocol
 * names (the sniffers'), SNI and host patterns ("example.org", "*.example.org", lowercased and
 * checked as host names), ALPN protocol names, a PCRE2 regex and source prefixes; and a route
 * printed for `sockmux check`. Pure: no I/O (see config_routes.h).
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
#include "route_regex.h"
#include "sniff/sniff.h"

#define ALPN_NAME_MAX 255

static const char *const route_keys[] = { "listener", "protocol", "sni", "host", "alpn", "regex",
					  "source", "backend", NULL };

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

/* sni = [ ... ] or host = [ ... ]: host-name patterns into *out, *count. */
static int parse_names(const config_setting_t *list, struct config_sni_pattern **out,
		       size_t *count, struct config_error *err)
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
	*out = calloc((size_t)n, sizeof(**out));
	if (!*out)
		return cfg_err_nomem(err);
	for (i = 0; i < n; i++) {
		s = config_setting_get_elem(list, (unsigned int)i);
		ret = cfg_get_string(s, err, &str);
		if (ret)
			return ret;
		ret = sni_pattern_parse(str, &(*out)[i], &why);
		if (ret == -ENOMEM)
			return cfg_err_nomem(err);
		if (ret)
			return cfg_err_at(err, s, "invalid host name \"%s\": %s",
					  cfg_quote(str, q, sizeof(q)), why);
		(*count)++;
	}
	return 0;
}

/* listener = [ "public", ... ]: names some listener has. */
static int parse_listener_names(const config_setting_t *list, const struct config *cfg,
				struct config_route *r, struct config_error *err)
{
	const config_setting_t *s;
	const char *str = NULL;
	char q[QUOTE_MAX];
	int i, n, ret;
	size_t j;

	n = cfg_get_nonempty_list(list, "an array of listener names [ \"public\" ]", err);
	if (n < 0)
		return n;
	r->listeners = calloc((size_t)n, sizeof(*r->listeners));
	if (!r->listeners)
		return cfg_err_nomem(err);
	for (i = 0; i < n; i++) {
		s = config_setting_get_elem(list, (unsigned int)i);
		ret = cfg_get_string(s, err, &str);
		if (ret)
			return ret;
		for (j = 0; j < cfg->n_listeners; j++)
			if (cfg->listeners[j].name && !strcmp(cfg->listeners[j].name, str))
				break;
		if (j == cfg->n_listeners)
			return cfg_err_at(err, s, "no listener named \"%s\" (listen = ( { ...; "
					  "name = \"...\"; } ))", cfg_quote(str, q, sizeof(q)));
		r->listeners[i] = strdup(str);
		if (!r->listeners[i])
			return cfg_err_nomem(err);
		r->n_listeners++;
	}
	return 0;
}

/* protocol = [ "ssh", ... ]: names of sniffers, "unknown" or "timeout". */
static int parse_protocols(const config_setting_t *list, struct config_route *r,
			   struct config_error *err)
{
	const config_setting_t *s;
	const char *str = NULL;
	char q[QUOTE_MAX], known[256] = "";
	int i, n, p, ret;

	n = cfg_get_nonempty_list(list, "an array of protocol names [ \"ssh\", \"tls\" ]", err);
	if (n < 0)
		return n;
	for (i = 0; i < n; i++) {
		s = config_setting_get_elem(list, (unsigned int)i);
		ret = cfg_get_string(s, err, &str);
		if (ret)
			return ret;
		p = sniff_proto_by_name(str);
		if (p < 0) {
			for (p = 0; p < PROTO__COUNT; p++) {
				const char *name = sniff_proto_name((enum sniff_proto)p);

				if (strcmp(name, "?"))
					snprintf(known + strlen(known), sizeof(known) - strlen(known),
						 "%s%s", *known ? ", " : "", name);
			}
			return cfg_err_at(err, s, "unknown protocol \"%s\" (known: %s)",
					  cfg_quote(str, q, sizeof(q)), known);
		}
		r->protocols |= 1u << p;
	}
	return 0;
}

static int parse_regex(const config_setting_t *s, struct config_route *r,
		       struct config_error *err)
{
	const char *str = NULL;
	char why[200];
	int ret;

	ret = cfg_get_string(s, err, &str);
	if (ret)
		return ret;
	ret = route_regex_compile(str, &r->regex, why, sizeof(why));
	if (ret == -ENOMEM)
		return cfg_err_nomem(err);
	if (ret)
		return cfg_err_at(err, s, "invalid regex: %s", why);
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

/* Each condition key present in route g; 0 or the error's return. */
static int parse_conditions(const config_setting_t *g, const struct config *cfg,
			    struct config_route *r, struct config_error *err)
{
	const config_setting_t *s;
	int ret = 0;

	if ((s = config_setting_get_member(g, "listener")))
		ret = parse_listener_names(s, cfg, r, err);
	if (!ret && (s = config_setting_get_member(g, "protocol")))
		ret = parse_protocols(s, r, err);
	if (!ret && (s = config_setting_get_member(g, "sni")))
		ret = parse_names(s, &r->sni, &r->n_sni, err);
	if (!ret && (s = config_setting_get_member(g, "host")))
		ret = parse_names(s, &r->host, &r->n_host, err);
	if (!ret && (s = config_setting_get_member(g, "alpn")))
		ret = parse_alpn(s, r, err);
	if (!ret && (s = config_setting_get_member(g, "regex")))
		ret = parse_regex(s, r, err);
	if (!ret && (s = config_setting_get_member(g, "source")))
		ret = cfg_get_prefixes(s, &r->source, &r->n_source, err);
	return ret;
}

/*
 * protocol "timeout" needs probe_ms below handshake_ms, or no client would ever be silent
 * long enough for it.
 */
static int check_probe(const config_setting_t *list, struct config *cfg,
		       struct config_error *err)
{
	for (size_t i = 0; i < cfg->n_routes; i++) {
		const config_setting_t *g = config_setting_get_elem(list, (unsigned int)i);

		if (!(cfg->routes[i].protocols & (1u << PROTO_TIMEOUT)))
			continue;
		cfg->probes = true;
		if (cfg->probe_ms >= cfg->handshake_ms)
			return cfg_err_at(err, config_setting_get_member(g, "protocol"),
					  "protocol \"timeout\" needs timeouts.probe_ms (%u) below "
					  "timeouts.handshake_ms (%u)", cfg->probe_ms,
					  cfg->handshake_ms);
	}
	return 0;
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
	return parse_conditions(g, cfg, r, err);
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
	return check_probe(list, cfg, err);
}

void config_print_route(const struct config *cfg, size_t i, FILE *f)
{
	const struct config_route *r = &cfg->routes[i];
	char buf[ADDR_STRLEN + 4], q[2 * ALPN_NAME_MAX];
	size_t j, k;

	fprintf(f, "  #%zu", i + 1);
	for (j = 0; j < r->n_listeners; j++)
		fprintf(f, "%s%s", j ? "," : " listener=", cfg_quote(r->listeners[j], q, sizeof(q)));
	for (j = 0, k = 0; j < PROTO__COUNT; j++)
		if (r->protocols & (1u << j))
			fprintf(f, "%s%s", k++ ? "," : " protocol=",
				sniff_proto_name((enum sniff_proto)j));
	for (j = 0; j < r->n_sni; j++)
		fprintf(f, "%s%s%s", j ? "," : " sni=", r->sni[j].wildcard ? "*" : "",
			r->sni[j].name);
	for (j = 0; j < r->n_host; j++)
		fprintf(f, "%s%s%s", j ? "," : " host=", r->host[j].wildcard ? "*" : "",
			r->host[j].name);
	for (j = 0; j < r->n_alpn; j++)
		fprintf(f, "%s%s", j ? "," : " alpn=", cfg_quote(r->alpn[j], q, sizeof(q)));
	if (r->regex)
		fprintf(f, " regex=\"%s\"", cfg_quote(r->regex->text, q, sizeof(q)));
	for (j = 0; j < r->n_source; j++)
		fprintf(f, "%s%s", j ? "," : " source=",
			cidr_format(&r->source[j], buf, sizeof(buf)));
	if (!r->n_listeners && !r->protocols && !r->n_sni && !r->n_host && !r->n_alpn &&
	    !r->regex && !r->n_source)
		fprintf(f, " (default)");
	fprintf(f, " -> %s (line %d)\n", cfg->backends[r->backend].name, r->line);
}
