// SPDX-License-Identifier: MIT
/*
 * engines.c - the engines `--engine NAME` chooses from, and what the first log line says of
 * each choice. Adding an engine is its file and a line here.
 *
 * auto runs splice: the sockmap engine is bounded and level with it or ahead in bulk,
 * latency, connections per second and CPU at saturation, but below saturation a transfer
 * through it costs more CPU per GiB (1.3 to 2.3 times splice's: the kernel's psock work queue;
 * docs/bench/results.md, README "Engines").
 */
#include <string.h>

#include "engine.h"
#include "engine/splice.h"
#include "log.h"

extern const struct engine_ops sockmap_engine_ops;
extern const struct engine_ops sockmap_unbounded_engine_ops;

static const struct engine_choice choices[] = {
	{ "auto", &splice_engine_ops, LOG_INFO,
	  "splice (auto): splice(2) through a pipe per direction while bytes move; the sockmap engine (--engine "
	  "sockmap) is not the default: below saturation a transfer through it costs more CPU "
	  "per GiB (see README, Engines)" },
	{ "splice", &splice_engine_ops, LOG_INFO,
	  "splice (chosen with --engine splice): splice(2) through a pipe per direction "
	  "while bytes move" },
	{ "splice-copy", &splice_copy_engine_ops, LOG_WARN,
	  "splice-copy (chosen with --engine): the splice engine with no pipe at all, every "
	  "byte copied as when its pipe pool is out, for tests and measurements only" },
	{ "sockmap", &sockmap_engine_ops, LOG_INFO,
	  "sockmap (chosen with --engine sockmap): a BPF sk_skb verdict moves the bytes in the "
	  "kernel, with back-pressure" },
	{ "sockmap-unbounded", &sockmap_unbounded_engine_ops, LOG_WARN,
	  "sockmap-unbounded (chosen with --engine): the kernel's own sockmap behaviour without "
	  "back-pressure, for measurements only: a client faster than its backend makes the "
	  "kernel queue without bound" },
};

const struct engine_choice *engine_choose(const char *name)
{
	for (size_t i = 0; i < sizeof(choices) / sizeof(choices[0]); i++)
		if (!strcmp(choices[i].name, name))
			return &choices[i];
	return NULL;
}
