/* SPDX-License-Identifier: MIT */
/*
 * config_file.h - the configuration file: read and checked into a struct config
 * (config.h), or one error naming its line and key; and printed back as `sockmux check` does.
 */
#ifndef SOCKMUX_CONFIG_FILE_H
#define SOCKMUX_CONFIG_FILE_H

#include <stdio.h>

#include "config.h"

/*
 * Parse text (the content of the file called path) into *cfg. Returns 0, or -EINVAL (-ENOMEM)
 * with *err filled in (cfg is then left empty). A successful cfg is released with config_free().
 * "@include" is refused: the configuration is one file. See docs/config.md for every message.
 */
int config_parse(const char *text, const char *path, struct config *cfg,
		 struct config_error *err);
/*
 * Read the file at path and config_parse() it; -errno with err->line 0 if unreadable (-EFBIG
 * past 1 MiB), -EINVAL for a NUL byte in the file.
 */
int config_load(const char *path, struct config *cfg, struct config_error *err);
/* Print listeners, backends and routes in order, one per line, as `sockmux check` does. */
void config_print(const struct config *cfg, FILE *f);

#endif
