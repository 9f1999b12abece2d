// SPDX-License-Identifier: MIT
/*
 * config_file.c - read sockmux's configuration file (libconfig syntax) into a checked, resolved
 * struct config (config.h), or into one error naming the line and the key path (see
 * config_file.h and docs/config.md). Key paths use libconfig's own syntax, list indices from 0:
 * "routes.[1].backend" is the backend of the second route. The typed reads of settings and
 * the errors that name line and key are in config_setting.c, the routes section in
 * config_routes.c; this file knows the other sections and reads and prints the file.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE		/* the GNU strerror_r(), returning the message */
#endif
#include <errno.h>
#include <fcntl.h>
#include <libconfig.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "config_file.h"
#include "config_health.h"
#include "config_routes.h"
#include "config_servers.h"
#include "config_setting.h"
#include "escape.h"

#define CONFIG_MAX_FILE_SIZE (1024 * 1024)
#define CONFIG_MAX_TIMEOUT_MS 3600000
#define CONFIG_MAX_MAX_CONNECTIONS 1000000

static const char *const top_keys[] = { "listen", "timeouts", "backends", "routes", "workers",
					"max_connections", "max_handshakes",
					"max_connections_per_source", "sockmap_after_bytes",
					"control", "metrics", "user", NULL };
static const char *const listen_keys[] = { "address", "name", "accept_proxy", "trusted",
					   NULL };
static const char *const backend_keys[] = { "address", "servers", "balance", "retries",
					    "health", "proxy_protocol", "proxy_protocol_crc",
					    "transparent", "source", NULL };
static const char *const timeout_keys[] = { "handshake_ms", "connect_ms", "probe_ms", NULL };

/*
 * A group { address = "ip:port"; ... } (listener or backend, whose keys are known): its text,
 * copied, and address.
 */
static int parse_address_group(const config_setting_t *g, const char *const *known,
			       struct config_error *err, char **text, struct addr *addr)
{
	const config_setting_t *s;
	char q[QUOTE_MAX];
	const char *str = NULL;
	int ret;

	if (!config_setting_is_group(g))
		return cfg_err_at(err, g, "expected a group { address = \"ip:port\"; }, got %s",
				  cfg_type_name(g));
	ret = cfg_check_keys(g, known, err);
	if (ret)
		return ret;
	s = config_setting_get_member(g, "address");
	if (!s)
		return cfg_err_at(err, g, "missing required key \"address\"");
	ret = cfg_get_string(s, err, &str);
	if (ret)
		return ret;
	if (addr_parse(str, addr))
		return cfg_err_at(err, s, "invalid address \"%s\": %s",
				  cfg_quote(str, q, sizeof(q)), addr_problem(str));
	*text = strdup(str);
	if (!*text)
		return cfg_err_nomem(err);
	return 0;
}

/* --- sections -------------------------------------------------------------------------- */

/* A listener's accept_proxy and trusted keys: both or neither. */
static int parse_accept_proxy(const config_setting_t *g, struct config_listener *l,
			      struct config_error *err)
{
	const config_setting_t *s, *trusted;
	int ret;

	s = config_setting_get_member(g, "accept_proxy");
	if (s) {
		ret = cfg_get_bool(s, err, &l->accept_proxy);
		if (ret)
			return ret;
	}
	trusted = config_setting_get_member(g, "trusted");
	if (trusted && !l->accept_proxy)
		return cfg_err_at(err, trusted, "only meaningful with accept_proxy = true");
	if (!l->accept_proxy)
		return 0;
	if (!trusted)
		return cfg_err_at(err, s,
			      "requires trusted = [ \"prefix\", ... ]: the load balancers allowed "
				  "to send the PROXY header");
	return cfg_get_prefixes(trusted, &l->trusted, &l->n_trusted, err);
}

/* name = "public": optional; several listeners may share a name. */
static int parse_listener_name(const config_setting_t *g, struct config_listener *l,
			       struct config_error *err)
{
	const config_setting_t *s = config_setting_get_member(g, "name");
	const char *name = NULL;
	int ret;

