// SPDX-License-Identifier: MIT
/*
 * router.c - pick the route for a connection from what its first bytes said (see router.h).
 * router_match() is on the accept path: no allocation, no I/O, no logging. router_explain()
 * says the same in words for `sockmux route`, through the very same predicates.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "escape.h"
#include "router.h"

static char ascii_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool ascii_ieq(const char *a, const char *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (ascii_lower(a[i]) != ascii_lower(b[i]))
			return false;
	return true;
}

bool router_sni_match(const struct config_sni_pattern *p, const char *host)
{
	size_t hlen, plen;

	if (!p || !p->name || !host)
		return false;
	hlen = strlen(host);
	plen = strlen(p->name);
	if (!p->wildcard)
		return hlen == plen && ascii_ieq(host, p->name, hlen);
	/* p->name is ".example.org": host must end with it and have a label before it */
	return hlen > plen && ascii_ieq(host + hlen - plen, p->name, plen);
}

/* A well-formed protocol_name_list: non-empty names, each length within the list. */
static bool alpn_list_valid(const uint8_t *list, size_t len)
{
	size_t pos = 0;

	if (!list || !len)
		return false;
	while (pos < len) {
		if (!list[pos] || list[pos] > len - pos - 1)
			return false;
		pos += 1 + (size_t)list[pos];
	}
	return true;
}

/* True when the (valid) list holds the protocol name of nlen bytes; compared byte for byte. */
static bool alpn_list_has(const uint8_t *list, size_t len, const char *name, size_t nlen)
{
	size_t pos = 0;

	while (pos < len) {
		size_t n = list[pos];

		if (n == nlen && !memcmp(list + pos + 1, name, n))
			return true;
		pos += 1 + n;
	}
	return false;
}

/* A condition's value while bytes may still come: no, not known yet, yes. */
enum tri { T_NO, T_MAYBE, T_YES };

static enum tri tri_of(bool b)
{
	return b ? T_YES : T_NO;
}

/* Index of the first pattern of list that the input's host name matches, or -1. */
static long names_find(const struct config_sni_pattern *list, size_t n, const char *name)
{
	size_t i;

	if (!name)
		return -1;
	for (i = 0; i < n; i++)
		if (router_sni_match(&list[i], name))
			return (long)i;
	return -1;
}

static long route_sni_find(const struct config_route *r, const struct route_input *in)
{
	return in->proto == PROTO_TLS ? names_find(r->sni, r->n_sni, in->name) : -1;
}

/*
 * Index of the first alpn entry of r (in the route's order, as a server preferring its own
 * order would pick) that the client offered, or -1. A malformed list counts as no ALPN.
 */
static long route_alpn_find(const struct config_route *r, const struct route_input *in)
{
	size_t i;

	if (in->proto != PROTO_TLS || !alpn_list_valid(in->alpn, in->alpn_len))
		return -1;
	for (i = 0; i < r->n_alpn; i++)
		if (alpn_list_has(in->alpn, in->alpn_len, r->alpn[i], strlen(r->alpn[i])))
			return (long)i;
	return -1;
}

/* Index of the first source prefix of r holding the client address, or -1. */
static long route_source_find(const struct config_route *r, const struct route_input *in)
{
	size_t i;

	if (!in->src)
		return -1;
	for (i = 0; i < r->n_source; i++)
		if (cidr_match(&r->source[i], in->src))
			return (long)i;
	return -1;
}

static bool route_listener_has(const struct config_route *r, const struct route_input *in)
{
	size_t i;

	if (!in->listener)
		return false;
	for (i = 0; i < r->n_listeners; i++)
		if (!strcmp(r->listeners[i], in->listener))
			return true;
	return false;
}

/* The protocols the bytes may still turn out to be, while the sniffers wait. */
static uint32_t possible_protocols(const struct route_input *in)
{
	uint32_t p = in->maybe | 1u << PROTO_UNKNOWN;

	if (!in->len)
		p |= 1u << PROTO_TIMEOUT;
	return p;
}

