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
#include <limits.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

#include "adopt.h"
#include "config.h"
#include "ctl.h"
#include "ctlproto.h"
#include "dispatch.h"
#include "log.h"
#include "held.h"
#include "member.h"
#include "net.h"
#include "park.h"
#include "persist.h"
#include "registry.h"
#include "sysd.h"
#include "upgrade.h"
#include "util.h"

#ifndef EPMDD_VERSION
#define EPMDD_VERSION "unknown"
#endif

struct daemon {
	uv_loop_t loop;
	const struct options *opts;
	const char *prog;
	char *const *argv;	/* for an upgrade */
	char self[PATH_MAX];	/* our binary, as started */
	char upgrade_to[PATH_MAX];
	struct persist *persist;
	struct adopt *adopt;	/* registration sockets still to take */
	struct adopt_summary sum; /* what start-up found */
	uv_idle_t adopt_idle;	/* takes them, ADOPT_BATCH a turn */
	uv_idle_t let_go_idle;	/* at a stop: held_let_go, a batch a turn */
	size_t let_go_left;	/* records it may still let go */
	struct config config;	/* the policy in force, and its file */
	bool policy_saved;	/* persist has a configuration record */
	struct registry *reg;
	struct dispatch_ctx dctx;
	struct net *net;
	struct member *member;	/* group membership for ownership rules */
	struct ctl *ctl;
	struct ctl *ctl_failed; /* freed once the loop has closed it */
	char control[sizeof(((struct sockaddr_un *)0)->sun_path)];
	uv_signal_t sigterm;
	uv_signal_t sigint;
	uv_signal_t sighup;
	uv_signal_t sigusr2;
	uv_timer_t status_timer;
	uv_timer_t watchdog;
	bool status_dirty;
	bool stopping;
	bool stop_requested;	/* by KILL_REQ or epmdctl shutdown */
	bool upgrading;
	bool leaving;		/* stopped with the store keeping the nodes */
	bool owner_early;	/* journal or store: note owners at once */
	int64_t started;
	enum ctl_handover handover; /* how this process began (status) */
	uint64_t restored;	/* registrations taken over (status) */
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
registry_event_cb(void *arg, struct node *n, enum registry_event ev,
    enum registry_reason reason)
{
	struct daemon *d = arg;
	char name[LOG_NAME_SIZE], peer[NET_ADDR_TEXT], port[8], cr[16],
	    type[8], uid[16];
	struct log_field f[8];
	size_t nf = 0;

