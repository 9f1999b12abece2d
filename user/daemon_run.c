// SPDX-License-Identifier: MIT
/*
 * daemon_run.c - `sockmux run`: choose the engine, start one worker per CPU, wait for a signal,
 * stop cleanly. Signals are blocked in every thread and taken here through a signalfd, so no
 * handler runs in the middle of a worker; the same epoll serves the control socket.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/capability.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/sysinfo.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "config.h"
#include "ops/check_transparent.h"
#include "ops/control.h"
#include "daemon.h"
#include "daemon_run.h"
#include "engine.h"
#include "health.h"
#include "listener.h"
#include "log.h"
#include "nofile.h"
#include "ops/metrics.h"
#include "privdrop.h"
#include "ops/reload.h"
#include "source_limit.h"
#include "transparent.h"
#include "worker_loop.h"

/* Descriptors beyond the connections': listeners, epolls, eventfds, BPF maps, control. */
#define NOFILE_HEADROOM 64

static rlim_t nr_open(void)
{
	unsigned long long v = 1048576;
	FILE *f = fopen("/proc/sys/fs/nr_open", "r");

	if (f) {
		if (fscanf(f, "%llu", &v) != 1)
			v = 1048576;
		fclose(f);
	}
	return (rlim_t)v;
}

/*
 * A connection holds 2 sockets and the descriptors its engine needs while idle (none today);
 * each worker may have a few pipes out (engine_ops.pipes_per_worker). As HAProxy
 * does, sockmux raises RLIMIT_NOFILE to what max_connections needs: the soft limit, and the
 * hard one where it may (CAP_SYS_RESOURCE; up to fs.nr_open). Only what cannot be had lowers
 * max_connections, so that accept() never fails for want of descriptors. Done before the
 * engine opens, which sizes its maps by max_connections. The log says the limit and why.
 */
static void fit_nofile(struct daemon *d, const struct engine_ops *ops)
{
	unsigned int per_conn = 2 + ops->fds_per_conn;
	rlim_t extra = NOFILE_HEADROOM + 2 * (rlim_t)ops->pipes_per_worker * d->n_workers;
	rlim_t need = nofile_need(d->max_connections, per_conn, extra), cap = nr_open();
	const char *hard_why = NULL;
	struct rlimit rl, up;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	if (rl.rlim_cur >= need)
		goto out_log;
	up = nofile_ask(need, cap, &rl);
	if (up.rlim_max > rl.rlim_max && setrlimit(RLIMIT_NOFILE, &up) < 0) {
		hard_why = errno == EPERM ? "not permitted: needs CAP_SYS_RESOURCE" : strerror(errno);
		up.rlim_max = rl.rlim_max;
		if (up.rlim_cur > rl.rlim_max)
			up.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &up);
	} else if (up.rlim_max == rl.rlim_max) {
		setrlimit(RLIMIT_NOFILE, &up);
	}
	if (hard_why)
		pr_warn("open files: the hard limit %llu cannot be raised to the %llu that "
			"max_connections %u needs (%s)",
			(unsigned long long)rl.rlim_max, (unsigned long long)up.rlim_cur,
			d->max_connections, hard_why);
	if (need > cap)
		pr_warn("open files: max_connections %u needs %llu descriptors, over fs.nr_open "
			"(%llu)", d->max_connections, (unsigned long long)need,
			(unsigned long long)cap);
	getrlimit(RLIMIT_NOFILE, &rl);
	if (rl.rlim_cur < need) {
		unsigned int fit = nofile_fit(rl.rlim_cur, per_conn, extra);

		pr_warn("open files: max_connections lowered from %u to %u to fit the limit of %llu "
			"(%u descriptors per connection with the %s engine)",
			d->max_connections, fit, (unsigned long long)rl.rlim_cur, per_conn,
			ops->name);
		d->max_connections = fit;
	}
