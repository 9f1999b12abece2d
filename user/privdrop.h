/* SPDX-License-Identifier: MIT */
/* privdrop.h - run as another user after the set-up, keeping only CAP_NET_BIND_SERVICE. */
#ifndef SOCKMUX_PRIVDROP_H
#define SOCKMUX_PRIVDROP_H

/*
 * Becomes user (uid, gid, no supplementary groups), keeps CAP_NET_BIND_SERVICE alone in the
 * permitted, effective and bounding sets, sets no_new_privs. 0 (also when already user) or
 * -errno with *why a short static explanation. Call while the process has one thread.
 */
int privdrop(const char *user, const char **why);

#endif
