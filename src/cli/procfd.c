/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright (c) 2026 The epmdd authors */
/*
 * procfd: socket inodes to process ids, from the links in /proc/PID/fd.
 * Processes we may not look into are skipped: their sockets stay
 * without a pid.
 */
#include "procfd.h"

#include <ctype.h>
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int
procfd_cmp_inode(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

void
procfd_find_pids(const uint64_t *inodes, long *pids, size_t n)
{
	DIR *proc, *fds;
	struct dirent *p, *fd;
	char path[PATH_MAX], link[64];
	size_t i;

	for (i = 0; i < n; i++)
		pids[i] = -1;
	if (n == 0 || (proc = opendir("/proc")) == NULL)
		return;
	while ((p = readdir(proc)) != NULL) {
		if (!isdigit((unsigned char)p->d_name[0]))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/fd", p->d_name);
		if ((fds = opendir(path)) == NULL)
			continue;
		while ((fd = readdir(fds)) != NULL) {
			unsigned long long ino;
			uint64_t key;
			const uint64_t *hit;
			ssize_t len;

			if (fd->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "/proc/%s/fd/%s",
			    p->d_name, fd->d_name);
			len = readlink(path, link, sizeof(link) - 1);
			if (len <= 0)
				continue;
			link[len] = '\0';
			if (sscanf(link, "socket:[%llu]", &ino) != 1)
				continue;
			key = ino;
			hit = bsearch(&key, inodes, n, sizeof(*inodes),
			    procfd_cmp_inode);
			if (hit != NULL && pids[hit - inodes] < 0)
				pids[hit - inodes] = strtol(p->d_name, NULL, 10);
		}
		closedir(fds);
	}
	closedir(proc);
}
