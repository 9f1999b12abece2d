// SPDX-License-Identifier: MIT
/*
 * smx-tapbridge.c - a wire with delay and reordering between two TAP devices, for the
 * network-fault test (tests/e2e/netfaults.sh), on kernels without netem.
 *
 *   smx-tapbridge --tap-a NAME --tap-b NAME [--delay-ms MS]
 *                 [--reorder-every N --reorder-ms MS] [--queue FRAMES] [--txqueuelen N]
 *
 * --queue is the room per direction, in frames (a power of 2, default 16384);
 * --txqueuelen the devices' queues towards the bridge (default 32768).
 *
 * Creates the two TAP devices (IFF_TAP | IFF_NO_PI) in its network namespace, prints
 * "ready a=NAME b=NAME" and carries every Ethernet frame read from one to the other, each way,
 * after --delay-ms. Every Nth frame of a direction waits --reorder-ms more, so it arrives
 * behind the frames that followed it. The test moves the devices into namespaces of their
 * own: the descriptors keep working, and so a leg of its topology passes through here. The
 * devices go away when the bridge exits.
 *
 * Nothing is dropped on purpose: a frame that finds its queue full, or is too long for a slot
 * (FRAME_MAX), is dropped and counted. On SIGTERM or SIGINT it prints one line of counts and
 * exits 0:
 *
 *   tapbridge a_to_b=N b_to_a=N reordered=N queue_full=N oversize=N write_errors=N
 *   max_queued=N max_late_us=N
 *
 * max_late_us is how long after its due time the latest frame was written.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define FRAME_MAX 2048		/* room per queued frame (Ethernet header included) */
#define READ_BATCH 256		/* frames read from one device before looking at the other */
#define TIMER_SLACK_NS 200000	/* due frames are written in batches, at most this late */

struct frame {
	uint64_t due_ns;
	uint32_t len;
	uint8_t data[FRAME_MAX];
};

/* A FIFO of frames; all frames in one ring wait equally long, so it is ordered by due time. */
struct ring {
	struct frame *f;
	uint32_t mask;
	uint32_t head;
	uint32_t count;
};

/* One direction: frames read from in, written to out, in due-time order over both rings. */
struct dir {
	int in, out;
	struct ring now;	/* frames that wait the delay */
	struct ring held;	/* every Nth frame: delay plus reorder time */
	uint64_t seen, sent, reordered, queue_full, oversize, write_errors, max_late_ns;
	uint32_t max_queued;
};

struct bridge_opts {
	const char *tap_a, *tap_b;
	uint64_t delay_ns;
	uint64_t reorder_ns;
	uint64_t reorder_every;
	uint32_t queue;
	int txqueuelen;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + t.tv_nsec;
}

static int ring_init(struct ring *r, uint32_t size)
{
	r->f = calloc(size, sizeof(*r->f));
	if (!r->f)
		return -ENOMEM;
	r->mask = size - 1;
	r->head = 0;
	r->count = 0;
	return 0;
}

static struct frame *ring_tail(struct ring *r)
{
	if (r->count > r->mask)
		return NULL;
	return &r->f[(r->head + r->count) & r->mask];
}

static struct frame *ring_head(struct ring *r)
{
	return r->count ? &r->f[r->head] : NULL;
}

static void ring_pop(struct ring *r)
{
	r->head = (r->head + 1) & r->mask;
	r->count--;
}

/* Creates TAP device name in this namespace; returns its descriptor or -errno. */
static int tap_open(const char *name, int txqueuelen)
{
	struct ifreq ifr;
	int fd, sk, err;

	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr)) {
		err = -errno;
		goto out_close;
	}
	/* the device's queue towards us: frames past it are dropped before we see them */
	sk = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (sk < 0) {
		err = -errno;
		goto out_close;
	}
	ifr.ifr_qlen = txqueuelen;
	err = ioctl(sk, SIOCSIFTXQLEN, &ifr) ? -errno : 0;
	close(sk);
	if (err)
		goto out_close;
	return fd;