	if (!s)
		return 0;
	ret = cfg_get_string(s, err, &name);
	if (ret)
		return ret;
	if (!*name || strlen(name) > CONFIG_NAME_MAX)
		return cfg_err_at(err, s, "a listener name is 1 to %d characters", CONFIG_NAME_MAX);
	l->name = strdup(name);
	return l->name ? 0 : cfg_err_nomem(err);
}

static int parse_listeners(const config_setting_t *root, struct config *cfg,
			   struct config_error *err)
{
	const config_setting_t *list, *g;
	const struct sockaddr *sa;
	char a[ADDR_STRLEN];
	int i, j, n, ret;

	list = config_setting_get_member(root, "listen");
	if (!list)
		return cfg_err_set(err, 0, "missing required key \"listen\"");
	n = cfg_get_nonempty_list(list, "a list of groups ( { address = \"ip:port\"; }, ... )",
				  err);
	if (n < 0)
		return n;
	cfg->listeners = calloc((size_t)n, sizeof(*cfg->listeners));
	if (!cfg->listeners)
		return cfg_err_nomem(err);
	for (i = 0; i < n; i++) {
		struct config_listener *l = &cfg->listeners[i];

		g = config_setting_get_elem(list, (unsigned int)i);
		ret = parse_address_group(g, listen_keys, err, &l->text, &l->addr);
		if (ret)
			return ret;
		cfg->n_listeners++;
		l->sock_type = SOCK_STREAM;
		l->line = cfg_line(config_setting_get_member(g, "address"));
		ret = parse_accept_proxy(g, l, err);
		if (ret)
			return ret;
		ret = parse_listener_name(g, l, err);
		if (ret)
			return ret;
		for (j = 0; j < i; j++) {
			if (cfg->listeners[j].sock_type != l->sock_type ||
			    !addr_equal(&cfg->listeners[j].addr, &l->addr))
				continue;
			sa = (const struct sockaddr *)&l->addr.ss;
			return cfg_err_at(err, config_setting_get_member(g, "address"),
					  "duplicate listener %s (also listen.[%d], line %d)",
					  addr_format(sa, a, sizeof(a)), j, cfg->listeners[j].line);
		}
	}
	return 0;
}

/* A backend's proxy_protocol ("v1", "v2") and proxy_protocol_crc (v2 only) keys. */
static int parse_proxy_protocol(const config_setting_t *g, struct config_backend *b,
				struct config_error *err)
{
	const config_setting_t *s;
	char q[QUOTE_MAX];
	const char *str = NULL;
	int ret;

	s = config_setting_get_member(g, "proxy_protocol");
	if (s) {
		ret = cfg_get_string(s, err, &str);
		if (ret)
			return ret;
		if (!strcmp(str, "v1"))
			b->proxy_protocol = 1;
		else if (!strcmp(str, "v2"))
			b->proxy_protocol = 2;
		else
			return cfg_err_at(err, s, "expected \"v1\" or \"v2\", got \"%s\"",
					  cfg_quote(str, q, sizeof(q)));
	}
	s = config_setting_get_member(g, "proxy_protocol_crc");
	if (!s)
		return 0;
	if (b->proxy_protocol != 2)
		return cfg_err_at(err, s, "only a v2 header carries a CRC32C: "
				  "set proxy_protocol = \"v2\" as well");
	return cfg_get_bool(s, err, &b->proxy_protocol_crc);
}

static int parse_backends(const config_setting_t *root, struct config *cfg,
			  struct config_error *err)
{
	const config_setting_t *group, *g;
	int i, n, ret;

	group = config_setting_get_member(root, "backends");
	if (!group)
		return cfg_err_set(err, 0, "missing required key \"backends\"");
	if (!config_setting_is_group(group))
		return cfg_err_at(err, group,
			      "expected a group { name = { address = \"ip:port\"; }; ... }, got %s",
				  cfg_type_name(group));
	n = config_setting_length(group);
	if (n <= 0)
		return cfg_err_at(err, group, "empty group: at least one backend is required");
	cfg->backends = calloc((size_t)n, sizeof(*cfg->backends));
	if (!cfg->backends)
		return cfg_err_nomem(err);
	for (i = 0; i < n; i++) {
		struct config_backend *b = &cfg->backends[i];

		g = config_setting_get_elem(group, (unsigned int)i);
		b->name = strdup(config_setting_name(g));
		if (!b->name)
			return cfg_err_nomem(err);
		cfg->n_backends++;
		b->line = cfg_line(g);
		if (!config_setting_is_group(g))
			return cfg_err_at(err, g, "expected a group { address = \"ip:port\"; }, "
					  "got %s", cfg_type_name(g));
		ret = cfg_check_keys(g, backend_keys, err);
		if (!ret)
			ret = config_parse_servers(g, b, err);
		if (ret)
			return ret;
		ret = parse_proxy_protocol(g, b, err);
		if (ret)
			return ret;
	}
	return 0;
}