out_log:
	pr_info("open files: limit %llu (hard %llu) for max_connections %u, %u descriptors each "
		"and %llu more", (unsigned long long)rl.rlim_cur, (unsigned long long)rl.rlim_max,
		d->max_connections, per_conn, (unsigned long long)extra);
}

/* Opens the chosen engine; the first log lines say which one runs and why. 0 or -errno. */
static int open_engine(struct daemon *d, const struct engine_choice *choice)
{
	const char *why = NULL;
	int err;

	d->ops = choice->ops;
	if (d->ops->open) {
		err = d->ops->open(d, d->max_connections, &why);
		if (err) {
			pr_err("engine: %s cannot run: %s (%s)", choice->name, why, strerror(-err));
			d->ops = NULL;
			return err;
		}
	}
	log_print(choice->log_level, "engine: %s", choice->why);
	return 0;
}

/*
 * Socket activation: listening sockets systemd passed serve the listeners with their address
 * (duplicated for each worker); one no listener names is reported and left unused.
 */
static int inherit_sockets(struct daemon *d)
{
	const struct config *cfg = &d->boot->cfg;
	unsigned int used = 0;
	int n;

	n = listener_inherit(&d->inherited);
	if (n < 0) {
		pr_err("socket activation: %s", strerror(-n));
		return n;
	}
	d->n_inherited = (unsigned int)n;
	if (!n)
		return 0;
	for (size_t i = 0; i < cfg->n_listeners; i++)
		if (listener_find_inherited(&cfg->listeners[i], d->inherited, n) >= 0)
			used++;
	pr_info("socket activation: %d socket(s) from systemd, %u for configured listeners", n,
		used);
	if (used < d->n_inherited)
		pr_warn("socket activation: %u socket(s) from systemd match no listen entry of %s "
			"and stay unused", d->n_inherited - used, cfg->path);
	return 0;
}

/*
 * Transparent backends set IP_TRANSPARENT on each connection: without CAP_NET_ADMIN (or
 * CAP_NET_RAW) every one of their connections would fail, so sockmux does not start, naming
 * the first such backend. 0 or -EPERM.
 */
static int may_be_transparent(const struct config *cfg)
{
	const struct config_backend *b = transparent_first(cfg);
	int err;

	if (!b)
		return 0;
	err = transparent_probe_any();
	if (!err)
		return 0;
	pr_err("backend \"%s\" (%s:%d) is transparent, but this process may not set "
	       "IP_TRANSPARENT (%s): it needs CAP_NET_ADMIN (or CAP_NET_RAW); run it as root or "
	       "grant the capability; `sockmux check -c %s` lists what else is missing",
	       b->name, cfg->path, b->line, strerror(-err), cfg->path);
	return err;
}

/*
 * What `sockmux check` would say of the host for transparent backends (rules, routes, the
 * nftables mark), as one warning: without it, the first sign would be every connection to
 * them timing out.
 */
static void warn_host_not_ready(const struct config *cfg)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	int problems;

	if (!f)
		return;
	problems = check_transparent(cfg, f);
	fclose(f);
	if (problems > 0)
		pr_warn("transparent: this host lacks %d thing(s) transparent backends need: their "
			"connections will time out; `sockmux check -c %s` lists them with the "
			"commands that add them", problems, cfg->path);
	free(out);
}

/*
 * user = NAME: after binding and loading, before any thread starts (capabilities are per
 * thread). Transparent backends keep CAP_NET_ADMIN, or CAP_NET_RAW when that is what the
 * process has (either lets it set IP_TRANSPARENT).
 */
