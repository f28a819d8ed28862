/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright (c) 2026 The epmdd authors */
/*
 * main: the epmdd (and epmd) entry point.  Options, the client commands,
 * start-up in order (logging, -daemon, descriptor limit, registry,
 * listeners, signals), the event loop, and a clean teardown in which
 * every handle is closed and uv_loop_close succeeds.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

#include "client.h"
#include "ctl.h"
#include "ctlproto.h"
#include "dispatch.h"
#include "log.h"
#include "net.h"
#include "options.h"
#include "registry.h"
#include "util.h"

/* Escaped node names are cut to this in log lines. */
#define LOG_NAME_SIZE 512

#ifndef EPMDD_VERSION
#define EPMDD_VERSION "unknown"
#endif

struct daemon {
	uv_loop_t loop;
	struct options opts;
	struct registry *reg;
	struct dispatch_ctx dctx;
	struct net *net;
	struct ctl *ctl;
	char control[sizeof(((struct sockaddr_un *)0)->sun_path)];
	uv_signal_t sigterm;
	uv_signal_t sigint;
	uv_signal_t sighup;
	bool stopping;
};

static const char *
reason_text(enum registry_reason r)
{
	switch (r) {
	case REGISTRY_CLOSED:
		return "connection closed";
	case REGISTRY_STRAY:
		return "stray data on its connection";
	case REGISTRY_STOPPED:
		return "stopped";
	case REGISTRY_SHUTDOWN:
		return "daemon stopping";
	case REGISTRY_ERROR:
		return "write error";
	default:
		return "unknown";
	}
}

/* Registry changes are logged here, at info (debug during shutdown). */
static void
registry_event_cb(void *arg, const struct node *n, enum registry_event ev,
    enum registry_reason reason)
{
	struct daemon *d = arg;
	char name[LOG_NAME_SIZE], peer[NET_ADDR_TEXT];

	ctl_node_event(d->ctl, n, ev, reason);
	util_escape(name, sizeof(name), n->data, n->nlen);
	if (ev == REGISTRY_REGISTERED) {
		net_addr_text(&n->peer, peer);
		log_info("registered '%s' port %u type %u proto %u versions "
			 "%u..%u creation %u from %s",
		    name, n->port, n->type, n->proto, n->lv, n->hv,
		    registry_creation(n), peer);
	} else if (reason == REGISTRY_SHUTDOWN)
		log_debug("unregistered '%s' port %u: %s", name, n->port,
		    reason_text(reason));
	else
		log_info("unregistered '%s' port %u creation %u: %s", name,
		    n->port, registry_creation(n), reason_text(reason));
}

static void
refused_cb(void *arg, const struct dispatch_result *res,
    const struct registry_addr *peer)
{
	struct daemon *d = arg;

	ctl_refused_event(d->ctl, res, peer);
}

static void
daemon_stop(struct daemon *d, const char *why)
{
	if (d->stopping)
		return;
	d->stopping = true;
	log_notice("stopping: %s", why);
	ctl_stop(d->ctl);
	net_stop(d->net);
	uv_close((uv_handle_t *)&d->sigterm, NULL);
	uv_close((uv_handle_t *)&d->sigint, NULL);
	uv_close((uv_handle_t *)&d->sighup, NULL);
}

static void
kill_cb(void *arg)
{
	daemon_stop(arg, "got KILL_REQ");
}

static void
ctl_shutdown_cb(void *arg)
{
	daemon_stop(arg, "epmdctl shutdown");
}

static void
signal_cb(uv_signal_t *s, int signum)
{
	struct daemon *d = s->data;

	if (signum == SIGHUP) {
		log_notice("SIGHUP received, ignoring");
		return;
	}
	daemon_stop(d, signum == SIGTERM ? "SIGTERM" : "SIGINT");
}

/*
 * OTP's -daemon: the parent exits 0 before anything is bound; the child
 * leaves the session, forks again, and runs with / as its directory and
 * /dev/null on its standard descriptors.
 */
static void
daemonize(void)
{
	pid_t pid;
	int fd;

	pid = fork();
	if (pid < 0)
		fatal("fork");
	if (pid > 0)
		_exit(0);
	if (setsid() < 0)
		fatal("setsid");
	signal(SIGHUP, SIG_IGN);
	pid = fork();
	if (pid < 0)
		fatal("fork");
	if (pid > 0)
		_exit(0);
	if (chdir("/") < 0)
		fatal("chdir /");
	/* OTP sets 0; the files we make get explicit modes anyway. */
	umask(022);
	/* As OTP: no inherited descriptors, /dev/null on 0, 1 and 2. */
	closefrom(3);
	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		fatal("/dev/null");
	dup2(fd, 0);
	dup2(fd, 1);
	dup2(fd, 2);
	if (fd > 2)
		close(fd);
}