static int parse_timeouts(const config_setting_t *root, struct config *cfg,
			  struct config_error *err)
{
	const config_setting_t *group;
	int ret;

	cfg->handshake_ms = CONFIG_DEFAULT_HANDSHAKE_MS;
	cfg->connect_ms = CONFIG_DEFAULT_CONNECT_MS;
	cfg->probe_ms = CONFIG_DEFAULT_PROBE_MS;
	group = config_setting_get_member(root, "timeouts");
	if (!group)
		return 0;
	if (!config_setting_is_group(group))
		return cfg_err_at(err, group,
				  "expected a group { handshake_ms = N; connect_ms = N; probe_ms = N; }, "
				  "got %s",
				  cfg_type_name(group));
	ret = cfg_check_keys(group, timeout_keys, err);
	if (ret)
		return ret;
	ret = cfg_get_opt_uint(group, "handshake_ms", 1, CONFIG_MAX_TIMEOUT_MS, err,
			       &cfg->handshake_ms);
	if (ret)
		return ret;
	ret = cfg_get_opt_uint(group, "probe_ms", 1, CONFIG_MAX_TIMEOUT_MS, err, &cfg->probe_ms);
	if (ret)
		return ret;
	return cfg_get_opt_uint(group, "connect_ms", 1, CONFIG_MAX_TIMEOUT_MS, err,
				&cfg->connect_ms);
}

static int parse_limits(const config_setting_t *root, struct config *cfg,
			struct config_error *err)
{
	int ret;

	cfg->workers = 0;
	cfg->max_connections = CONFIG_DEFAULT_MAX_CONNECTIONS;
	cfg->max_handshakes = 0;
	cfg->max_per_source = 0;
	cfg->sockmap_after = CONFIG_DEFAULT_SOCKMAP_AFTER;
	ret = cfg_get_opt_uint(root, "workers", 0, CONFIG_MAX_WORKERS, err, &cfg->workers);
	if (ret)
		return ret;
	ret = cfg_get_opt_uint(root, "max_connections", 1, CONFIG_MAX_MAX_CONNECTIONS, err,
			       &cfg->max_connections);
	if (ret)
		return ret;
	ret = cfg_get_opt_uint(root, "max_handshakes", 1, CONFIG_MAX_MAX_CONNECTIONS, err,
			       &cfg->max_handshakes);
	if (ret)
		return ret;
	ret = cfg_get_opt_uint(root, "max_connections_per_source", 0, CONFIG_MAX_MAX_CONNECTIONS,
			       err, &cfg->max_per_source);
	if (ret)
		return ret;
	return cfg_get_opt_uint(root, "sockmap_after_bytes", 0, CONFIG_MAX_SOCKMAP_AFTER, err,
				&cfg->sockmap_after);
}

/*
 * control: the path of the Unix control socket, absolute, short enough for sun_path; "" turns
 * it off. user: who to run as after the set-up (whether it exists is checked at run time).
 * metrics: the address of the Prometheus endpoint; absent, there is none.
 */
static int parse_daemon_keys(const config_setting_t *root, struct config *cfg,
			     struct config_error *err)
{
	const config_setting_t *s;
	const char *str = CONFIG_DEFAULT_CONTROL;
	char q[QUOTE_MAX];
	int ret;

