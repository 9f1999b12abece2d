/* SPDX-License-Identifier: MIT */
/*
 * control.h - the daemon's Unix control socket (`control = PATH;`, mode 0600).
 *
 * One request per connection: a line ("stats json", "stats text", "stats top", "reload"),
 * answered with the document and the close. Served by the main thread, which also ticks once a
 * second to keep the two snapshots the rates per second are computed from.
 */
#ifndef SOCKMUX_CONTROL_H
#define SOCKMUX_CONTROL_H

#include "ops/stats_snapshot.h"

struct daemon;

struct control {
	int fd;			/* listening socket, -1 when off */
	int timerfd;		/* the once-a-second tick */
	char *path;		/* bound path, unlinked at close; NULL when off */
	struct stats_snapshot prev, last;	/* the two latest ticks */
};

/*
 * Opens the socket named by the configuration (none for control = "") and the tick; 0 or
 * -errno. A path in use by a running process is -EADDRINUSE; a stale socket is replaced.
 * Call before the workers start: the socket's mode is set through the umask.
 */
int control_open(struct daemon *d, struct control **out);
void control_close(struct control *ctl);
/* The listening socket is readable: serve one request. */
void control_serve(struct daemon *d, struct control *ctl);
/* The timer fired: take a snapshot for the rates. */
void control_tick(struct daemon *d, struct control *ctl);

#endif
