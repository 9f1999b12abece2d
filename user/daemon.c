// SPDX-License-Identifier: MIT
/*
 * daemon.c - `sockmux run`: choose the engine, start one worker per CPU, wait for a signal,
 * stop cleanly. Signals are blocked in every thread and taken here with sigwait(), so no
 * handler runs in the middle of a worker.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/sysinfo.h>

#include "config.h"
#include "daemon.h"
#include "engine.h"
#include "log.h"
#include "sockmap.h"
#include "worker.h"

/*
 * A connection holds 2 sockets, and with the splice engine 2 pipes (4 descriptors) more. Raise
 * the soft limit to what max_connections needs, up to the hard limit; if that falls short,
 * lower max_connections to what fits, so that accept() never fails for want of descriptors.
 */
static void fit_nofile(struct daemon *d)
{
	unsigned int per_conn = d->engine == ENGINE_SPLICE ? 6 : 2;
	rlim_t want = (rlim_t)d->cfg.max_connections * per_conn + 64;
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= want)
		return;
	rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0 && getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	if (rl.rlim_cur >= want)
		return;
	pr_info("open files limited to %llu: max_connections lowered from %u to %llu",
		(unsigned long long)rl.rlim_cur, d->cfg.max_connections,
		(unsigned long long)(rl.rlim_cur - 64) / per_conn);
	d->cfg.max_connections = (rl.rlim_cur - 64) / per_conn;
}

static void use_splice(struct daemon *d)
{
	d->engine = ENGINE_SPLICE;
	d->ops = &splice_engine_ops;
}

static int use_sockmap(struct daemon *d, bool backpressure, const char **why)
{
	int err;

	err = sockmap_open(&d->sockmap, d->cfg.max_connections, backpressure, why);
	if (err)
		return err;
	d->engine = backpressure ? ENGINE_SOCKMAP : ENGINE_SOCKMAP_UNBOUNDED;
	d->ops = &sockmap_engine_ops;
	return 0;
}

/*
 * Picks and opens the engine; the first log lines say which one runs and why. 0 or -errno.
 * auto prefers the sockmap engine, which the benchmark (docs/bench/results.md) measured
 * ahead of splice, and falls back to splice where BPF cannot load.
 */
static int choose_engine(struct daemon *d, enum engine_kind asked)
{
	const char *why = NULL;
	int err;

	switch (asked) {
	case ENGINE_SPLICE:
		use_splice(d);
		pr_info("engine: splice (chosen with --engine splice): splice(2) through a pipe "
			"per direction");
		return 0;
	case ENGINE_SOCKMAP:
	case ENGINE_SOCKMAP_UNBOUNDED:
		err = use_sockmap(d, asked == ENGINE_SOCKMAP, &why);
		if (err) {
			pr_err("engine: %s cannot run: %s (%s)", engine_name(asked), why,
			       strerror(-err));
			return err;
		}
		if (asked == ENGINE_SOCKMAP_UNBOUNDED) {
			pr_warn("engine: sockmap-unbounded (chosen with --engine): the kernel's own "
				"sockmap behaviour without back-pressure, for measurements only: a "
				"client faster than its backend makes the kernel queue without bound");
		} else {
			pr_info("engine: sockmap (chosen with --engine sockmap): a BPF sk_skb "
				"verdict moves the bytes in the kernel, with back-pressure");
		}
		return 0;
	case ENGINE_AUTO:
		break;
	}
	err = use_sockmap(d, true, &why);
	if (!err) {
		pr_info("engine: sockmap (auto): a BPF sk_skb verdict moves the bytes in the "
			"kernel, with back-pressure; measured ahead of splice (docs/bench/results.md)");
		return 0;
	}
	use_splice(d);
	pr_warn("engine: splice (auto): the sockmap engine cannot run here: %s (%s); splice(2) "
		"carries the bytes instead", why, strerror(-err));
	return 0;
}

int daemon_run(struct sm_config *cfg, enum engine_kind engine)
{
	struct daemon *d;
	sigset_t set;
	unsigned int i, started = 0;
	int err, sig, status = 1;

	d = calloc(1, sizeof(*d));
	if (!d) {
		pr_err("out of memory");
		config_free(cfg);
		return 1;
	}
	d->cfg = *cfg;
	memset(cfg, 0, sizeof(*cfg));
	d->n_workers = d->cfg.workers ? d->cfg.workers : (unsigned int)get_nprocs();
	if (!d->n_workers)
		d->n_workers = 1;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	pr_info("sockmux %s starting: %zu listener(s), %zu backend(s), %zu route(s), %u worker(s)",
		SOCKMUX_VERSION, d->cfg.n_listeners, d->cfg.n_backends, d->cfg.n_routes,
		d->n_workers);
	err = choose_engine(d, engine);
	if (err)
		goto out_free;
	if (d->sockmap)
		sockmap_log_ids(d->sockmap);
	fit_nofile(d);

	d->workers = calloc(d->n_workers, sizeof(*d->workers));
	if (!d->workers)
		goto out_engine;
	for (i = 0; i < d->n_workers; i++) {
		err = worker_init(&d->workers[i], d, i);
		if (err)
			goto out_workers;
	}
	for (started = 0; started < d->n_workers; started++) {
		err = worker_start(&d->workers[started]);
		if (err) {
			pr_err("cannot start worker thread: %s", strerror(-err));
			goto out_stop;
		}
	}
	for (i = 0; i < d->cfg.n_listeners; i++)
		pr_info("listening on %s", d->cfg.listeners[i].text);

	for (;;) {
		if (sigwait(&set, &sig))
			continue;
		if (sig == SIGHUP) {
			pr_warn("SIGHUP: configuration reload is not implemented yet; ignored");
			continue;
		}
		pr_info("%s: stopping", strsignal(sig));
		break;
	}
	status = 0;

out_stop:
	atomic_store(&d->stopping, true);
	for (i = 0; i < started; i++)
		worker_stop(&d->workers[i]);
	for (i = 0; i < started; i++)
		worker_join(&d->workers[i]);
	i = d->n_workers;
out_workers:
	while (i-- > 0)
		worker_fini(&d->workers[i]);
	free(d->workers);
out_engine:
	sockmap_close(d->sockmap);
out_free:
	config_free(&d->cfg);
	free(d);
	if (!status)
		pr_info("stopped");
	return status;
}
