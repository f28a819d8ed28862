/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright (c) 2026 The epmdd authors */
/*
 * daemon: start-up, event fan-out and teardown.  Listening sockets come
 * from systemd whenever LISTEN_FDS names this process (and must, with
 * -systemd); then nothing is bound here.  Every registry change is
 * logged (with journal fields), shown to watchers and, rate-limited,
 * sent to systemd as STATUS=.
 */
#include "daemon.h"

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
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

#include "ctl.h"
#include "ctlproto.h"
#include "dispatch.h"
#include "log.h"
#include "net.h"
#include "registry.h"
#include "sysd.h"
#include "util.h"

#ifndef EPMDD_VERSION
#define EPMDD_VERSION "unknown"
#endif

/* Escaped node names are cut to this in log lines. */
#define LOG_NAME_SIZE 512

struct daemon {
	uv_loop_t loop;
	const struct options *opts;
	const char *prog;
	struct registry *reg;
	struct dispatch_ctx dctx;
	struct net *net;
	struct ctl *ctl;
	struct ctl *ctl_failed; /* freed once the loop has closed it */
	char control[sizeof(((struct sockaddr_un *)0)->sun_path)];
	uv_signal_t sigterm;
	uv_signal_t sigint;
	uv_signal_t sighup;
	uv_timer_t status_timer;
	uv_timer_t watchdog;
	bool status_dirty;
	bool stopping;
	int64_t started;
};

/* ---------------------------------------------------------- events */

static void
status_text(struct daemon *d, char *buf, size_t size)
{
	struct registry_stats st;
	char where[OPTIONS_MAX_LISTEN * NET_ADDR_TEXT];

	registry_get_stats(d->reg, &st);
	net_describe_listeners(d->net, where, sizeof(where));
	snprintf(buf, size, "%zu node%s registered; listening on %s",
	    st.active, st.active == 1 ? "" : "s", where);
}

static void
status_timer_cb(uv_timer_t *t)
{
	struct daemon *d = t->data;
	char status[1024];

	if (!d->status_dirty) {
		uv_timer_stop(t);
		return;
	}
	d->status_dirty = false;
	status_text(d, status, sizeof(status));
	sysd_notify_status(status);
}

/* STATUS= now, or at the end of the current interval. */
static void
status_changed(struct daemon *d)
{
	if (d->stopping)
		return;
	d->status_dirty = true;
	if (!uv_is_active((uv_handle_t *)&d->status_timer)) {
		status_timer_cb(&d->status_timer);
		uv_timer_start(&d->status_timer, status_timer_cb,
		    DAEMON_STATUS_INTERVAL * 1000, DAEMON_STATUS_INTERVAL * 1000);
	}
}

/* Every registry change: the log (with journal fields), watchers, STATUS. */
static void
registry_event_cb(void *arg, const struct node *n, enum registry_event ev,
    enum registry_reason reason)
{
	struct daemon *d = arg;
	char name[LOG_NAME_SIZE], peer[NET_ADDR_TEXT], port[8], cr[16],
	    type[8], uid[16];
	struct log_field f[8];
	size_t nf = 0;

	ctl_node_event(d->ctl, n, ev, reason);
	status_changed(d);
	util_escape(name, sizeof(name), n->data, n->nlen);
	net_addr_text(&n->peer, peer);
	snprintf(port, sizeof(port), "%u", n->port);
	snprintf(cr, sizeof(cr), "%u", registry_creation(n));
	snprintf(type, sizeof(type), "%u", n->type);
	snprintf(uid, sizeof(uid), "%u", n->uid);
	f[nf++] = (struct log_field) { "EPMD_EVENT",
		ev == REGISTRY_REGISTERED ? "registered" : "unregistered" };
	f[nf++] = (struct log_field) { "EPMD_NODE", name };
	f[nf++] = (struct log_field) { "EPMD_PORT", port };
	f[nf++] = (struct log_field) { "EPMD_CREATION", cr };
	f[nf++] = (struct log_field) { "EPMD_PEER", peer };
	if (ev == REGISTRY_REGISTERED) {
		f[nf++] = (struct log_field) { "EPMD_NODE_TYPE", type };
		if (n->uid != REGISTRY_UID_UNKNOWN)
			f[nf++] = (struct log_field) { "EPMD_UID", uid };
		log_fields(LOG_INFO, f, nf,
		    "registered '%s' port %u type %u proto %u versions "
		    "%u..%u creation %u from %s",
		    name, n->port, n->type, n->proto, n->lv, n->hv,
		    registry_creation(n), peer);
		return;
	}
	f[nf++] = (struct log_field) { "EPMD_REASON",
		registry_reason_name(reason) };
	log_fields(reason == REGISTRY_SHUTDOWN ? LOG_DEBUG : LOG_INFO, f, nf,
	    "unregistered '%s' port %u creation %u: %s", name, n->port,
	    registry_creation(n), registry_reason_name(reason));
}