static int drop_privileges(struct daemon *d)
{
	const struct config *cfg = &d->boot->cfg;
	const char *why = "", *kept = "";
	uint64_t keep = 0;
	int err;

	if (!cfg->user)
		return 0;
	if (config_transparent_servers(cfg)) {
		bool admin = privdrop_has_cap(CAP_NET_ADMIN);

		keep = 1ull << (admin ? CAP_NET_ADMIN : CAP_NET_RAW);
		kept = admin ? " and CAP_NET_ADMIN (transparent backends)" :
			       " and CAP_NET_RAW (transparent backends)";
	}
	err = privdrop(cfg->user, keep, &why);
	if (err) {
		pr_err("user \"%s\" (%s:%d): %s (%s)", cfg->user, cfg->path, cfg->user_line, why,
		       strerror(-err));
		return err;
	}
	pr_info("running as user %s (uid %u), keeping only CAP_NET_BIND_SERVICE%s", cfg->user,
		(unsigned int)getuid(), kept);
	return 0;
}

enum main_ev {
	MAIN_SIGNAL,
	MAIN_CONTROL,
	MAIN_TICK,
};

static int watch_fd(int epfd, int fd, enum main_ev what)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = what };

	if (fd < 0)
		return 0;
	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

/* The main thread's loop: signals and control requests, until SIGINT or SIGTERM. 0 or -errno. */
static int main_loop(struct daemon *d, const sigset_t *set)
{
	struct signalfd_siginfo si;
	struct epoll_event ev;
	char msg[512];
	int epfd, sfd, err, n;

	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0)
		return -errno;
	sfd = signalfd(-1, set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sfd < 0) {
		err = -errno;
		goto out_epoll;
	}
	err = watch_fd(epfd, sfd, MAIN_SIGNAL);
	if (!err)
		err = watch_fd(epfd, d->control->fd, MAIN_CONTROL);
	if (!err)
		err = watch_fd(epfd, d->control->timerfd, MAIN_TICK);
	while (!err) {
		n = epoll_wait(epfd, &ev, 1, -1);
		if (n <= 0)
			continue;
		if (ev.data.u32 == MAIN_CONTROL) {
			control_serve(d, d->control);
			continue;
		}
		if (ev.data.u32 == MAIN_TICK) {
			control_tick(d, d->control);
			continue;
		}
		if (read(sfd, &si, sizeof(si)) != sizeof(si))
			continue;
		if (si.ssi_signo == SIGHUP) {
			pr_info("SIGHUP: reloading the configuration");
			daemon_reload(d, msg, sizeof(msg));
			continue;
		}
		pr_info("%s: stopping", strsignal((int)si.ssi_signo));
		break;
	}
	close(sfd);
out_epoll:
	close(epfd);
	return err;
}

static void daemon_free(struct daemon *d);

/* The daemon's context for cfg (taken over); NULL when out of memory (logged). */
static struct daemon *daemon_new(struct config *cfg)
{
	const struct config *boot;
	struct daemon *d;

	d = calloc(1, sizeof(*d));
	if (!d) {
		pr_err("out of memory");
		config_free(cfg);
		return NULL;
	}
	pthread_mutex_init(&d->names.lock, NULL);
	pthread_mutex_init(&d->live_lock, NULL);
	d->boot = daemon_config_new(d, cfg);
	if (!d->boot) {
		pr_err("out of memory");
		daemon_free(d);
		return NULL;
	}
	d->live = config_gen_get(d->boot);
	atomic_store(&d->live_gen, d->boot->gen);
	boot = &d->boot->cfg;
	d->start_ns = now_ns();
	d->max_connections = boot->max_connections;
	d->n_workers = boot->workers ? boot->workers : (unsigned int)get_nprocs();
	if (!d->n_workers)
		d->n_workers = 1;
	return d;
}