out_close:
	close(fd);
	return err;
}

/* Reads what in has (up to a batch), stamping each frame with its due time. */
static void dir_pull(struct dir *d, const struct bridge_opts *o)
{
	static uint8_t scratch[FRAME_MAX];
	uint64_t t = now_ns();
	int i;

	for (i = 0; i < READ_BATCH; i++) {
		bool hold = o->reorder_every && (d->seen + 1) % o->reorder_every == 0;
		struct ring *r = hold ? &d->held : &d->now;
		struct frame *f = ring_tail(r);
		ssize_t n;

		n = read(d->in, f ? f->data : scratch, FRAME_MAX);
		if (n < 0)
			return;		/* EAGAIN: nothing more for now */
		d->seen++;
		if (!f) {
			d->queue_full++;
			continue;
		}
		if (n >= FRAME_MAX) {
			d->oversize++;	/* cut short: the device's MTU is too large */
			continue;
		}
		f->len = n;
		f->due_ns = t + o->delay_ns + (hold ? o->reorder_ns : 0);
		r->count++;
		d->reordered += hold;
		if (d->now.count + d->held.count > d->max_queued)
			d->max_queued = d->now.count + d->held.count;
	}
}

/* The ring whose head is due first, or NULL when both are empty. */
static struct ring *dir_next(struct dir *d)
{
	struct frame *a = ring_head(&d->now), *b = ring_head(&d->held);

	if (!a)
		return b ? &d->held : NULL;
	if (!b)
		return &d->now;
	return b->due_ns < a->due_ns ? &d->held : &d->now;
}

/* Writes every frame due by now; returns the due time of the next one, or 0 if none. */
static uint64_t dir_flush(struct dir *d, uint64_t t)
{
	struct ring *r;

	while ((r = dir_next(d))) {
		struct frame *f = ring_head(r);

		if (f->due_ns > t)
			return f->due_ns;
		if (t - f->due_ns > d->max_late_ns)
			d->max_late_ns = t - f->due_ns;
		if (write(d->out, f->data, f->len) == (ssize_t)f->len)
			d->sent++;
		else
			d->write_errors++;
		ring_pop(r);
	}
	return 0;
}

static int bridge_run(struct dir *dirs, const struct bridge_opts *o, const sigset_t *unblocked)
{
	struct pollfd pfd[2] = {
		{ .fd = dirs[0].in, .events = POLLIN },
		{ .fd = dirs[1].in, .events = POLLIN },
	};

	while (!stop) {
		uint64_t t, next = 0, due;
		struct timespec ts, *tsp = NULL;
		int i;

		for (i = 0; i < 2; i++) {
			/* the device is gone (its namespace was removed) */
			if (pfd[i].revents & (POLLERR | POLLHUP | POLLNVAL))
				return -ENODEV;
			if (pfd[i].revents & POLLIN)
				dir_pull(&dirs[i], o);
		}
		t = now_ns();
		for (i = 0; i < 2; i++) {
			due = dir_flush(&dirs[i], t);
			if (due && (!next || due < next))
				next = due;
		}
		if (next) {
			ts.tv_sec = (next - t) / 1000000000ull;
			ts.tv_nsec = (next - t) % 1000000000ull;
			tsp = &ts;
		}
		if (ppoll(pfd, 2, tsp, unblocked) < 0) {
			if (errno != EINTR)
				return -errno;
			pfd[0].revents = pfd[1].revents = 0;
		}
	}
	return 0;
}

static const char usage[] =
	"usage: smx-tapbridge --tap-a NAME --tap-b NAME [--delay-ms MS]\n"
	"                     [--reorder-every N --reorder-ms MS] [--queue FRAMES]\n"
	"                     [--txqueuelen N]\n";