static void
refused_cb(void *arg, const struct dispatch_result *res,
    const struct registry_addr *peer)
{
	struct daemon *d = arg;

	ctl_refused_event(d->ctl, res, peer);
}

/* ---------------------------------------------------------- stopping */

static void
daemon_stop(struct daemon *d, const char *why)
{
	if (d->stopping)
		return;
	d->stopping = true;
	log_notice("stopping: %s", why);
	sysd_notify_stopping();
	ctl_stop(d->ctl);
	net_stop(d->net);
	uv_close((uv_handle_t *)&d->sigterm, NULL);
	uv_close((uv_handle_t *)&d->sigint, NULL);
	uv_close((uv_handle_t *)&d->sighup, NULL);
	uv_close((uv_handle_t *)&d->status_timer, NULL);
	uv_close((uv_handle_t *)&d->watchdog, NULL);
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
		/* Nothing is reread: options are fixed for the run. */
		log_notice("SIGHUP received, ignoring");
		return;
	}
	daemon_stop(d, signum == SIGTERM ? "SIGTERM" : "SIGINT");
}

static void
watchdog_cb(uv_timer_t *t)
{
	(void)t;
	sysd_notify_watchdog();
}

/* ---------------------------------------------------------- start-up */

/*
 * OTP's -daemon: the parent exits 0 before anything is bound; the child
 * leaves the session, forks again, and runs with / as its directory and
 * /dev/null on its standard descriptors.  Descriptors from keep_from up
 * (handed over by systemd) survive; others above 2 are closed.
 */
static void
daemonize(int keep_from)
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
	closefrom(keep_from);
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
	if (rl.rlim_cur == RLIM_INFINITY ||
	    rl.rlim_cur > OPTIONS_MAX_CONNECTIONS)
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
	memcpy(key, &ts,
	    sizeof(ts) < REGISTRY_KEY_SIZE ? sizeof(ts) : REGISTRY_KEY_SIZE);
	key[0] ^= (uint8_t)getpid();
}

/*
 * Adopt what systemd passed: TCP listeners for EPMD, at most one Unix
 * listener for the control socket.  Anything else is an error.  Returns
 * the control socket's descriptor, or -1.
 */
static int
adopt_fds(struct daemon *d, const struct sysd_fd *fds, size_t n)
{
	size_t i, tcp = 0;
	int control = -1;

	for (i = 0; i < n; i++) {
		switch (fds[i].kind) {
		case SYSD_TCP_LISTENER:
			if (net_adopt_listener(d->net, fds[i].fd) < 0)
				exit(1);
			tcp++;
			break;
		case SYSD_UNIX_LISTENER:
			if (control >= 0)
				fatalx("systemd passed more than one Unix "
				       "socket (fd %d and %d)",
				    control, fds[i].fd);
			control = fds[i].fd;
			break;
		default:
			fatalx("systemd passed fd %d%s%s%s, which is neither a "
			       "listening TCP socket nor a listening Unix "
			       "stream socket",
			    fds[i].fd, fds[i].name[0] ? " (\"" : "",
			    fds[i].name, fds[i].name[0] ? "\")" : "");
		}
	}
	if (tcp == 0)
		fatalx("systemd passed no listening TCP socket");
	log_notice("adopted %zu listening socket%s%s from systemd", tcp,
	    tcp == 1 ? "" : "s", control >= 0 ? " and the control socket" : "");
	return control;
}

/*
 * Open the control socket: adopted, the path given, or the default one.
 * An explicit path must work; the default is best effort, except that
 * a live daemon already answering there is always an error.
 */