	s = config_setting_get_member(root, "control");
	if (s) {
		ret = cfg_get_string(s, err, &str);
		if (ret)
			return ret;
		if (*str && *str != '/')
			return cfg_err_at(err, s, "\"%s\" is not an absolute path (\"\" turns the "
					  "control socket off)", cfg_quote(str, q, sizeof(q)));
		if (strlen(str) >= CONFIG_CONTROL_PATH_MAX)
			return cfg_err_at(err, s, "path longer than %d bytes",
					  CONFIG_CONTROL_PATH_MAX - 1);
		cfg->control_explicit = true;
	}
	cfg->control = strdup(str);
	if (!cfg->control)
		return cfg_err_nomem(err);
	s = config_setting_get_member(root, "user");
	if (s) {
		ret = cfg_get_string(s, err, &str);
		if (ret)
			return ret;
		if (!*str || strlen(str) > CONFIG_USER_MAX || strpbrk(str, ":/ \t\n"))
			return cfg_err_at(err, s, "\"%s\" is not a user name",
					  cfg_quote(str, q, sizeof(q)));
		cfg->user = strdup(str);
		if (!cfg->user)
			return cfg_err_nomem(err);
		cfg->user_line = cfg_line(s);
	}
	s = config_setting_get_member(root, "metrics");
	if (!s)
		return 0;
	ret = cfg_get_string(s, err, &str);
	if (ret)
		return ret;
	if (addr_parse(str, &cfg->metrics))
		return cfg_err_at(err, s, "invalid address \"%s\": %s",
				  cfg_quote(str, q, sizeof(q)), addr_problem(str));
	cfg->metrics_text = strdup(str);
	if (!cfg->metrics_text)
		return cfg_err_nomem(err);
	return 0;
}

/* The sections in the order they are read: routes name backends, so backends come first. */
static int (*const parse_sections[])(const config_setting_t *root, struct config *cfg,
				     struct config_error *err) = {
	parse_listeners, parse_timeouts, parse_backends, config_parse_routes,
	config_health_names, parse_limits, parse_daemon_keys,
};

static int parse_root(const config_setting_t *root, struct config *cfg,
		      struct config_error *err)
{
	int ret = cfg_check_keys(root, top_keys, err);

	for (size_t i = 0; !ret && i < sizeof(parse_sections) / sizeof(parse_sections[0]); i++)
		ret = parse_sections[i](root, cfg, err);
	return ret;
}

/* --- entry points ---------------------------------------------------------------------- */

/*
 * libconfig 1.5 takes a "#" or "//" comment ending the text without a newline for a syntax
 * error; most editors can save a file so. Returns text, or a copy with "\n" appended in
 * *copy (free it), or NULL when out of memory.
 */
static const char *with_final_newline(const char *text, char **copy)
{
	size_t len = strlen(text);

	*copy = NULL;
	if (!len || text[len - 1] == '\n')
		return text;
	*copy = malloc(len + 2);
	if (!*copy)
		return NULL;
	memcpy(*copy, text, len);
	(*copy)[len] = '\n';
	(*copy)[len + 1] = '\0';
	return *copy;
}

int config_parse(const char *text, const char *path, struct config *cfg,
		 struct config_error *err)
{
	char *copy;
	config_t lc;
	int ret;

	memset(cfg, 0, sizeof(*cfg));
	memset(err, 0, sizeof(*err));
	if (!text)
		return cfg_err_set(err, 0, "no configuration text");
	ret = cfg_check_no_include(text, err);
	if (ret)
		return ret;
	text = with_final_newline(text, &copy);
	if (!text)
		return cfg_err_nomem(err);
	config_init(&lc);
	if (!config_read_string(&lc, text)) {
		ret = cfg_err_set(err, config_error_line(&lc), "%s",
				  config_error_text(&lc) ? config_error_text(&lc) : "syntax error");
		goto out_destroy_lc;
	}
	ret = cfg_check_int_literals(text, config_root_setting(&lc), err);
	if (ret)
		goto out_destroy_lc;
	cfg->path = strdup(path ? path : "-");
	if (!cfg->path) {
		ret = cfg_err_nomem(err);
		goto out_destroy_lc;
	}
	ret = parse_root(config_root_setting(&lc), cfg, err);
	if (ret)
		goto out_free_cfg;
	config_destroy(&lc);
	free(copy);
	return 0;

out_free_cfg:
	config_free(cfg);
out_destroy_lc:
	config_destroy(&lc);
	free(copy);
	return ret;
}