/* Descriptors, limits, the engine, systemd's sockets and the workers' set-up. 0 or -errno. */
static int daemon_prepare(struct daemon *d, const struct engine_choice *engine)
{
	const struct config *boot = &d->boot->cfg;
	int err;

	pr_info("sockmux %s starting: %zu listener(s), %zu backend(s), %zu route(s), %u worker(s)",
		SOCKMUX_VERSION, boot->n_listeners, boot->n_backends, boot->n_routes,
		d->n_workers);
	err = may_be_transparent(boot);
	if (err)
		return err;
	warn_host_not_ready(boot);
	fit_nofile(d, engine->ops);
	err = source_limit_init(&d->sources, boot->max_per_source, d->max_connections);
	if (err) {
		pr_err("max_connections_per_source: %s", strerror(-err));
		return err;
	}
	err = open_engine(d, engine);
	if (err)
		return err;
	err = inherit_sockets(d);
	if (err)
		return err;
	d->workers = calloc(d->n_workers, sizeof(*d->workers));
	if (!d->workers)
		return -ENOMEM;
	for (; d->n_inited < d->n_workers; d->n_inited++) {
		err = worker_init(&d->workers[d->n_inited], d, d->n_inited);
		if (err)
			return err;
	}
	return 0;
}

/*
 * From prepared to serving: the control socket, the privilege drop (after everything that
 * needs privileges, before any thread), metrics, the worker threads. 0 or -errno.
 */
static int daemon_start(struct daemon *d)
{
	const struct config *boot = &d->boot->cfg;
	int err;

	err = control_open(d, &d->control);
	if (!err)
		err = drop_privileges(d);
	if (!err)
		err = metrics_start(d, &d->metrics);
	if (!err)
		err = health_start(d, &d->health);
	if (err)
		return err;
	for (; d->n_started < d->n_workers; d->n_started++) {
		err = worker_start(&d->workers[d->n_started]);
		if (err) {
			pr_err("cannot start worker thread: %s", strerror(-err));
			return err;
		}
	}
	for (size_t i = 0; i < boot->n_listeners; i++)
		pr_info("listening on %s%s", boot->listeners[i].text,
			listener_find_inherited(&boot->listeners[i], d->inherited,
						d->n_inherited) >= 0 ?
				" (socket from systemd)" : "");
	sd_notifyf(0, "READY=1\nSTATUS=serving %zu listener(s), %zu route(s), engine %s",
		   boot->n_listeners, boot->n_routes, d->ops->name);
	return 0;
}

/* Stops the worker threads that started (each ends its connections) and metrics. */
static void daemon_stop(struct daemon *d)
{
	unsigned int i;

	sd_notify(0, "STOPPING=1");
	atomic_store(&d->stopping, true);
	for (i = 0; i < d->n_started; i++)
		worker_stop(&d->workers[i]);
	for (i = 0; i < d->n_started; i++)
		worker_join(&d->workers[i]);
	d->n_started = 0;
	metrics_stop(d->metrics);
	d->metrics = NULL;
	health_stop(d->health);
	d->health = NULL;
}

/* Frees whatever of d was set up, in reverse order. */
static void daemon_free(struct daemon *d)
{
	unsigned int i;

	control_close(d->control);
	while (d->n_inited > 0)
		worker_fini(&d->workers[--d->n_inited]);
	free(d->workers);
	for (i = 0; i < d->n_inherited; i++)
		close(d->inherited[i]);
	free(d->inherited);
	if (d->ops && d->ops->close)
		d->ops->close(d);
	source_limit_fini(&d->sources);
	config_gen_put(d->live);
	config_gen_put(d->boot);
	stats_names_fini(&d->names);
	pthread_mutex_destroy(&d->live_lock);
	pthread_mutex_destroy(&d->names.lock);
	free(d);
}

int daemon_run(struct config *cfg, const struct engine_choice *engine)
{
	struct daemon *d;
	sigset_t set;
	int err;

	/* signals are taken by the main loop only: blocked in every thread it starts */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	d = daemon_new(cfg);
	if (!d)
		return 1;
	err = daemon_prepare(d, engine);
	if (!err)
		err = daemon_start(d);
	if (!err) {
		err = main_loop(d, &set);
		if (err)
			pr_err("main loop: %s", strerror(-err));
	}
	daemon_stop(d);
	daemon_free(d);
	if (!err)
		pr_info("stopped");
	return err ? 1 : 0;
}