/*
 * Raise the soft descriptor limit to the hard one and derive the
 * connection ceiling from it.
 */
static unsigned long
raise_nofile(unsigned long wanted)
{
	struct rlimit rl;
	unsigned long limit;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		fatal("getrlimit");
	if (rl.rlim_cur < rl.rlim_max) {
		rlim_t old = rl.rlim_cur;

		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
			log_warn("cannot raise the descriptor limit from %lu",
			    (unsigned long)old);
			rl.rlim_cur = old;
		}
	}
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > OPTIONS_MAX_CONNECTIONS)
		limit = OPTIONS_MAX_CONNECTIONS;
	else if (rl.rlim_cur > NET_FD_RESERVE + 1)
		limit = (unsigned long)rl.rlim_cur - NET_FD_RESERVE;
	else
		limit = 1;
	if (wanted != 0 && wanted > limit)
		log_warnx("-max_connections %lu is above what the descriptor "
			  "limit allows (%lu): connections beyond that are shed "
			  "when accept fails",
		    wanted, limit);
	if (wanted != 0)
		limit = wanted;
	return limit;
}

static void
hash_key(uint8_t key[REGISTRY_KEY_SIZE])
{
	struct timespec ts;

	if (getrandom(key, REGISTRY_KEY_SIZE, GRND_NONBLOCK) ==
	    REGISTRY_KEY_SIZE)
		return;
	/* No entropy yet (early boot): a weaker key beats none. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	memset(key, 0, REGISTRY_KEY_SIZE);
	memcpy(key, &ts, sizeof(ts) < REGISTRY_KEY_SIZE ? sizeof(ts)
							: REGISTRY_KEY_SIZE);
	key[0] ^= (uint8_t)getpid();
}

/*
 * Open the control socket: the path given, or the default one.  An
 * explicit path must work; the default is best effort, except that a
 * live daemon already answering there is always an error.
 */
static void
start_control(struct daemon *d, int64_t started)
{
	const struct options *o = &d->opts;
	struct ctl_config cc;
	struct group *gr;
	int r;

	if (o->control != NULL && strcmp(o->control, "none") == 0)
		return;
	memset(&cc, 0, sizeof(cc));
	if (o->control != NULL)
		util_strlcpy(d->control, o->control, sizeof(d->control));
	else if (ctlproto_default_path(o->port, (unsigned)geteuid(),
		     getenv("XDG_RUNTIME_DIR"), d->control,
		     sizeof(d->control)) < 0)
		fatalx("the default control socket path is too long");
	cc.path = d->control;
	cc.fd = -1;
	cc.group = -1;
	if (o->control_group != NULL) {
		gr = getgrnam(o->control_group);
		if (gr == NULL)
			fatalx("-control_group: no group \"%s\"",
			    o->control_group);
		cc.group = (int)gr->gr_gid;
	}
	cc.reg = d->reg;
	cc.dctx = &d->dctx;
	cc.net = d->net;
	cc.info.version = EPMDD_VERSION;
	cc.info.started_at = started;
	cc.info.relaxed = o->relaxed;
	cc.info.packet_timeout = o->packet_timeout;
	cc.shutdown = ctl_shutdown_cb;
	cc.arg = d;
	r = ctl_start(&d->loop, &cc, &d->ctl);
	if (r == 0)
		return;
	if (r == -EADDRINUSE || o->control != NULL)
		exit(1);
	/* ctl_start logged why; carry on without a control socket. */
	log_warnx("running without a control socket");
	ctl_free(d->ctl);
	d->ctl = NULL;
}

static int
run_daemon(struct daemon *d, const char *prog)
{
	const struct options *o = &d->opts;
	struct net_config ncfg;
	enum log_dest dest = LOG_TO_STDERR;
	uint8_t key[REGISTRY_KEY_SIZE];
	char where[OPTIONS_MAX_LISTEN * NET_ADDR_TEXT];
	const char *js;
	int r;

	if (o->daemon)
		dest = LOG_TO_SYSLOG;
	else if ((js = getenv("JOURNAL_STREAM")) != NULL) {
		struct stat st;
		unsigned long dev, ino;

		if (fstat(2, &st) == 0 &&
		    sscanf(js, "%lu:%lu", &dev, &ino) == 2 &&
		    dev == (unsigned long)st.st_dev &&
		    ino == (unsigned long)st.st_ino)
			dest = LOG_TO_JOURNAL;
	}
	if (o->systemd)
		fatalx("-systemd: socket activation is not yet supported");
	/* Detach before syslog is opened: daemonize closes descriptors. */
	if (o->daemon)
		daemonize();
	log_init(prog, dest, o->debug);
	signal(SIGPIPE, SIG_IGN);

	memset(&ncfg, 0, sizeof(ncfg));
	ncfg.on_kill = kill_cb;
	ncfg.on_refused = refused_cb;
	ncfg.arg = d;
	ncfg.packet_timeout = o->packet_timeout;
	ncfg.delay_accept = o->delay_accept;
	ncfg.delay_write = o->delay_write;
	ncfg.max_conns = raise_nofile(o->max_connections);

	if ((r = uv_loop_init(&d->loop)) < 0)
		fatalx("uv_loop_init: %s", uv_strerror(r));
	hash_key(key);
	d->reg = registry_new(o->debug > 0 ? REGISTRY_OLD_KEEP_DEBUG
					   : REGISTRY_OLD_KEEP,
	    key);
	if (d->reg == NULL)
		fatalx("out of memory");
	registry_set_observer(d->reg, registry_event_cb, d);
	d->dctx.reg = d->reg;
	d->dctx.relaxed = o->relaxed;
	if (net_new(&d->loop, &d->dctx, &ncfg, &d->net) < 0)
		fatalx("out of memory");

	r = net_listen(d->net, o);
	if (r == -EADDRINUSE) {
		/* Another epmd has the port: as OTP, exit 0 (erl relies on it). */
		if (!o->daemon)
			log_notice("port %u is in use (another epmd is "
				   "running?), exiting",
			    o->port);
		net_stop(d->net);
		uv_run(&d->loop, UV_RUN_DEFAULT);
		net_free(d->net);
		registry_free(d->reg);
		uv_loop_close(&d->loop);
		return 0;
	}
	if (r < 0)
		exit(1);
	start_control(d, (int64_t)time(NULL));

	uv_signal_init(&d->loop, &d->sigterm);
	uv_signal_init(&d->loop, &d->sigint);
	uv_signal_init(&d->loop, &d->sighup);
	d->sigterm.data = d->sigint.data = d->sighup.data = d;
	uv_signal_start(&d->sigterm, signal_cb, SIGTERM);
	uv_signal_start(&d->sigint, signal_cb, SIGINT);
	uv_signal_start(&d->sighup, signal_cb, SIGHUP);

	net_describe_listeners(d->net, where, sizeof(where));
	log_notice("epmdd %s running on %s%s, at most %lu connections, "
		   "control socket %s",
	    EPMDD_VERSION, where, o->relaxed ? ", relaxed command check" : "",
	    ncfg.max_conns, d->ctl != NULL ? ctl_path(d->ctl) : "none");

	uv_run(&d->loop, UV_RUN_DEFAULT);

	ctl_free(d->ctl);
	net_free(d->net);
	registry_free(d->reg);
	r = uv_loop_close(&d->loop);
	assert(r == 0);
	log_notice("stopped");
	return r == 0 ? 0 : 1;
}

int
main(int argc, char *argv[])
{
	static struct daemon d;
	struct options_env env;
	const char *prog;
	char err[256];
	int r;

	prog = strrchr(argv[0], '/');
	prog = prog != NULL ? prog + 1 : argv[0];
	env.port = getenv("ERL_EPMD_PORT");
	env.address = getenv("ERL_EPMD_ADDRESS");
	env.relaxed = getenv("ERL_EPMD_RELAXED_COMMAND_CHECK");
	r = options_parse(argc, argv, &env, &d.opts, err, sizeof(err));
	if (r < 0) {
		if (err[0] != '\0')
			fprintf(stderr, "%s: %s\n", prog, err);
		if (r == OPTIONS_USAGE)
			options_usage(stderr, prog);
		return 1;
	}
	switch (d.opts.mode) {
	case OPTIONS_HELP:
		options_usage(stdout, prog);
		return 0;
	case OPTIONS_VERSION:
		printf("epmdd %s\n", EPMDD_VERSION);
		return 0;
	case OPTIONS_SERVER:
		return run_daemon(&d, prog);
	default:
		return client_run(&d.opts);
	}
}
