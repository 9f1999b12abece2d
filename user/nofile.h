/* SPDX-License-Identifier: MIT */
/*
 * nofile.h - the open-files arithmetic of `sockmux run` (daemon_run.c, fit_nofile()), pure so
 * that it is unit-tested: what max_connections needs, what to ask setrlimit() for, and what
 * fits a limit that could not be raised.
 */
#ifndef SOCKMUX_NOFILE_H
#define SOCKMUX_NOFILE_H

#include <sys/resource.h>

/* Descriptors for max_conns connections of per_conn descriptors each, plus extra. */
rlim_t nofile_need(unsigned int max_conns, unsigned int per_conn, rlim_t extra);
/*
 * The RLIMIT_NOFILE to ask for, given the current one: the soft limit raised to need (no
 * process may have more than nr_open, fs.nr_open), the hard limit raised to that soft limit
 * if it is below. Never lowers either.
 */
struct rlimit nofile_ask(rlim_t need, rlim_t nr_open, const struct rlimit *cur);
/* The most connections that fit a soft limit of limit (at least 1). */
unsigned int nofile_fit(rlim_t limit, unsigned int per_conn, rlim_t extra);

#endif