static int err_errno(struct config_error *err, const char *what, int errnum)
{
	char buf[128];

	err->line = 0;
	snprintf(err->msg, sizeof(err->msg), "%s: %s", what, strerror_r(errnum, buf, sizeof(buf)));
	return -errnum;
}

/* Read the whole file at path, NUL-terminated, into *text (*len bytes before the NUL). */
static int read_file(const char *path, char **text, size_t *len, struct config_error *err)
{
	size_t size = 4096, used = 0;
	char *buf, *bigger;
	ssize_t n;
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_errno(err, "cannot open", errno);
	buf = malloc(size);
	if (!buf) {
		ret = cfg_err_nomem(err);
		goto out_close_fd;
	}
	for (;;) {
		if (used > CONFIG_MAX_FILE_SIZE) {
			ret = -EFBIG;
			snprintf(err->msg, sizeof(err->msg), "file larger than %d bytes",
				 CONFIG_MAX_FILE_SIZE);
			goto out_free_buf;
		}
		if (used + 1 == size) {
			bigger = realloc(buf, size * 2);
			if (!bigger) {
				ret = cfg_err_nomem(err);
				goto out_free_buf;
			}
			buf = bigger;
			size *= 2;
		}
		n = read(fd, buf + used, size - used - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = err_errno(err, "cannot read", errno);
			goto out_free_buf;
		}
		if (n == 0)
			break;
		used += (size_t)n;
	}
	buf[used] = '\0';
	close(fd);
	*text = buf;
	*len = used;
	return 0;

out_free_buf:
	free(buf);
out_close_fd:
	close(fd);
	return ret;
}

int config_load(const char *path, struct config *cfg, struct config_error *err)
{
	const char *nul, *p;
	char *text = NULL;
	size_t len = 0;
	int ret, line = 1;

	memset(cfg, 0, sizeof(*cfg));
	memset(err, 0, sizeof(*err));
	ret = read_file(path, &text, &len, err);
	if (ret)
		return ret;
	nul = memchr(text, '\0', len);
	if (nul) {
		for (p = text; p < nul; p++)
			line += *p == '\n';
		ret = cfg_err_set(err, line, "NUL byte in the file (not a text file?)");
		goto out_free_text;
	}
	ret = config_parse(text, path, cfg, err);
out_free_text:
	free(text);
	return ret;
}

static void print_listener(const struct config_listener *l, FILE *f)
{
	char buf[ADDR_STRLEN + 4], q[4 * CONFIG_NAME_MAX + 8];
	size_t j;

	fprintf(f, "  %s", addr_format((const struct sockaddr *)&l->addr.ss, buf, sizeof(buf)));
	if (l->name)
		fprintf(f, " name=%s", cfg_quote(l->name, q, sizeof(q)));
	if (l->accept_proxy)
		fprintf(f, " accept_proxy");
	for (j = 0; j < l->n_trusted; j++)
		fprintf(f, "%s%s", j ? "," : " trusted=",
			cidr_format(&l->trusted[j], buf, sizeof(buf)));
	fprintf(f, " (line %d)\n", l->line);
}

/* " transparent", or " transparent=1,0,1" per server when its servers differ */
static void print_transparent(const struct config_backend *b, FILE *f)
{
	size_t j, n = 0;

	for (j = 0; j < b->n_servers; j++)
		n += b->servers[j].transparent;
	if (!n)
		return;
	if (n == b->n_servers) {
		fprintf(f, " transparent");
		return;
	}
	fprintf(f, " transparent=");
	for (j = 0; j < b->n_servers; j++)
		fprintf(f, "%s%d", j ? "," : "", b->servers[j].transparent);
}

static bool same_source(const struct config_source *a, const struct config_source *b)
{
	size_t i;

	if (a->n != b->n)
		return false;
	for (i = 0; i < a->n; i++)
		if (!addr_equal(&a->addr[i], &b->addr[i]))
			return false;
	return true;
}

static void print_source_list(const struct config_source *src, FILE *f)
{
	char a[ADDR_STRLEN];
	size_t i;

	if (!src->n)
		fprintf(f, "-");
	for (i = 0; i < src->n; i++)
		fprintf(f, "%s%s", i ? "," : "",
			addr_format_host((const struct sockaddr *)&src->addr[i].ss, a, sizeof(a)));
}

