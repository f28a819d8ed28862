/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright (c) 2026 The epmdd authors */
/*
 * upgrade: the handover.  Descriptors are first duplicated above the
 * target range (so none is overwritten before it is copied), then put
 * at 3, 4, ... without close-on-exec; everything else libuv and the
 * daemon hold is close-on-exec and goes away with the old image.
 */
#include "upgrade.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

/*
 * The check blocks the loop, so it is kept short (issue 17): a
 * posix_spawn (vfork, no copy of the page tables and of 15000
 * descriptors as fork made) that closes every inherited descriptor but
 * the standard ones, and a wait polled every millisecond instead of
 * every 20.
 */
int
upgrade_check(const char *path)
{
	struct timespec ts = { 0, 1000000 };
	posix_spawn_file_actions_t fa;
	char *argv[3];
	int status, waited = 0, r;
	pid_t pid;

	if (access(path, X_OK) < 0)
		return log_errno(LOG_WARNING, -errno, "upgrade: %s", path);
	if (posix_spawn_file_actions_init(&fa) != 0)
		return log_errno(LOG_WARNING, -ENOMEM, "upgrade: spawn");
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDWR, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_RDWR, 0);
	/* Registration sockets are not close-on-exec (net.c). */
	posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	argv[0] = (char *)(uintptr_t)path;
	argv[1] = (char *)(uintptr_t)"--version";
	argv[2] = NULL;
	r = posix_spawn(&pid, path, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (r != 0)
		return log_errno(LOG_WARNING, -r, "upgrade: cannot run %s",
		    path);
	while (waitpid(pid, &status, WNOHANG) == 0) {
		if (waited++ > UPGRADE_CHECK_TIMEOUT * 1000) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			log_warnx("upgrade: %s --version did not answer within "
				  "%d s",
			    path, UPGRADE_CHECK_TIMEOUT);
			return -ETIMEDOUT;
		}
		nanosleep(&ts, NULL);
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		log_warnx("upgrade: %s --version failed (status %d)", path,
		    WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		return -ENOEXEC;
	}
	return 0;
}

/* LISTEN_FDNAMES, or NULL (with *ret_memfd) when it is too long. */
static char *
names_list(const struct upgrade_fd *fds, size_t n, int *ret_memfd)
{
	size_t len = 0, i, off = 0;
	char *s;

	*ret_memfd = -1;
	for (i = 0; i < n; i++)
		len += strlen(fds[i].name) + 1;
	s = malloc(len + 1);
	if (s == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		off += (size_t)sprintf(s + off, "%s%s", i ? ":" : "",
		    fds[i].name);
	s[off] = '\0';
	if (off <= UPGRADE_MAX_ENV_NAMES)
		return s;
	/* Too long for one environment string: a memfd of its own. */
	*ret_memfd = memfd_create("epmdd-fdnames", 0);
	if (*ret_memfd >= 0 && write(*ret_memfd, s, off) != (ssize_t)off) {
		close(*ret_memfd);
		*ret_memfd = -1;
	}
	free(s);
	return NULL;
}

int
upgrade_exec(const char *path, char *const argv[],
    const struct upgrade_fd *fds, size_t n)
{
	int *src, *where = NULL, names_fd, maxfd = 0, e;
	sigset_t block, old;
	struct rlimit rl;
	char *names, num[32];
	size_t i;

	names = names_list(fds, n, &names_fd);
	if (names == NULL && names_fd < 0)
		return -ENOMEM;
	/* Keep the names memfd clear of the slots being filled. */
	if (names_fd >= 0 && names_fd < (int)(3 + n + 1)) {
		int high = fcntl(names_fd, F_DUPFD_CLOEXEC, (int)(3 + n + 1));

		if (high < 0)
			return -errno;
		close(names_fd);
		names_fd = high;
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur > (rlim_t)maxfd)
		maxfd = (int)(rl.rlim_cur > INT_MAX ? INT_MAX : rl.rlim_cur);
	src = calloc(n + 1, sizeof(*src));
	for (i = 0; src != NULL && i < n; i++) {
		src[i] = fds[i].fd;
		if (src[i] > maxfd)
			maxfd = src[i];
	}
	if (names_fd > maxfd)
		maxfd = names_fd;
	if ((size_t)maxfd < 3 + n + 1)
		maxfd = (int)(3 + n + 1);
	/* where[fd]: which source sits in fd, or -1. */
	if (src != NULL)
		where = malloc(((size_t)maxfd + 1) * sizeof(*where));
	if (where == NULL) {
		free(src);
		free(names);
		return -ENOMEM;
	}
	for (i = 0; i <= (size_t)maxfd; i++)
		where[i] = -1;
	for (i = 0; i < n; i++)
		where[src[i]] = (int)i;
	/*
	 * Put source i at 3 + i.  A later source already sitting there is
	 * moved out of the way first (one spare descriptor at a time, so
	 * this works with as many registrations as descriptors allow).
	 */
	for (i = 0; i < n; i++) {
		int target = (int)(3 + i), j = where[target], moved;

		if (src[i] == target) {
			if (fcntl(target, F_SETFD, 0) < 0)
				goto fail;
			continue;
		}
		if (j > (int)i) {
			moved = fcntl(target, F_DUPFD_CLOEXEC, (int)(3 + n + 1));
			if (moved < 0 || moved > maxfd)
				goto fail; /* not above the limit: cannot be */
			src[j] = moved;
			where[moved] = j;
		}
		if (dup2(src[i], target) < 0)
			goto fail;
		where[target] = (int)i;
	}
	snprintf(num, sizeof(num), "%zu", n);
	setenv("LISTEN_FDS", num, 1);
	snprintf(num, sizeof(num), "%ld", (long)getpid());
	setenv("LISTEN_PID", num, 1);
	if (names != NULL) {
		setenv("LISTEN_FDNAMES", names, 1);
		unsetenv(UPGRADE_NAMES_ENV);
	} else {
		/* Just past the passed ones (a slot free by now or not). */
		if (dup2(names_fd, (int)(3 + n)) < 0)
			goto fail;
		unsetenv("LISTEN_FDNAMES");
		snprintf(num, sizeof(num), "%zu", 3 + n);
		setenv(UPGRADE_NAMES_ENV, num, 1);
	}
	setenv(UPGRADE_REEXEC_ENV, "1", 1);
	/*
	 * Signals that arrive before the new image has its handlers stay
	 * pending instead of killing it: the mask survives execv, and the
	 * daemon unblocks them once it handles them.
	 */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGUSR2);
	sigprocmask(SIG_BLOCK, &block, &old);
	execv(path, argv);
	sigprocmask(SIG_SETMASK, &old, NULL);
fail:
	e = errno;
	free(where);
	free(src);
	free(names);
	return -e;
}
