/* SPDX-License-Identifier: MIT */
/*
 * privdrop.h - run as another user after the set-up, keeping only CAP_NET_BIND_SERVICE (and
 * what transparent backends need).
 */
#ifndef SOCKMUX_PRIVDROP_H
#define SOCKMUX_PRIVDROP_H

#include <stdbool.h>
#include <stdint.h>

/*
 * Becomes user (uid, gid, no supplementary groups), keeps CAP_NET_BIND_SERVICE and the
 * capabilities in keep (bit n: capability n) alone in the permitted, effective and bounding
 * sets, sets no_new_privs. 0 (also when already user) or -errno with *why a short static
 * explanation. Call while the process has one thread.
 */
int privdrop(const char *user, uint64_t keep, const char **why);
/* True when the calling thread has capability cap in its effective set. */
bool privdrop_has_cap(unsigned int cap);

#endif
