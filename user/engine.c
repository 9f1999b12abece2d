// SPDX-License-Identifier: MIT
/* engine.c - engine names (see engine.h). */
#include <errno.h>
#include <string.h>

#include "engine.h"

static const char *const engine_names[] = {
	[ENGINE_AUTO] = "auto",
	[ENGINE_SOCKMAP] = "sockmap",
	[ENGINE_SPLICE] = "splice",
	[ENGINE_SOCKMAP_UNBOUNDED] = "sockmap-unbounded",
};

int engine_parse(const char *name, enum engine_kind *kind)
{
	for (unsigned int i = 0; i < sizeof(engine_names) / sizeof(engine_names[0]); i++) {
		if (strcmp(name, engine_names[i]) == 0) {
			*kind = i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *engine_name(enum engine_kind kind)
{
	return engine_names[kind];
}
