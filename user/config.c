// SPDX-License-Identifier: MIT
/* config.c - a parsed configuration: freed, and asked what it allows (see config.h). */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "route_regex.h"

void config_free(struct config *cfg)
{
	size_t i, j;

	if (!cfg)
		return;
	for (i = 0; i < cfg->n_listeners; i++) {
		free(cfg->listeners[i].text);
		free(cfg->listeners[i].name);
		free(cfg->listeners[i].trusted);
	}
	free(cfg->listeners);
	for (i = 0; i < cfg->n_backends; i++) {
		struct config_backend *b = &cfg->backends[i];

		free(b->name);
		free(b->text);
		for (j = 0; j < b->n_servers; j++) {
			free(b->servers[j].text);
			free(b->servers[j].source.addr);
		}
		free(b->servers);
		free(b->source.addr);
		free(b->schedule[0]);
		free(b->schedule[1]);
		free(b->health.sni);
	}
	free(cfg->backends);
	for (i = 0; i < cfg->n_routes; i++) {
		struct config_route *r = &cfg->routes[i];

		for (j = 0; j < r->n_sni; j++)
			free(r->sni[j].name);
		free(r->sni);
		for (j = 0; j < r->n_host; j++)
			free(r->host[j].name);
		free(r->host);
		for (j = 0; j < r->n_listeners; j++)
			free(r->listeners[j]);
		free(r->listeners);
		route_regex_free(r->regex);
		for (j = 0; j < r->n_alpn; j++)
			free(r->alpn[j]);
		free(r->alpn);
		free(r->source);
	}
	free(cfg->routes);
	free(cfg->path);
	free(cfg->control);
	free(cfg->metrics_text);
	free(cfg->user);
	memset(cfg, 0, sizeof(*cfg));
}

unsigned int config_max_handshakes(const struct config *cfg, unsigned int max_connections)
{
	unsigned int n = cfg->max_handshakes ? cfg->max_handshakes : max_connections / 4;

	if (n > max_connections)
		n = max_connections;
	return n ? n : 1;
}

bool config_listener_trusts(const struct config_listener *l, const struct sockaddr *sa)
{
	size_t i;

	if (!l->accept_proxy)
		return true;
	for (i = 0; i < l->n_trusted; i++)
		if (cidr_match(&l->trusted[i], sa))
			return true;
	return false;
}

size_t config_transparent_servers(const struct config *cfg)
{
	size_t n = 0;

	for (size_t i = 0; i < cfg->n_backends; i++)
		for (size_t j = 0; j < cfg->backends[i].n_servers; j++)
			n += cfg->backends[i].servers[j].transparent;
	return n;
}