	/* The owner lookup costs a netlink query: only when it is shown. */
	if (ev == REGISTRY_REGISTERED &&
	    (d->owner_early || ctl_has_watchers(d->ctl)))
		net_resolve_owner(d->net, n);
	if (ev == REGISTRY_REGISTERED)
		persist_registered(d->persist, n);
	else {
		adopt_forget(d->adopt, n);
		persist_unregistered(d->persist, n, reason);
	}
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

/* A group membership is known: registrations waiting for it go on. */
static void
member_ready_cb(void *arg, uint32_t uid)
{
	struct daemon *d = arg;

	net_member_ready(d->net, uid);
}

/* ---------------------------------------------------------- stopping */

/* Close every handle; uv_run then returns. */
static void
close_all(struct daemon *d)
{
	ctl_stop(d->ctl);
	net_stop(d->net);
	member_stop(d->member);
	uv_close((uv_handle_t *)&d->adopt_idle, NULL);
	uv_close((uv_handle_t *)&d->let_go_idle, NULL);
	uv_close((uv_handle_t *)&d->sigterm, NULL);
	uv_close((uv_handle_t *)&d->sigint, NULL);
	uv_close((uv_handle_t *)&d->sighup, NULL);
	uv_close((uv_handle_t *)&d->sigusr2, NULL);
	uv_close((uv_handle_t *)&d->status_timer, NULL);
	uv_close((uv_handle_t *)&d->watchdog, NULL);
}

/*
 * A stop by signal under a service manager whose store keeps every
 * registration's socket (a restart, issue 17): closing 15000
 * connections one by one (an epoll removal, a close and the bookkeeping
 * of an unregistration each) cost about 40 ms during which no daemon
 * answers, for nothing: the store holds a copy of each socket, so the
 * peers see no difference, and the kernel drops ours at exit.  So only
 * the control socket is closed (its file removed if ours) and the loop
 * left with the registrations in place.  A stop a client asked for,
 * and any stop without the store, closes everything.
 */
static bool
leave_to_store(const struct daemon *d)
{
	struct registry_stats st;

	registry_get_stats(d->reg, &st);
	return !d->stop_requested && st.active > 0 &&
	    persist_keeps_sockets(d->persist);
}

static void
drained_cb(void *arg)
{
	struct daemon *d = arg;

	log_mark("drained");
	if (leave_to_store(d)) {
		d->leaving = true;
		ctl_stop(d->ctl);
		uv_stop(&d->loop);
		return;
	}
	close_all(d);
}

/*
 * Before a stop that leaves the registrations to the store: their
 * descriptors are closed HELD_LET_GO_BATCH a turn while the daemon still
 * serves, so that the exit, during which no daemon answers, does not
 * drop 15000 of them and their epoll entries at once (about 20 ms,
 * issue 17).  At most as many as were held when it began: registrations
 * made meanwhile are left to the exit.  Then the drain.
 */
static void
let_go_idle_cb(uv_idle_t *h)
{
	struct daemon *d = h->data;
	size_t batch = d->let_go_left < HELD_LET_GO_BATCH ? d->let_go_left
							  : HELD_LET_GO_BATCH;

	d->let_go_left -= batch;
	if (net_let_go(d->net, batch) && d->let_go_left > 0)
		return;
	uv_idle_stop(h);
	log_mark("let go");
	net_drain(d->net, DAEMON_DRAIN_TIMEOUT, drained_cb, d);
}

/*
 * Stop: accept nothing more, answer the requests already in (for at most
 * DAEMON_DRAIN_TIMEOUT ms), then close everything.  Registrations end
 * with reason "shutdown", which a service manager's store outlives.
 */
static void
daemon_stop(struct daemon *d, const char *why)
{
	struct registry_stats st;

	if (d->stopping)
		return;
	d->stopping = true;
	log_mark("stop");
	log_notice("stopping: %s", why);
	sysd_notify_stopping();
	/* During an upgrade's drain, its callback sees d->stopping. */
	if (d->upgrading)
		return;
	if (leave_to_store(d)) {
		park_freeze(persist_park(d->persist));
		registry_get_stats(d->reg, &st);
		d->let_go_left = st.active;
		uv_idle_start(&d->let_go_idle, let_go_idle_cb);
		return;
	}
	net_drain(d->net, DAEMON_DRAIN_TIMEOUT, drained_cb, d);
}

/* ---------------------------------------------------------- upgrade */

/*
 * The in-place table (adopt.h) for registration sockets fd[i] of
 * nodes[i], with the segment each is parked in, as a memfd, close-on-
 * exec (upgrade_exec passes it on).  Sockets below low are moved at or
 * above it first.  Returns the memfd or -1.
 */
static int
inplace_table(struct daemon *d, int *fd, struct node *const *nodes,
    size_t n, int low)
{
	struct park *park = persist_park(d->persist);
	struct adopt_inplace *t;
	size_t i, len = n * sizeof(*t);
	ssize_t w;
	int mfd, moved;

	t = calloc(n + 1, sizeof(*t));
	if (t == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		if (fd[i] < low) {
			moved = fcntl(fd[i], F_DUPFD, low);
			if (moved >= 0)
				fd[i] = moved; /* the old number is overwritten */
		}
		t[i].fd = fd[i];
		t[i].park = park_node_key(park, nodes[i]);
		t[i].id = nodes[i]->id;
	}
	mfd = memfd_create("epmdd-regs", MFD_CLOEXEC);
	w = mfd >= 0 && len > 0 ? write(mfd, t, len) : 0;
	free(t);
	if (mfd >= 0 && w != (ssize_t)len) {
		close(mfd);
		mfd = -1;
	}
	return mfd;
}

/* Everything the next process needs, named, into fds[]. */
static size_t
handover_fds(struct daemon *d, struct upgrade_fd **ret)
{
	struct registry_stats st;
	struct upgrade_fd *fds;
	int tmp[PERSIST_SLOTS + OPTIONS_MAX_LISTEN], *regfd = NULL;
	int segfd[PARK_MAX_SEGMENTS];
	uint32_t keys[PARK_MAX_SEGMENTS];
	struct node **nodes = NULL;
	size_t n = 0, i, k, nl, nr = 0, ns = 0, nseg;
	int table;

	registry_get_stats(d->reg, &st);
	fds = calloc(OPTIONS_MAX_LISTEN + 1 + PERSIST_SLOTS +
		PARK_MAX_SEGMENTS + 1, sizeof(*fds));
	regfd = calloc(st.active + 1, sizeof(*regfd));
	nodes = calloc(st.active + 1, sizeof(*nodes));
	if (fds == NULL || regfd == NULL || nodes == NULL) {
		free(fds);
		free(regfd);
		free(nodes);
		return 0;
	}
	nl = net_listener_fds(d->net, tmp, OPTIONS_MAX_LISTEN);
	for (i = 0; i < nl; i++, n++) {
		fds[n].fd = tmp[i];
		util_strlcpy(fds[n].name, ADOPT_LISTEN_NAME,
		    sizeof(fds[n].name));
	}
	if (d->ctl != NULL && ctl_listen_fd(d->ctl) >= 0) {
		fds[n].fd = ctl_listen_fd(d->ctl);
		util_strlcpy(fds[n].name,
		    ctl_owns_path(d->ctl) ? ADOPT_CONTROL_OWNED_NAME
					  : ADOPT_CONTROL_NAME,
		    sizeof(fds[n].name));
		n++;
	}
	if (persist_handover(d->persist, tmp, &ns) == 0)
		for (k = 0; k < ns; k++, n++) {
			fds[n].fd = tmp[k];
			snprintf(fds[n].name, sizeof(fds[n].name), "%s%zu",
			    PERSIST_STATE_PREFIX, k);
		}
	/* The segments, under the names they have in the store. */
	nseg = park_handover(persist_park(d->persist), segfd, keys,
	    PARK_MAX_SEGMENTS);
	for (k = 0; k < nseg; k++, n++) {
		fds[n].fd = segfd[k];
		park_name(keys[k], fds[n].name, sizeof(fds[n].name));
	}
	nr = net_registration_fds(d->net, regfd, nodes, st.active);
	/*
	 * Registration sockets stay where they are (not close-on-exec:
	 * net.c); a memfd lists them.  One sitting where a passed
	 * descriptor goes (3 .. 3+n, one more for the table) moves above.
	 */
	table = inplace_table(d, regfd, nodes, nr, 3 + n + 2);
	if (table >= 0) {
		fds[n].fd = table;
		util_strlcpy(fds[n].name, ADOPT_INPLACE_NAME,
		    sizeof(fds[n].name));
		n++;
	} else
		log_warnx("upgrade: cannot list the registrations: they are "
			  "lost");
	free(regfd);
	free(nodes);
	*ret = fds;
	return n;
}

static void
upgrade_drained_cb(void *arg)
{
	struct daemon *d = arg;
	struct upgrade_fd *fds = NULL;
	size_t n;
	int r;

	if (d->stopping) {
		/* Asked to stop while draining for the upgrade: stop. */
		close_all(d);
		return;
	}
	log_mark("drained");
	/* Sockets not taken yet are taken now: the table lists held ones. */
	adopt_step(d->adopt, SIZE_MAX, (int64_t)time(NULL));
	log_mark("adopt rest");
	n = handover_fds(d, &fds);
	log_mark("handover fds");
	log_marks("upgrade phases");
	log_notice("upgrading: re-executing %s with %zu descriptors",
	    d->upgrade_to, n);
	sysd_notify_reloading("Upgrading in place.");
	r = upgrade_exec(d->upgrade_to, d->argv, fds, n);
	/* Descriptors may already be shuffled: there is no way back. */
	log_errno(LOG_ERR, r, "upgrade: cannot execute %s", d->upgrade_to);
	_exit(1);
}

/*
 * Re-execute path (NULL: the binary we were started from) in place,
 * once it has proved it runs.  Returns 0 when the upgrade is under way.
 */
static int
daemon_upgrade(struct daemon *d, const char *path)
{
	int r;

	if (d->stopping || d->upgrading)
		return -EBUSY;
	if (path == NULL)
		path = d->self;
	if (util_strlcpy(d->upgrade_to, path, sizeof(d->upgrade_to)) >=
	    sizeof(d->upgrade_to))
		return -ENAMETOOLONG;
	log_mark("upgrade");
	if ((r = upgrade_check(d->upgrade_to)) < 0)
		return r;
	d->upgrading = true;
	log_mark("checked");
	/* Let requests in progress finish; new ones wait in the backlog. */
	net_drain(d->net, DAEMON_DRAIN_TIMEOUT, upgrade_drained_cb, d);
	return 0;
}

static int
ctl_upgrade_cb(void *arg, const char *path)
{
	return daemon_upgrade(arg, path);
}

/* ---------------------------------------------------------- policy */

/* Keep the configuration in force with the saved state. */
static void
save_policy(struct daemon *d)
{
	if (d->config.policy == NULL && !d->policy_saved)
		return;
	persist_set_policy(d->persist, d->config.text != NULL, d->config.text,
	    d->config.len);
	d->policy_saved = true;
}

/* The policy just loaded is the one requests meet from now on. */
static void
policy_in_force(struct daemon *d)
{
	d->dctx.policy = d->config.policy;
	save_policy(d);
}

/*
 * The configuration at start-up: the file, or, when it does not load
 * and a previous process left its state (a restart or an upgrade), the
 * configuration that process had (saved with it, or none at all), so
 * that nothing changes; else the daemon cannot start.
 */
static void
start_policy(struct daemon *d, const struct adopt_summary *sum)
{
	char why[CONFIG_ERROR_SIZE], what[CONFIG_DESCRIBE_SIZE];
	int64_t now = (int64_t)time(NULL);

	if (config_load(&d->config, now) < 0) {
		/*
		 * A saved state without a configuration of its own: the
		 * previous process had none (OTP's rules), and keeps that.
		 */
		if (!sum->state_loaded)
			fatalx("%s", d->config.error);
		util_strlcpy(why, d->config.error, sizeof(why));
		if (config_load_text(&d->config,
			sum->policy_saved && sum->policy_file
			    ? (const char *)sum->policy_text
			    : NULL,
			sum->policy_saved ? sum->policy_len : 0, now) < 0)
			fatalx("%s; and what the previous process had does "
			       "not load either: %s",
			    why, d->config.error);
		/* Shown by epmdctl policy until a load of the file works. */
		util_strlcpy(d->config.error, why, sizeof(d->config.error));
		log_warnx("%s; keeping the configuration the previous process "
			  "had",
		    why);
	}
	policy_in_force(d);
	if (d->config.policy != NULL) {
		config_describe(&d->config, what, sizeof(what));
		log_notice("policy: %s", what);
	}
}

/*
 * Read the file again (SIGHUP, epmdctl reload).  A file that does not
 * load changes nothing: the reason is logged and, for epmdctl, copied
 * to err.  Registrations the new rules would refuse stay.
 */
static int
daemon_reload(struct daemon *d, const char *by, char *err, size_t errlen)
{
	char what[CONFIG_DESCRIBE_SIZE], status[1024];
	int r;

	if (d->stopping || d->upgrading) {
		log_notice("%s: not reloading, the daemon is %s", by,
		    d->stopping ? "stopping" : "upgrading");
		util_strlcpy(err, "the daemon is stopping or upgrading", errlen);
		return -EBUSY;
	}
	sysd_notify_reloading("Reloading the configuration.");
	/* Group membership too: a user added to a group counts from now. */
	member_refresh(d->member);
	r = config_load(&d->config, (int64_t)time(NULL));
	if (r == 0) {
		policy_in_force(d);
		config_describe(&d->config, what, sizeof(what));
		log_notice("%s: reloaded the configuration: %s", by, what);
	} else {
		log_warnx("%s: %s; the policy in force is unchanged", by,
		    d->config.error);
		util_strlcpy(err, d->config.error, errlen);
	}
	status_text(d, status, sizeof(status));
	sysd_notify_ready(status);
	return r;
}

static int
ctl_reload_cb(void *arg, char *err, size_t errlen)
{
	return daemon_reload(arg, "epmdctl reload", err, errlen);
}

/* A stop asked for by a client, not by a signal: see daemon_run's end. */
static void
kill_cb(void *arg)
{
	struct daemon *d = arg;

	d->stop_requested = true;
	daemon_stop(d, "got KILL_REQ");
}

static void
ctl_shutdown_cb(void *arg)
{
	struct daemon *d = arg;

	d->stop_requested = true;
	daemon_stop(d, "epmdctl shutdown");
}

static void
signal_cb(uv_signal_t *s, int signum)
{
	struct daemon *d = s->data;

	if (signum == SIGHUP) {
		char err[CONFIG_ERROR_SIZE];

		/* Logged there, whatever the outcome. */
		daemon_reload(d, "SIGHUP", err, sizeof(err));
		return;
	}
	if (signum == SIGUSR2) {
		log_notice("SIGUSR2 received, upgrading in place");
		daemon_upgrade(d, NULL);
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

/* Every passed registration socket is taken or dropped: say so. */
static void
adopt_done(struct daemon *d)
{
	struct adopt_summary *sum = &d->sum;

	adopt_free(d->adopt);
	d->adopt = NULL;
	log_mark("adopted");
	/* Owed since start-up, and without the nodes found gone. */
	persist_compact_due(d->persist);
	log_mark("snapshot");
	log_marks("start-up phases");
	d->restored = sum->restored;
	if (sum->state_found || sum->stale > 0)
		log_notice("restored %zu registration%s; %zu ended while no "
			   "daemon ran; %zu stale descriptor%s dropped%s",
		    sum->restored, sum->restored == 1 ? "" : "s", sum->gone,
		    sum->stale, sum->stale == 1 ? "" : "s",
		    sum->state_found && !sum->state_loaded
			? "; the saved state was rejected, starting clean"
			: "");
}

/*
 * Registration sockets are taken a batch per turn of the loop, between
 * the requests it serves, so that the listeners answer from the loaded
 * state at once whatever the number of registrations (issue 17).
 */
static void
adopt_idle_cb(uv_idle_t *h)
{
	struct daemon *d = h->data;

	if (!adopt_step(d->adopt, ADOPT_BATCH, (int64_t)time(NULL)))
		return;
	uv_idle_stop(h);
	adopt_done(d);
}

/*
 * -daemon: the child leaves the session, forks again, and runs with / as
 * its directory and /dev/null on its standard descriptors.  Descriptors
 * from keep_from up (handed over by systemd) survive; others above 2 are
 * closed.  The parent exits 0 as OTP's does, but only once the daemon
 * is ready or has ended (Decision 20, doc/DECISIONS): it waits, at most
 * DAEMON_DETACH_WAIT seconds, for the end of a pipe whose other end the
 * daemon closes at READY (daemon_detached) or by exiting.  Returns that
 * end in the daemon, close-on-exec; -1 if there is none.
 */
static int
daemonize(int keep_from)
{
	struct pollfd pfd;
	int fd, p[2];
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		p[0] = p[1] = -1;
	pid = fork();
	if (pid < 0)
		fatal("fork");
	if (pid > 0) {
		if (p[0] >= 0) {
			close(p[1]);
			pfd = (struct pollfd){ .fd = p[0], .events = POLLIN };
			/* Readable at its end of file: ready, or gone. */
			(void)poll(&pfd, 1, DAEMON_DETACH_WAIT * 1000);
		}
		_exit(0);
	}
	if (p[0] >= 0)
		close(p[0]);
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
	if (p[1] >= keep_from) {
		/* Every descriptor from keep_from up but the pipe's end. */
		if (p[1] > keep_from)
			close_range((unsigned)keep_from, (unsigned)p[1] - 1, 0);
		close_range((unsigned)p[1] + 1, ~0u, 0);
	} else
		closefrom(keep_from);
	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		fatal("/dev/null");
	dup2(fd, 0);
	dup2(fd, 1);
	dup2(fd, 2);
	if (fd > 2)
		close(fd);
	return p[1];
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
 * Open the control socket: adopted, the path given, or the default one.
 * An explicit path must work; the default is best effort, except that
 * a live daemon already answering there is always an error.
 */
static void
start_control(struct daemon *d, int fd, bool owned)
{
	const struct options *o = d->opts;
	struct sockaddr_un sun;
	socklen_t len = sizeof(sun);
	struct ctl_config cc;
	struct group *gr;
	int r;

	memset(&cc, 0, sizeof(cc));
	cc.fd = fd;
	cc.owns_path = owned;
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
	cc.info.handover = d->handover;
	cc.info.restored = d->restored;
	cc.config = &d->config;
	cc.shutdown = ctl_shutdown_cb;
	cc.upgrade = ctl_upgrade_cb;
	cc.reload = ctl_reload_cb;
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
	member_stop(d->member);
	uv_close((uv_handle_t *)&d->status_timer, NULL);
	uv_close((uv_handle_t *)&d->watchdog, NULL);
	uv_run(&d->loop, UV_RUN_DEFAULT);
	net_free(d->net);
	member_free(d->member);
	registry_free(d->reg);
	uv_loop_close(&d->loop);
	return 0;
}

/*
 * The signals the daemon handles are blocked from the start until their
 * handlers are in place (and an upgrade blocks them across execv, see
 * upgrade.c): one that comes while the listeners already accept stays
 * pending and is then handled, instead of killing the daemon.
 */
static void
mask_signals(int how)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR2);
	sigprocmask(how, &set, NULL);
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
daemon_run(const struct options *o, const char *prog, char *const argv[])
{
	static struct daemon dd;
	struct daemon *d = &dd;
	struct net_config ncfg;
	struct sysd_fd *fds = NULL;
	struct adopt_summary *sum = &d->sum;
	uint8_t key[REGISTRY_KEY_SIZE];
	char status[1024];
	bool reexec = getenv(UPGRADE_REEXEC_ENV) != NULL, owned = false;
	uint64_t wd;
	ssize_t len;
	int nfds, control = -1, detach_fd = -1, r;

	log_mark("main");
#ifdef M_MMAP_THRESHOLD
	/*
	 * Buffers of a megabyte or more live for a moment (a state blob
	 * read, a snapshot, the start-up tables): keep them mapped, and
	 * given back when freed.  glibc's sliding threshold would move
	 * them onto the heap after the first one, where they stayed
	 * resident: 1.6 MB more after a restart with 15000 registrations.
	 */
	mallopt(M_MMAP_THRESHOLD, DAEMON_MMAP_THRESHOLD);
#endif
	mask_signals(SIG_BLOCK);
	d->opts = o;
	d->prog = prog;
	d->argv = argv;
	config_init(&d->config, o->config, o->allow);
	unsetenv(UPGRADE_REEXEC_ENV);
	len = readlink("/proc/self/exe", d->self, sizeof(d->self) - 1);
	if (len > 0)
		d->self[len] = '\0';
	nfds = sysd_listen_fds(adopt_defer_name, &fds);
	log_mark("listen fds");
	if (nfds < 0) {
		errno = -nfds;
		fatal("sd_listen_fds");
	}
	if (o->systemd && nfds == 0)
		fatalx("systemd provides no sockets");
	/* Detach before syslog is opened: daemonize closes descriptors.
	 * A re-executed daemon is detached already. */
	if (o->daemon && !reexec)
		detach_fd = daemonize(3 + nfds);
	start_logging(o, prog);
	d->owner_early = sysd_notify_available() || sysd_stderr_is_journal();
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
	/* Registry events (restored nodes ending) may come before READY. */
	uv_timer_init(&d->loop, &d->status_timer);
	d->status_timer.data = d;
	uv_timer_init(&d->loop, &d->watchdog);
	hash_key(key);
	d->reg = registry_new(o->debug > 0 ? REGISTRY_OLD_KEEP_DEBUG
					   : REGISTRY_OLD_KEEP,
	    key);
	if (d->reg == NULL)
		fatalx("out of memory");
	registry_set_observer(d->reg, registry_event_cb, d);
	d->dctx.reg = d->reg;
	d->dctx.relaxed = o->relaxed;
	if ((d->member = member_new(&d->loop, member_ready_cb, d)) == NULL)
		fatalx("out of memory");
	d->dctx.member = member_query;
	d->dctx.member_arg = d->member;
	if (net_new(&d->loop, &d->dctx, &ncfg, &d->net) < 0)
		fatalx("out of memory");

	if (nfds > 0) {
		adopt_listeners(d->net, fds, (size_t)nfds, &control, &owned,
		    sum);
		log_notice("adopted %zu listening socket%s%s", sum->listeners,
		    sum->listeners == 1 ? "" : "s",
		    control >= 0 ? " and the control socket" : "");
	} else if ((r = net_listen(d->net, o)) == -EADDRINUSE)
		return port_in_use(d);
	else if (r < 0)
		exit(1);
	log_mark("listeners");
	adopt_state(d->reg, d->net, fds, (size_t)(nfds > 0 ? nfds : 0),
	    sysd_notify_available(), (int64_t)time(NULL), sum, &d->persist,
	    &d->adopt);
	if (sum->state_loaded)
		d->handover = reexec ? CTL_HANDOVER_UPGRADE
				     : CTL_HANDOVER_RESTART;
	free(fds);
	start_policy(d, sum);
	adopt_summary_fini(sum);
	log_mark("policy");
	/* The sockets are taken once the listeners serve: adopt_idle_cb. */
	uv_idle_init(&d->loop, &d->adopt_idle);
	d->adopt_idle.data = d;
	uv_idle_init(&d->loop, &d->let_go_idle);
	d->let_go_idle.data = d;
	if (adopt_remaining(d->adopt) > 0)
		uv_idle_start(&d->adopt_idle, adopt_idle_cb);
	else
		adopt_done(d);
	start_control(d, control, owned);

	uv_signal_init(&d->loop, &d->sigterm);
	uv_signal_init(&d->loop, &d->sigint);
	uv_signal_init(&d->loop, &d->sighup);
	uv_signal_init(&d->loop, &d->sigusr2);
	d->sigterm.data = d->sigint.data = d->sighup.data = d;
	d->sigusr2.data = d;
	uv_signal_start(&d->sigterm, signal_cb, SIGTERM);
	uv_signal_start(&d->sigint, signal_cb, SIGINT);
	uv_signal_start(&d->sighup, signal_cb, SIGHUP);
	uv_signal_start(&d->sigusr2, signal_cb, SIGUSR2);
	mask_signals(SIG_UNBLOCK);
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
	if (detach_fd >= 0)
		close(detach_fd);	/* -daemon's parent exits now */
	log_mark("ready");

	uv_run(&d->loop, UV_RUN_DEFAULT);
	log_mark("loop closed");
	if (d->leaving) {
		struct registry_stats st;

		/* Nothing freed: exit closes the rest (drained_cb). */
		registry_get_stats(d->reg, &st);
		log_marks("stop phases");
		log_notice("leaving %zu registration%s to the service "
			   "manager's descriptor store",
		    st.active, st.active == 1 ? "" : "s");
		log_notice("stopped");
		return 0;
	}

	adopt_free(d->adopt);
	d->adopt = NULL;
	ctl_free(d->ctl);
	ctl_free(d->ctl_failed);
	net_free(d->net);
	member_free(d->member);
	persist_free(d->persist);
	registry_free(d->reg);
	config_fini(&d->config);
	r = uv_loop_close(&d->loop);
	assert(r == 0);
	log_mark("freed");
	log_marks("stop phases");
	log_notice("stopped");
	if (r != 0)
		return 1;
	/* Under a service manager, a stop that a client asked for is told
	 * apart from SIGTERM, which Restart=always answers with a restart
	 * that keeps the registrations (man/epmdd.8, SYSTEMD). */
	return d->stop_requested && sysd_notify_available()
	    ? DAEMON_EXIT_REQUESTED
	    : 0;
}