/*
 * " source=a,b" when every server connects from the same list, or " source=a,b|-|c" per
 * server when they differ ("-": none); nothing when none has one.
 */
static void print_source(const struct config_backend *b, FILE *f)
{
	size_t j, n = 0;
	bool same = true;

	for (j = 0; j < b->n_servers; j++) {
		n += b->servers[j].source.n > 0;
		same = same && same_source(&b->servers[j].source, &b->servers[0].source);
	}
	if (!n)
		return;
	fprintf(f, " source=");
	for (j = 0; j < (same ? 1 : b->n_servers); j++) {
		if (j)
			fprintf(f, "|");
		print_source_list(&b->servers[j].source, f);
	}
}

void config_print(const struct config *cfg, FILE *f)
{
	const struct sockaddr *sa;
	char a[ADDR_STRLEN];
	size_t i;

	fprintf(f, "listeners:\n");
	for (i = 0; i < cfg->n_listeners; i++)
		print_listener(&cfg->listeners[i], f);
	fprintf(f, "backends:\n");
	for (i = 0; i < cfg->n_backends; i++) {
		const struct config_backend *b = &cfg->backends[i];

		sa = (const struct sockaddr *)&b->addr.ss;
		fprintf(f, "  %s %s", b->name, addr_format(sa, a, sizeof(a)));
		for (size_t j = 1; j < b->n_servers; j++)
			fprintf(f, ",%s", addr_format((const struct sockaddr *)&b->servers[j].addr.ss,
						      a, sizeof(a)));
		if (b->n_servers > 1) {
			fprintf(f, " weights=");
			for (size_t j = 0; j < b->n_servers; j++)
				fprintf(f, "%s%u%s", j ? "," : "", b->servers[j].weight,
					b->servers[j].backup ? "(backup)" : "");
			fprintf(f, " balance=%s retries=%u", config_balance_name(b->balance),
				b->retries);
		}
		if (b->proxy_protocol)
			fprintf(f, " proxy_protocol=v%u%s", b->proxy_protocol,
				b->proxy_protocol_crc ? " proxy_protocol_crc" : "");
		if (b->health.on)
			fprintf(f, " health=%s interval_ms=%u timeout_ms=%u rise=%u fall=%u%s%s",
				b->health.tls ? "tls" : "tcp", b->health.interval_ms,
				b->health.timeout_ms, b->health.rise, b->health.fall,
				b->health.sni ? " sni=" : "", b->health.sni ? b->health.sni : "");
		print_transparent(b, f);
		print_source(b, f);
		fprintf(f, " (line %d)\n", b->line);
	}
	fprintf(f, "routes:\n");
	for (i = 0; i < cfg->n_routes; i++)
		config_print_route(cfg, i, f);
	fprintf(f, "timeouts: handshake_ms=%u connect_ms=%u", cfg->handshake_ms, cfg->connect_ms);
	if (cfg->probes)
		fprintf(f, " probe_ms=%u", cfg->probe_ms);
	fprintf(f, "\n");
	if (cfg->workers)
		fprintf(f, "workers: %u, ", cfg->workers);
	else
		fprintf(f, "workers: auto, ");
	fprintf(f, "max_connections: %u, max_handshakes: ", cfg->max_connections);
	if (cfg->max_handshakes)
		fprintf(f, "%u, ", cfg->max_handshakes);
	else
		fprintf(f, "auto (%u), ", config_max_handshakes(cfg, cfg->max_connections));
	if (cfg->max_per_source)
		fprintf(f, "max_connections_per_source: %u\n", cfg->max_per_source);
	else
		fprintf(f, "max_connections_per_source: off\n");
	if (cfg->sockmap_after != CONFIG_DEFAULT_SOCKMAP_AFTER)
		fprintf(f, "sockmap_after_bytes: %u\n", cfg->sockmap_after);
	fprintf(f, "control: %s, metrics: %s\n", *cfg->control ? cfg->control : "off",
		cfg->metrics_text ? cfg->metrics_text : "off");
	if (cfg->user)
		fprintf(f, "user: %s (line %d)\n", cfg->user, cfg->user_line);
}