static void
start_control(struct daemon *d, int fd)
{
	const struct options *o = d->opts;
	struct sockaddr_un sun;
	socklen_t len = sizeof(sun);
	struct ctl_config cc;
	struct group *gr;
	int r;

	memset(&cc, 0, sizeof(cc));
	cc.fd = fd;
	cc.group = -1;
	if (fd >= 0) {
		/* Named by the socket unit; show its path in status. */
		memset(&sun, 0, sizeof(sun));
		if (getsockname(fd, (struct sockaddr *)&sun, &len) == 0)
			util_strlcpy(d->control, sun.sun_path,
			    sizeof(d->control));
	} else if (o->control != NULL && strcmp(o->control, "none") == 0)
		return;
	else if (o->control != NULL) {
		if (util_strlcpy(d->control, o->control, sizeof(d->control)) >=
		    sizeof(d->control))
			fatalx("-control %s: path too long (at most %zu bytes)",
			    o->control, sizeof(d->control) - 1);
	}
	else if (ctlproto_default_path(o->port, (unsigned)geteuid(),
		     getenv("XDG_RUNTIME_DIR"), d->control,
		     sizeof(d->control)) < 0)
		fatalx("the default control socket path is too long");
	cc.path = d->control;
	if (o->control_group != NULL && fd < 0) {
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
	cc.info.started_at = d->started;
	cc.info.relaxed = o->relaxed;
	cc.info.packet_timeout = o->packet_timeout;
	cc.shutdown = ctl_shutdown_cb;
	cc.arg = d;
	r = ctl_start(&d->loop, &cc, &d->ctl);
	if (r == 0)
		return;
	if (r == -EADDRINUSE || o->control != NULL || fd >= 0)
		exit(1);
	/* ctl_start logged why; carry on without a control socket. */
	log_warnx("running without a control socket");
	d->ctl_failed = d->ctl;
	d->ctl = NULL;
}

/* The port is taken: as OTP, exit 0 (erl relies on it). */
static int
port_in_use(struct daemon *d)
{
	if (!d->opts->daemon)
		log_notice("port %u is in use (another epmd is running?), "
			   "exiting",
		    d->opts->port);
	net_stop(d->net);
	uv_run(&d->loop, UV_RUN_DEFAULT);
	net_free(d->net);
	registry_free(d->reg);
	uv_loop_close(&d->loop);
	return 0;
}

static void
start_logging(const struct options *o, const char *prog)
{
	if (o->daemon) {
		log_init(prog, LOG_TO_SYSLOG, o->debug);
		return;
	}
	if (sysd_stderr_is_journal()) {
		log_init(prog, LOG_TO_JOURNAL, o->debug);
		log_set_sink(sysd_journal_sink, NULL);
		return;
	}
	log_init(prog, LOG_TO_STDERR, o->debug);
}

int
daemon_run(const struct options *o, const char *prog)
{
	static struct daemon dd;
	struct daemon *d = &dd;
	struct net_config ncfg;
	struct sysd_fd *fds = NULL;
	uint8_t key[REGISTRY_KEY_SIZE];
	char status[1024];
	uint64_t wd;
	int nfds, control = -1, r;

	d->opts = o;
	d->prog = prog;
	nfds = sysd_listen_fds(&fds);
	if (nfds < 0) {
		errno = -nfds;
		fatal("sd_listen_fds");
	}
	if (o->systemd && nfds == 0)
		fatalx("systemd provides no sockets");
	/* Detach before syslog is opened: daemonize closes descriptors. */
	if (o->daemon)
		daemonize(3 + nfds);
	start_logging(o, prog);
	signal(SIGPIPE, SIG_IGN);
	d->started = (int64_t)time(NULL);

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

	if (nfds > 0)
		control = adopt_fds(d, fds, (size_t)nfds);
	else if ((r = net_listen(d->net, o)) == -EADDRINUSE)
		return port_in_use(d);
	else if (r < 0)
		exit(1);
	free(fds);
	start_control(d, control);

	uv_signal_init(&d->loop, &d->sigterm);
	uv_signal_init(&d->loop, &d->sigint);
	uv_signal_init(&d->loop, &d->sighup);
	d->sigterm.data = d->sigint.data = d->sighup.data = d;
	uv_signal_start(&d->sigterm, signal_cb, SIGTERM);
	uv_signal_start(&d->sigint, signal_cb, SIGINT);
	uv_signal_start(&d->sighup, signal_cb, SIGHUP);
	uv_timer_init(&d->loop, &d->status_timer);
	d->status_timer.data = d;
	uv_timer_init(&d->loop, &d->watchdog);
	if ((wd = sysd_watchdog_usec()) > 0)
		uv_timer_start(&d->watchdog, watchdog_cb, 0,
		    wd / 2000 > 0 ? wd / 2000 : 1);

	status_text(d, status, sizeof(status));
	log_notice("epmdd %s: %s%s, at most %lu connections, control socket "
		   "%s",
	    EPMDD_VERSION, status, o->relaxed ? ", relaxed command check" : "",
	    ncfg.max_conns, d->ctl != NULL ? ctl_path(d->ctl) : "none");
	/* Every listener and the control socket accept connections now. */
	sysd_notify_ready(status);

	uv_run(&d->loop, UV_RUN_DEFAULT);

	ctl_free(d->ctl);
	ctl_free(d->ctl_failed);
	net_free(d->net);
	registry_free(d->reg);
	r = uv_loop_close(&d->loop);
	assert(r == 0);
	log_notice("stopped");
	return r == 0 ? 0 : 1;
}
