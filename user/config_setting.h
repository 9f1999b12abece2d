/* SPDX-License-Identifier: MIT */
/*
 * config_setting.h - typed, checked access to libconfig settings for user/config_file.c, with
 * errors of the form "KEY.PATH: message" at the setting's line. Every function returns 0 or
 * -EINVAL (-ENOMEM where it allocates) and fills *err on failure.
 */
#ifndef SOCKMUX_CONFIG_SETTING_H
#define SOCKMUX_CONFIG_SETTING_H

#include <libconfig.h>
#include <stdbool.h>
#include <stddef.h>

#include "config.h"

/* Room for a config string escaped by escape_bytes() inside a message. */
#define QUOTE_MAX 80

/* err = "message" at line (0: no line); returns -EINVAL. */
__attribute__((format(printf, 3, 4)))
int cfg_err_set(struct config_error *err, int line, const char *fmt, ...);
/* err = "out of memory"; returns -ENOMEM. */
int cfg_err_nomem(struct config_error *err);
/* The line of s in its file, 0 when libconfig does not know it. */
int cfg_line(const config_setting_t *s);
/* err = "path: message" at the line of s, the path as in "routes.[1].backend"; -EINVAL. */
__attribute__((format(printf, 3, 4)))
int cfg_err_at(struct config_error *err, const config_setting_t *s, const char *fmt, ...);
/* A config string made safe to quote in a message (it may hold any byte via "\x.."). */
const char *cfg_quote(const char *s, char *buf, size_t size);
/* What s is, in words, for "expected X, found Y" messages. */
const char *cfg_type_name(const config_setting_t *s);

/* libconfig's @include would read other files: refused anywhere in text. */
int cfg_check_no_include(const char *text, struct config_error *err);
/* Integer literals in text that libconfig 1.5 silently wrapped, refused at their setting. */
int cfg_check_int_literals(const char *text, const config_setting_t *root,
			   struct config_error *err);

/* Refuses members of group whose names are not in known (NULL-terminated). */
int cfg_check_keys(const config_setting_t *group, const char *const *known,
		   struct config_error *err);
int cfg_get_string(const config_setting_t *s, struct config_error *err, const char **out);
int cfg_get_bool(const config_setting_t *s, struct config_error *err, bool *out);
/* An integer within [min, max]. */
int cfg_get_uint(const config_setting_t *s, long long min, long long max,
		 struct config_error *err, unsigned int *out);
/* cfg_get_uint() on group's member name when it is there; absent, *out keeps its default. */
int cfg_get_opt_uint(const config_setting_t *group, const char *name, long long min,
		     long long max, struct config_error *err, unsigned int *out);
/* s must be a list or an array of at least one element; returns its length or -EINVAL. */
int cfg_get_nonempty_list(const config_setting_t *s, const char *what,
			  struct config_error *err);

/* A non-empty array of prefixes (a route's source, a listener's trusted): *out, *count. */
int cfg_get_prefixes(const config_setting_t *list, struct cidr **out, size_t *count,
		     struct config_error *err);

#endif
