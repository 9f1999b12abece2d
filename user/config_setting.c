// SPDX-License-Identifier: MIT
/*
 * config_setting.c - the layer between libconfig and user/config_file.c: errors that name the file
 * line and the key path, the checks libconfig 1.5 leaves to its caller (@include, integer
 * literals that wrap), and typed reads of settings that refuse what does not fit. Pure: no
 * I/O (see config_setting.h).
 */
#include <errno.h>
#include <libconfig.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "config_setting.h"
#include "escape.h"

/* Innermost path components printed in a message; deeper ones become "...". */
#define PATH_DEPTH_MAX 8

/* --- errors ---------------------------------------------------------------------------- */

__attribute__((format(printf, 3, 4)))
int cfg_err_set(struct config_error *err, int line, const char *fmt, ...)
{
	va_list ap;

	err->line = line < 0 ? 0 : line;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

int cfg_err_nomem(struct config_error *err)
{
	err->line = 0;
	snprintf(err->msg, sizeof(err->msg), "out of memory");
	return -ENOMEM;
}

int cfg_line(const config_setting_t *s)
{
	unsigned int line = config_setting_source_line(s);

	return line > INT_MAX ? INT_MAX : (int)line;
}

/*
 * One step of a key path: the setting's name, or "[i]" for an element of a list or array.
 * Returns the length written, truncated to size - 1.
 */
static size_t path_step(const config_setting_t *s, char *buf, size_t size)
{
	int n;

	if (config_setting_name(s))
		n = snprintf(buf, size, "%s", config_setting_name(s));
	else
		n = snprintf(buf, size, "[%d]", config_setting_index(s));
	if (n < 0)
		return 0;
	return (size_t)n < size ? (size_t)n : size - 1;
}

/* The key path of s, e.g. "routes.[1].sni.[0]"; "(top level)" for the root. */
static char *cfg_path(const config_setting_t *s, char *buf, size_t size)
{
	const config_setting_t *steps[PATH_DEPTH_MAX];
	size_t n = 0, len = 0;
	bool cut = false;

	for (; s && !config_setting_is_root(s); s = config_setting_parent(s)) {
		if (n == PATH_DEPTH_MAX) {
			cut = true;
			break;
		}
		steps[n++] = s;
	}
	buf[0] = '\0';
	if (!n) {
		snprintf(buf, size, "(top level)");
		return buf;
	}
	if (cut)
		len = (size_t)snprintf(buf, size, "...");
	while (n-- && len + 1 < size) {
		if (len)
			buf[len++] = '.';
		len += path_step(steps[n], buf + len, size - len);
	}
	buf[len < size ? len : size - 1] = '\0';
	return buf;
}

/* "path: message" at the line of s. */
__attribute__((format(printf, 3, 4)))
int cfg_err_at(struct config_error *err, const config_setting_t *s, const char *fmt, ...)
{
	char path[128], what[sizeof(err->msg)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return cfg_err_set(err, cfg_line(s), "%s: %s", cfg_path(s, path, sizeof(path)), what);
}

/* A config string made safe to quote in a message (it may hold any byte via "\x.."). */
const char *cfg_quote(const char *s, char *buf, size_t size)
{
	return escape_bytes((const uint8_t *)s, strlen(s), buf, size);
}

const char *cfg_type_name(const config_setting_t *s)
{
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_GROUP:
		return "a group { }";
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		return "an integer";
	case CONFIG_TYPE_FLOAT:
		return "a float";
	case CONFIG_TYPE_STRING:
		return "a string";
	case CONFIG_TYPE_BOOL:
		return "a boolean";
	case CONFIG_TYPE_ARRAY:
		return "an array [ ]";
	case CONFIG_TYPE_LIST:
		return "a list ( )";
	default:
		return "an unknown type";
	}
}

/* --- checks libconfig leaves to us ----------------------------------------------------- */

/*
 * libconfig's "@include" opens whatever file it names, relative to the working directory. The
 * config is meant to be one self-contained file, and config_parse() to do no I/O, so a line
 * starting with "@include" (the scanner's own rule, comments included to be safe) is refused.
 */
int cfg_check_no_include(const char *text, struct config_error *err)
{
	const char *p = text;
	int line = 1;

	for (;;) {
		p += strspn(p, " \t");
		if (!strncmp(p, "@include", 8))
			return cfg_err_set(err, line,
				       "@include is not supported: the configuration is one file");
		p = strchr(p, '\n');
		if (!p)
			return 0;
		p++;
		line++;
	}
}

static const char *skip_string(const char *p)
{
	while (*p && *p != '"') {
		if (*p == '\\' && p[1])
			p++;
		p++;
	}
	return *p ? p + 1 : p;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_xdigit(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool is_name_start(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '*';
}

static bool is_name_char(char c)
{
	return is_name_start(c) || is_digit(c) || c == '-' || c == '_';
}

/*
 * At p, a number token of a text libconfig accepted: returns its end, and whether it is an
 * integer (*is_int) that libconfig 1.5 stores in 32 bits without saying so (*wraps).
 */
static const char *scan_number(const char *p, bool *is_int, bool *wraps)
{
	const char *q = p + (*p == '-' || *p == '+');
	unsigned long long u;
	long long v;

	*is_int = false;
	*wraps = false;
	if (q[0] == '0' && (q[1] == 'x' || q[1] == 'X') && is_xdigit(q[2])) {
		errno = 0;
		u = strtoull(q + 2, NULL, 16);
		*wraps = errno == ERANGE || u > INT_MAX;
		for (q += 2; is_xdigit(*q); q++)
			;
	} else {
		const char *digits = q;

		for (; is_digit(*q); q++)
			;
		if (*q == '.' || *q == 'e' || *q == 'E') {
			/* a float: mantissa, then an optional exponent */
			for (q += *q == '.'; is_digit(*q); q++)
				;
			if ((*q == 'e' || *q == 'E') &&
			    (is_digit(q[1]) || ((q[1] == '-' || q[1] == '+') && is_digit(q[2]))))
				for (q += 2; is_digit(*q); q++)
					;
			return q;
		}
		if (q == digits)
			return q == p ? p + 1 : q;
		errno = 0;
		v = strtoll(p, NULL, 10);
		*wraps = errno == ERANGE || v < INT_MIN || v > INT_MAX;
	}
	*is_int = true;
	if (*q == 'L') {
		/* an explicit 64-bit literal: stored as such */
		*wraps = false;
		q += 1 + (q[1] == 'L');
	}
	return q;
}

/* The n-th (from 0) integer setting in document order under s, or NULL. */
static const config_setting_t *nth_int_setting(const config_setting_t *s, size_t *n)
{
	int i, len, type = config_setting_type(s);
	const config_setting_t *found;

	if (type == CONFIG_TYPE_INT || type == CONFIG_TYPE_INT64) {
		if (!*n)
			return s;
		(*n)--;
		return NULL;
	}
	if (!config_setting_is_aggregate(s))
		return NULL;
	len = config_setting_length(s);
	for (i = 0; i < len; i++) {
		found = nth_int_setting(config_setting_get_elem(s, (unsigned int)i), n);
		if (found)
			return found;
	}
	return NULL;
}

/*
 * libconfig 1.5 keeps an integer literal without an "L" suffix in an int and wraps it silently:
 * "workers = 4294967298;" would read as 2. Walk the text as libconfig's scanner does (strings,
 * comments, names, numbers) and refuse such a literal, naming the setting that holds it: the
 * k-th integer literal of the text is the k-th integer setting of the tree.
 */
int cfg_check_int_literals(const char *text, const config_setting_t *root,
			   struct config_error *err)
{
	const config_setting_t *s;
	const char *p = text, *end;
	size_t ordinal = 0, n;
	bool is_int, wraps;
	char lit[32];
	int line = 1;

	while (*p) {
		if (*p == '\n') {
			line++;
			p++;
		} else if (*p == '"') {
			end = skip_string(p + 1);
			for (; p < end; p++)
				line += *p == '\n';
		} else if (*p == '#' || (p[0] == '/' && p[1] == '/')) {
			p += strcspn(p, "\n");
		} else if (p[0] == '/' && p[1] == '*') {
			end = strstr(p + 2, "*/");
			end = end ? end + 2 : p + strlen(p);
			for (; p < end; p++)
				line += *p == '\n';
		} else if (is_name_start(*p)) {
			for (p++; is_name_char(*p); p++)
				;
		} else if (is_digit(*p) || *p == '-' || *p == '+' || *p == '.') {
			end = scan_number(p, &is_int, &wraps);
			if (wraps) {
				n = (size_t)(end - p);
				if (n >= sizeof(lit))
					n = sizeof(lit) - 1;
				memcpy(lit, p, n);
				lit[n] = '\0';
				n = ordinal;
				s = nth_int_setting(root, &n);
				if (s)
					return cfg_err_at(err, s, "integer %s is out of range",
							  lit);
				return cfg_err_set(err, line, "integer %s is out of range", lit);
			}
			ordinal += is_int;
			p = end;
		} else {
			p++;
		}
	}
	return 0;
}

/* --- typed access ---------------------------------------------------------------------- */

/* Refuse members of group whose names are not in known (NULL-terminated). */
int cfg_check_keys(const config_setting_t *group, const char *const *known,
		   struct config_error *err)
{
	char path[128], list[128];
	const config_setting_t *s;
	const char *name;
	size_t k, len;
	int i, n;

	n = config_setting_length(group);
	for (i = 0; i < n; i++) {
		s = config_setting_get_elem(group, (unsigned int)i);
		name = config_setting_name(s);
		for (k = 0; known[k]; k++)
			if (name && !strcmp(name, known[k]))
				break;
		if (known[k])
			continue;
		list[0] = '\0';
		for (k = 0, len = 0; known[k] && len < sizeof(list); k++)
			len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s",
						k ? ", " : "", known[k]);
		if (config_setting_is_root(group))
			return cfg_err_set(err, cfg_line(s),
				       "unknown key \"%s\" at top level (known: %s)",
				       name ? name : "", list);
		return cfg_err_set(err, cfg_line(s), "unknown key \"%s\" in %s (known: %s)",
			       name ? name : "", cfg_path(group, path, sizeof(path)), list);
	}
	return 0;
}

int cfg_get_string(const config_setting_t *s, struct config_error *err, const char **out)
{
	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return cfg_err_at(err, s, "expected a string, got %s", cfg_type_name(s));
	*out = config_setting_get_string(s);
	return 0;
}

int cfg_get_bool(const config_setting_t *s, struct config_error *err, bool *out)
{
	if (config_setting_type(s) != CONFIG_TYPE_BOOL)
		return cfg_err_at(err, s, "expected a boolean (true or false), got %s",
				  cfg_type_name(s));
	*out = config_setting_get_bool(s);
	return 0;
}

int cfg_get_uint(const config_setting_t *s, long long min, long long max,
		 struct config_error *err, unsigned int *out)
{
	long long v;

	if (config_setting_type(s) == CONFIG_TYPE_INT)
		v = config_setting_get_int(s);
	else if (config_setting_type(s) == CONFIG_TYPE_INT64)
		v = config_setting_get_int64(s);
	else
		return cfg_err_at(err, s, "expected an integer, got %s", cfg_type_name(s));
	if (v < min || v > max)
		return cfg_err_at(err, s, "%lld is out of range %lld..%lld", v, min, max);
	*out = (unsigned int)v;
	return 0;
}

/* cfg_get_uint() on group's member name when it is there; absent, *out keeps its default. */
int cfg_get_opt_uint(const config_setting_t *group, const char *name, long long min,
		     long long max, struct config_error *err, unsigned int *out)
{
	const config_setting_t *s = config_setting_get_member(group, name);

	return s ? cfg_get_uint(s, min, max, err, out) : 0;
}

/* s must be a list or an array of at least one element; returns its length or -EINVAL. */
int cfg_get_nonempty_list(const config_setting_t *s, const char *what,
			  struct config_error *err)
{
	int n, type = config_setting_type(s);

	if (type != CONFIG_TYPE_LIST && type != CONFIG_TYPE_ARRAY)
		return cfg_err_at(err, s, "expected %s, got %s", what, cfg_type_name(s));
	n = config_setting_length(s);
	if (n <= 0)
		return cfg_err_at(err, s, "empty list: expected %s", what);
	return n;
}

/* A non-empty array of prefixes (a route's source, a listener's trusted): *out, *count. */
int cfg_get_prefixes(const config_setting_t *list, struct cidr **out, size_t *count,
		     struct config_error *err)
{
	const config_setting_t *s;
	char q[QUOTE_MAX];
	const char *str = NULL;
	int i, n, ret;

	n = cfg_get_nonempty_list(list,
				  "an array of prefixes [ \"192.0.2.0/24\", \"2001:db8::/32\" ]",
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
		if (cidr_parse(str, &(*out)[i]))
			return cfg_err_at(err, s,
					  "invalid prefix \"%s\": expected \"a.b.c.d/0..32\", "
					  "\"ipv6/0..128\" or a bare address",
					  cfg_quote(str, q, sizeof(q)));
		(*count)++;
	}
	return 0;
}