static enum tri route_protocol(const struct config_route *r, const struct route_input *in)
{
	if (in->pending)
		return r->protocols & possible_protocols(in) ? T_MAYBE : T_NO;
	return tri_of(r->protocols & (1u << in->proto));
}

/* sni and alpn: TLS only, so known not to hold once TLS is ruled out. */
static enum tri route_tls_only(const struct route_input *in, bool holds)
{
	if (in->pending)
		return in->maybe & (1u << PROTO_TLS) ? T_MAYBE : T_NO;
	return tri_of(holds);
}

static enum tri route_regex(const struct config_route *r, const struct route_input *in)
{
	/* a silent client (timeout) has no bytes, and will send none before it is routed */
	bool more = !in->final && (in->proto != PROTO_TIMEOUT || in->pending);

	/* no byte yet: PCRE2 reports no partial match on an empty subject, yet one may come */
	if (!in->len)
		return more ? T_MAYBE : T_NO;
	switch (route_regex_match(r->regex, in->data, in->len, more, in->md)) {
	case REGEX_YES:
		return T_YES;
	case REGEX_MAYBE:
		return T_MAYBE;
	case REGEX_NO:
		break;
	}
	return T_NO;
}

/* Whether every condition of r holds; *alpn is the matched alpn entry index, or -1. */
static enum tri route_matches(const struct config_route *r, const struct route_input *in,
			      long *alpn)
{
	enum tri t[7] = { T_YES, T_YES, T_YES, T_YES, T_YES, T_YES, T_YES }, all = T_YES;

	*alpn = -1;
	if (r->n_listeners)
		t[0] = tri_of(route_listener_has(r, in));
	if (r->n_source)
		t[1] = tri_of(route_source_find(r, in) >= 0);
	if (r->protocols)
		t[2] = route_protocol(r, in);
	if (r->n_sni)
		t[3] = route_tls_only(in, route_sni_find(r, in) >= 0);
	if (r->n_host)
		t[4] = in->pending ? T_MAYBE : tri_of(names_find(r->host, r->n_host, in->name) >= 0);
	if (r->n_alpn) {
		if (!in->pending)
			*alpn = route_alpn_find(r, in);
		t[5] = route_tls_only(in, *alpn >= 0);
	}
	for (int i = 0; i < 6; i++) {
		if (t[i] == T_NO)
			return T_NO;
		if (t[i] == T_MAYBE)
			all = T_MAYBE;
	}
	/* last: the only condition that costs more than a comparison */
	if (r->regex)
		t[6] = route_regex(r, in);
	if (t[6] != T_YES)
		return t[6];
	return all;
}

long router_match(const struct config *cfg, const struct route_input *in,
		  struct route_result *res)
{
	long alpn;
	size_t i;

	if (res) {
		res->route = -1;
		res->alpn = NULL;
		res->alpn_len = 0;
	}
	if (!cfg || !in)
		return -EINVAL;
	for (i = 0; i < cfg->n_routes; i++) {
		const struct config_route *r = &cfg->routes[i];

		switch (route_matches(r, in, &alpn)) {
		case T_NO:
			continue;
		case T_MAYBE:
			return -EAGAIN;
		case T_YES:
			break;
		}
		if (res) {
			res->route = (long)i;
			if (alpn >= 0) {
				res->alpn = r->alpn[alpn];
				res->alpn_len = strlen(r->alpn[alpn]);
			}
		}
		return (long)i;
	}
	return -ENOENT;
}

/* --- router_explain -------------------------------------------------------------------- */

struct outbuf {
	char *buf;
	size_t size;
	size_t len;
};

/* Append to o, truncating silently; o->buf stays NUL-terminated. */
__attribute__((format(printf, 2, 3)))
static void out_add(struct outbuf *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!o->buf || o->len + 1 >= o->size)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->len, o->size - o->len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	o->len += (size_t)n < o->size - o->len ? (size_t)n : o->size - o->len - 1;
}