static int parse_opts(int argc, char **argv, struct bridge_opts *o)
{
	static const struct option opts[] = {
		{ "tap-a", required_argument, NULL, 'a' },
		{ "tap-b", required_argument, NULL, 'b' },
		{ "delay-ms", required_argument, NULL, 'd' },
		{ "reorder-every", required_argument, NULL, 'n' },
		{ "reorder-ms", required_argument, NULL, 'r' },
		{ "queue", required_argument, NULL, 'q' },
		{ "txqueuelen", required_argument, NULL, 't' },
		{ 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'a': o->tap_a = optarg; break;
		case 'b': o->tap_b = optarg; break;
		case 'd': o->delay_ns = strtod(optarg, NULL) * 1e6; break;
		case 'n': o->reorder_every = strtoull(optarg, NULL, 0); break;
		case 'r': o->reorder_ns = strtod(optarg, NULL) * 1e6; break;
		case 'q': o->queue = strtoul(optarg, NULL, 0); break;
		case 't': o->txqueuelen = atoi(optarg); break;
		default: return -EINVAL;
		}
	}
	/* the rings index with a mask */
	if (!o->tap_a || !o->tap_b || optind != argc || o->queue < 2 ||
	    (o->queue & (o->queue - 1)) || o->txqueuelen < 1)
		return -EINVAL;
	return 0;
}

int main(int argc, char **argv)
{
	struct bridge_opts o = { .queue = 16384, .txqueuelen = 32768 };
	struct dir dirs[2];
	struct sigaction sa;
	sigset_t block, unblocked;
	int fa, fb, err, i;

	memset(dirs, 0, sizeof(dirs));
	if (parse_opts(argc, argv, &o)) {
		fputs(usage, stderr);
		return 2;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	/* the signals arrive only inside ppoll(), so none is lost between check and wait */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, &unblocked);
	sigdelset(&unblocked, SIGTERM);
	sigdelset(&unblocked, SIGINT);

	fa = tap_open(o.tap_a, o.txqueuelen);
	if (fa < 0) {
		fprintf(stderr, "smx-tapbridge: %s: %s\n", o.tap_a, strerror(-fa));
		return 1;
	}
	fb = tap_open(o.tap_b, o.txqueuelen);
	if (fb < 0) {
		fprintf(stderr, "smx-tapbridge: %s: %s\n", o.tap_b, strerror(-fb));
		err = fb;
		goto out_close_a;
	}
	dirs[0].in = dirs[1].out = fa;
	dirs[0].out = dirs[1].in = fb;
	for (i = 0; i < 2; i++) {
		err = ring_init(&dirs[i].now, o.queue);
		if (!err)
			err = ring_init(&dirs[i].held, o.queue);
		if (err) {
			fprintf(stderr, "smx-tapbridge: queue: %s\n", strerror(-err));
			goto out_free;
		}
	}
	prctl(PR_SET_TIMERSLACK, TIMER_SLACK_NS);
	printf("ready a=%s b=%s\n", o.tap_a, o.tap_b);
	fflush(stdout);

	err = bridge_run(dirs, &o, &unblocked);
	if (err)
		fprintf(stderr, "smx-tapbridge: poll: %s\n", strerror(-err));
	printf("tapbridge a_to_b=%" PRIu64 " b_to_a=%" PRIu64 " reordered=%" PRIu64
	       " queue_full=%" PRIu64 " oversize=%" PRIu64 " write_errors=%" PRIu64
	       " max_queued=%u max_late_us=%" PRIu64 "\n",
	       dirs[0].sent, dirs[1].sent, dirs[0].reordered + dirs[1].reordered,
	       dirs[0].queue_full + dirs[1].queue_full, dirs[0].oversize + dirs[1].oversize,
	       dirs[0].write_errors + dirs[1].write_errors,
	       dirs[0].max_queued > dirs[1].max_queued ? dirs[0].max_queued : dirs[1].max_queued,
	       (dirs[0].max_late_ns > dirs[1].max_late_ns ? dirs[0].max_late_ns :
							     dirs[1].max_late_ns) / 1000);
	fflush(stdout);

out_free:
	for (i = 0; i < 2; i++) {
		free(dirs[i].now.f);
		free(dirs[i].held.f);
	}
	close(fb);
out_close_a:
	close(fa);
	return err ? 1 : 0;
}
