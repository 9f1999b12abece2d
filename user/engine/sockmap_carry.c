// SPDX-License-Identifier: MIT
/*
 * sockmap_carry.c - the sockmap engine's spill path: the bytes the verdict program passed to
 * user space (their destination was congested) are read from the source and written to the
 * destination, sized to what it can take, never before every byte the kernel redirected
 * earlier has entered its send queue; the count written is published for the program, which
 * redirects again once it equals passed. What the destination does not take is kept (struct
 * sockmap_spill) and written when it wakes the worker with EPOLLOUT.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "conn.h"
#include "engine/sockmap_state.h"
#include "tcpstat.h"
#include "worker.h"

/* Smallest read when carrying passed bytes, even towards a nearly full destination. */
#define SOCKMAP_READ_MIN 16384

/*
 * True when every byte the kernel redirected in direction dir, and every byte written by
 * us, has entered the destination's TCP send queue: passed bytes written now cannot
 * overtake redirected ones still waiting in the destination's psock.
 */
bool sockmap_redirected_flushed(struct worker *w, struct conn *c, int dir)
{
	struct sm_dir_state *ds = dir_state(w, c, dir);
	uint64_t base = __atomic_load_n(&ds->peer_base, __ATOMIC_ACQUIRE), queued;

	/* no base yet: the program never ran that way, so nothing was sent that way either */
	if (!(base & SM_BASE_SET))
		return ds->redirected + ds->written == 0;
	if (tcpstat_queued(c->fd[!dir], &queued))
		return false;
	return queued - (base & ~SM_BASE_SET) >= ds->redirected + ds->written;
}

static void set_want_out(struct worker *w, struct conn *c, int side, bool on)
{
	if (state(c)->want_out[side] == on)
		return;
	state(c)->want_out[side] = on;
	sockmap_watch(w, c, side);
}

/*
 * What the destination's send buffer can take now, roughly (sk_sndbuf also counts overhead);
 * *sndbuf is read once per sockmap_carry() call, SIOCOUTQ before every read.
 */
static size_t room(int fd, int *sndbuf)
{
	socklen_t len = sizeof(*sndbuf);
	long free_bytes;
	int outq = 0;

	if (*sndbuf < 0 && getsockopt(fd, SOL_SOCKET, SO_SNDBUF, sndbuf, &len) < 0)
		return SOCKMAP_READ_MIN;
	if (ioctl(fd, SIOCOUTQ, &outq) < 0)
		return SOCKMAP_READ_MIN;
	free_bytes = (long)*sndbuf - outq;
	if (free_bytes < SOCKMAP_READ_MIN)
		return SOCKMAP_READ_MIN;
	return free_bytes > WORKER_SCRATCH ? WORKER_SCRATCH : (size_t)free_bytes;
}

/* Keeps len bytes at buf, not yet written, as direction dir's rest. 0 or -ENOMEM. */
static int keep(struct sockmap_spill *sp, const uint8_t *buf, size_t len)
{
	sp->rest = malloc(len);
	if (!sp->rest)
		return -ENOMEM;
	memcpy(sp->rest, buf, len);
	sp->rest_off = 0;
	sp->rest_len = len;
	return 0;
}

/*
 * Writes buf to direction dir's destination; keeps what it did not take. 0, 1 blocked, or
 * -errno (the destination failed).
 */
static int carry_write(struct worker *w, struct conn *c, int dir, const uint8_t *buf, size_t len)
{
	struct sockmap_spill *sp = &state(c)->spill[dir];
	struct sm_dir_state *ds = dir_state(w, c, dir);
	ssize_t n;
	int err;

	n = send(c->fd[!dir], buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR)
			return -errno;
		n = 0;
	}
	/* the program resumes redirecting only once this equals passed */
	__atomic_store_n(&ds->written, ds->written + n, __ATOMIC_RELEASE);
	if ((size_t)n == len)
		return 0;
	if (!sp->rest) {
		err = keep(sp, buf + n, len - n);
		if (err)
			return err;
	} else {
		sp->rest_off += n;
	}
	set_want_out(w, c, !dir, true);
	return 1;
}

/*
 * Carries direction dir's passed bytes: recv() them from the source into the worker's scratch
 * buffer, at most what the destination can take, write() them on, publish the count for the
 * program. Nothing is written before every byte the kernel redirected earlier has entered the
 * destination's send queue. Returns 0, 1 when it must be polled again (redirected bytes still
 * flushing), or -errno on a socket error, with *side the socket that failed. A failed source
 * that gives no more bytes (its psock went with the reset) is such an error too.
 */
int sockmap_carry(struct worker *w, struct conn *c, int dir, int *side)
{
	struct sockmap_spill *sp = &state(c)->spill[dir];
	struct sm_dir_state *ds = dir_state(w, c, dir);
	int err, sndbuf = -1;
	uint64_t redirected;
	ssize_t n;

	*side = !dir;	/* a write error: the destination failed */
	if (ds->broken) {
		/* bytes lost before the program, or a repeat it could not cut off */
		c->detail = dir ? "sequence check failed on the backend's bytes" :
				  "sequence check failed on the client's bytes";
		*side = dir;
		return -EPROTO;
	}
	/* Nothing passed to user space that is not written yet: no system call at all. A spill
	 * that starts after this load wakes the worker again (EPOLLIN, edge-triggered). */
	if (!sp->rest && __atomic_load_n(&ds->passed, __ATOMIC_ACQUIRE) == ds->written)
		return 0;
	for (;;) {
		/*
		 * Nothing is written before what the program redirected has entered the
		 * destination's send queue. While passed bytes wait it redirects nothing new, and
		 * our own writes enter that queue as they are made, so the check holds until
		 * redirected moves: it is made again only then.
		 */
		redirected = __atomic_load_n(&ds->redirected, __ATOMIC_ACQUIRE);
		if (!sp->flushed_known || sp->flushed_at != redirected) {
			if (!sockmap_redirected_flushed(w, c, dir))
				return 1;
			sp->flushed_known = true;
			sp->flushed_at = redirected;
		}
		if (sp->rest) {
			err = carry_write(w, c, dir, sp->rest + sp->rest_off,
					  sp->rest_len - sp->rest_off);
			if (err)
				return err < 0 ? err : 0;
			free(sp->rest);
			sp->rest = NULL;
			set_want_out(w, c, !dir, false);
			continue;
		}
		if (state(c)->src_gone)
			return 0;
		n = recv(c->fd[dir], w->scratch, room(c->fd[!dir], &sndbuf), MSG_DONTWAIT);
		if (n <= 0) {
			*side = dir;
			/* 0 is not EOF here: passed bytes may still be on their way (drained()),
			 * unless the socket failed: its reset came after every byte */
			if (n == 0 && c->fail.side == dir)
				return -ECONNRESET;
			if (n == 0 || errno == EAGAIN || errno == EINTR)
				return 0;
			return -errno;
		}
		/*
		 * Caught up with passed, the program may have redirected an skb since the check
		 * and then passed these bytes behind it: they wait, as rest, for the next check.
		 */
		if (__atomic_load_n(&ds->redirected, __ATOMIC_ACQUIRE) != redirected) {
			err = keep(sp, w->scratch, (size_t)n);
			if (err)
				return err;
			continue;
		}
		err = carry_write(w, c, dir, w->scratch, n);
		if (err)
			return err < 0 ? err : 0;
	}
}