/* Separator between two condition texts. */
static void out_sep(struct outbuf *o, bool *first)
{
	if (!*first)
		out_add(o, "; ");
	*first = false;
}

static void out_sni_list(struct outbuf *o, const struct config_route *r)
{
	size_t i;

	out_add(o, "[");
	for (i = 0; i < r->n_sni; i++)
		out_add(o, "%s%s%s", i ? "," : "", r->sni[i].wildcard ? "*" : "", r->sni[i].name);
	out_add(o, "]");
}

/* A config string escaped into buf. */
static const char *quote(const char *s, char *buf, size_t size)
{
	return escape_bytes((const uint8_t *)s, strlen(s), buf, size);
}

static void out_alpn_list(struct outbuf *o, const struct config_route *r)
{
	char q[1024];
	size_t i;

	out_add(o, "[");
	for (i = 0; i < r->n_alpn; i++)
		out_add(o, "%s%s", i ? "," : "", quote(r->alpn[i], q, sizeof(q)));
	out_add(o, "]");
}

static void out_source_list(struct outbuf *o, const struct config_route *r)
{
	char c[ADDR_STRLEN + 4];
	size_t i;

	out_add(o, "[");
	for (i = 0; i < r->n_source; i++)
		out_add(o, "%s%s", i ? "," : "", cidr_format(&r->source[i], c, sizeof(c)));
	out_add(o, "]");
}

static bool explain_sni(struct outbuf *o, const struct config_route *r,
			const struct route_input *in)
{
	char q[1024];
	long i = route_sni_find(r, in);

	if (in->proto != PROTO_TLS) {
		out_add(o, "not TLS, no sni for ");
		out_sni_list(o, r);
		return false;
	}
	if (!in->name) {
		out_add(o, "no sni, wants ");
		out_sni_list(o, r);
		return false;
	}
	quote(in->name, q, sizeof(q));
	if (i < 0) {
		out_add(o, "sni \"%s\" not in ", q);
		out_sni_list(o, r);
		return false;
	}
	out_add(o, "sni \"%s\" matches \"%s%s\"", q, r->sni[i].wildcard ? "*" : "", r->sni[i].name);
	return true;
}

static bool explain_alpn(struct outbuf *o, const struct config_route *r,
			 const struct route_input *in)
{
	char q[1024], e[1024];
	long i = route_alpn_find(r, in);

	if (in->proto != PROTO_TLS || !in->alpn || !in->alpn_len) {
		out_add(o, "no alpn, wants ");
		out_alpn_list(o, r);
		return false;
	}
	if (!alpn_list_valid(in->alpn, in->alpn_len)) {
		out_add(o, "malformed alpn list, wants ");
		out_alpn_list(o, r);
		return false;
	}
	escape_alpn_list(in->alpn, in->alpn_len, q, sizeof(q));
	if (i < 0) {
		out_add(o, "alpn [%s] not in ", q);
		out_alpn_list(o, r);
		return false;
	}
	out_add(o, "alpn [%s] has \"%s\"", q, quote(r->alpn[i], e, sizeof(e)));
	return true;
}

static bool explain_source(struct outbuf *o, const struct config_route *r,
			   const struct route_input *in)
{
	char a[ADDR_STRLEN], c[ADDR_STRLEN + 4];
	long i = route_source_find(r, in);

	if (!in->src) {
		out_add(o, "source unknown, wants ");
		out_source_list(o, r);
		return false;
	}
	addr_format(in->src, a, sizeof(a));
	if (i < 0) {
		out_add(o, "source %s not in ", a);
		out_source_list(o, r);
		return false;
	}
	out_add(o, "source %s in %s", a, cidr_format(&r->source[i], c, sizeof(c)));
	return true;
}

static void out_names(struct outbuf *o, const struct config_sni_pattern *list, size_t n)
{
	out_add(o, "[");
	for (size_t i = 0; i < n; i++)
		out_add(o, "%s%s%s", i ? "," : "", list[i].wildcard ? "*" : "", list[i].name);
	out_add(o, "]");
}

static bool explain_listener(struct outbuf *o, const struct config_route *r,
			     const struct route_input *in)
{
	char q[256];
	bool ok = route_listener_has(r, in);

	if (!in->listener)
		out_add(o, "listener has no name, wants [");
	else
		out_add(o, "listener \"%s\" %s [", quote(in->listener, q, sizeof(q)),
			ok ? "in" : "not in");
	for (size_t i = 0; i < r->n_listeners; i++)
		out_add(o, "%s%s", i ? "," : "", quote(r->listeners[i], q, sizeof(q)));
	out_add(o, "]");
	return ok;
}

static bool explain_protocol(struct outbuf *o, const struct config_route *r,
			     const struct route_input *in)
{
	bool ok = route_protocol(r, in) == T_YES;
	int k = 0;

	out_add(o, "protocol %s %s [", sniff_proto_name(in->proto), ok ? "in" : "not in");
	for (int p = 0; p < PROTO__COUNT; p++)
		if (r->protocols & (1u << p))
			out_add(o, "%s%s", k++ ? "," : "", sniff_proto_name((enum sniff_proto)p));
	out_add(o, "]");
	return ok;
}

static bool explain_host(struct outbuf *o, const struct config_route *r,
			 const struct route_input *in)
{
	char q[1024];
	long i = names_find(r->host, r->n_host, in->name);

	if (!in->name) {
		out_add(o, "no host name, wants ");
		out_names(o, r->host, r->n_host);
		return false;
	}
	quote(in->name, q, sizeof(q));
	if (i < 0) {
		out_add(o, "host \"%s\" not in ", q);
		out_names(o, r->host, r->n_host);
		return false;
	}
	out_add(o, "host \"%s\" matches \"%s%s\"", q, r->host[i].wildcard ? "*" : "",
		r->host[i].name);
	return true;
}

static bool explain_regex(struct outbuf *o, const struct config_route *r,
			  const struct route_input *in)
{
	char q[1024];
	bool ok;

	quote(r->regex->text, q, sizeof(q));
	if (!in->data) {
		out_add(o, "regex \"%s\": no bytes to match", q);	/* sockmux route */
		return false;
	}
	ok = route_regex(r, in) == T_YES;
	out_add(o, "regex \"%s\" %s", q, ok ? "matches" : "does not match");
	return ok;
}

bool router_explain(const struct config *cfg, size_t i, const struct route_input *in,
		    char *buf, size_t size)
{
	struct outbuf o = { .buf = size ? buf : NULL, .size = size };
	const struct config_route *r;
	bool ok = true, first = true;

	if (o.buf)
		buf[0] = '\0';
	if (!cfg || !in || i >= cfg->n_routes) {
		out_add(&o, "#%zu: no such route", i + 1);
		return false;
	}
	r = &cfg->routes[i];
	out_add(&o, "#%zu (line %d): ", i + 1, r->line);
	if (r->n_listeners) {
		out_sep(&o, &first);
		ok &= explain_listener(&o, r, in);
	}
	if (r->protocols) {
		out_sep(&o, &first);
		ok &= explain_protocol(&o, r, in);
	}
	if (r->n_sni) {
		out_sep(&o, &first);
		ok &= explain_sni(&o, r, in);
	}
	if (r->n_alpn) {
		out_sep(&o, &first);
		ok &= explain_alpn(&o, r, in);
	}
	if (r->n_host) {
		out_sep(&o, &first);
		ok &= explain_host(&o, r, in);
	}
	if (r->regex) {
		out_sep(&o, &first);
		ok &= explain_regex(&o, r, in);
	}
	if (r->n_source) {
		out_sep(&o, &first);
		ok &= explain_source(&o, r, in);
	}
	if (first)
		out_add(&o, "no condition (default route)");
	out_add(&o, " -> %s", ok ? "match" : "no match");
	return ok;
}
