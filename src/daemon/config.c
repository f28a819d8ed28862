/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright (c) 2026 The epmdd authors */
/*
 * config: the file is read whole (at most POLICY_MAX_FILE bytes) from a
 * regular file that only root or the daemon's user owns and only its
 * owner may write, since its rules decide who may take which name.
 * Names of users and groups are resolved when the file is loaded;
 * group membership is member's (cached, looked up off the loop).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

/* NSS answers larger than this are treated as failures. */
#define CONFIG_MAX_NSS_BUF (1u << 20)

/*
 * Run an NSS *_r lookup (fn, with arg holding its other arguments and
 * result), growing the buffer on ERANGE up to CONFIG_MAX_NSS_BUF.  The
 * result points into the buffer, which goes to *ret_buf (free it after
 * reading the result).  Returns 0 or a negative errno.
 */
static int
nss_call(int (*fn)(void *arg, char *buf, size_t size), void *arg,
    char **ret_buf)
{
	size_t size = 4096;
	char *buf = NULL, *nb;
	int r;

	for (;;) {
		if ((nb = realloc(buf, size)) == NULL) {
			free(buf);
			return -ENOMEM;
		}
		buf = nb;
		r = fn(arg, buf, size);
		if (r != ERANGE || size >= CONFIG_MAX_NSS_BUF)
			break;
		size *= 2;
	}
	*ret_buf = buf;
	return -r;
}

struct pw_query {
	const char *name;
	struct passwd pw, *res;
};

static int
pw_by_name(void *arg, char *buf, size_t size)
{
	struct pw_query *q = arg;

	return getpwnam_r(q->name, &q->pw, buf, size, &q->res);
}

struct gr_query {
	const char *name;
	struct group gr, *res;
};

static int
gr_by_name(void *arg, char *buf, size_t size)
{
	struct gr_query *q = arg;

	return getgrnam_r(q->name, &q->gr, buf, size, &q->res);
}

static int
resolve_user(const char *name, uint32_t *ret)
{
	struct pw_query q = { .name = name, .res = NULL };
	char *buf = NULL;
	int r;

	r = nss_call(pw_by_name, &q, &buf);
	if (r == 0 && q.res == NULL)
		r = -ENOENT;
	if (r == 0)
		*ret = (uint32_t)q.pw.pw_uid;
	free(buf);
	return r;
}

static int
resolve_group(const char *name, uint32_t *ret)
{
	struct gr_query q = { .name = name, .res = NULL };
	char *buf = NULL;
	int r;

	r = nss_call(gr_by_name, &q, &buf);
	if (r == 0 && q.res == NULL)
		r = -ENOENT;
	if (r == 0)
		*ret = (uint32_t)q.gr.gr_gid;
	free(buf);
	return r;
}

/*
 * The names one load resolves, each asked of NSS once however many
 * rules give it: a file may name the same users thousands of times, and
 * every lookup (LDAP, say) holds up the event loop.  Open addressing,
 * at most half full.
 */
struct nss_cache_entry {
	char *name; /* NULL: free */
	bool group;
	uint32_t id;
};

struct nss_cache {
	struct nss_cache_entry *slots;
	size_t cap; /* a power of two, or 0 */
	size_t used;
};

static size_t
cache_hash(const char *name, bool group)
{
	uint64_t h = group ? 0x9e3779b97f4a7c15ull : 0xcbf29ce484222325ull;

	for (; *name != '\0'; name++)
		h = (h ^ (uint8_t)*name) * 0x100000001b3ull;
	return (size_t)(h ^ h >> 29);
}

static struct nss_cache_entry *
cache_slot(struct nss_cache *c, const char *name, bool group)
{
	size_t i;

	for (i = cache_hash(name, group) & (c->cap - 1);
	     c->slots[i].name != NULL; i = (i + 1) & (c->cap - 1))
		if (c->slots[i].group == group &&
		    strcmp(c->slots[i].name, name) == 0)
			break;
	return &c->slots[i];
}

static int
cache_grow(struct nss_cache *c)
{
	struct nss_cache bigger = { NULL, c->cap ? c->cap * 2 : 64, 0 };
	size_t i;

	bigger.slots = calloc(bigger.cap, sizeof(*bigger.slots));
	if (bigger.slots == NULL)
		return -ENOMEM;
	for (i = 0; i < c->cap; i++)
		if (c->slots[i].name != NULL) {
			*cache_slot(&bigger, c->slots[i].name,
			    c->slots[i].group) = c->slots[i];
			bigger.used++;
		}
	free(c->slots);
	*c = bigger;
	return 0;
}

static void
cache_free(struct nss_cache *c)
{
	size_t i;

	for (i = 0; i < c->cap; i++)
		free(c->slots[i].name);
	free(c->slots);
}

static int
cached(struct nss_cache *c, bool group, const char *name, uint32_t *ret)
{
	struct nss_cache_entry *e;
	uint32_t id = 0;
	int r;

	if ((c->used + 1) * 2 > c->cap && (r = cache_grow(c)) < 0)
		return r;
	e = cache_slot(c, name, group);
	if (e->name != NULL) {
		*ret = e->id;
		return 0;
	}
	r = group ? resolve_group(name, &id) : resolve_user(name, &id);
	if (r < 0)
		return r;
	if ((e->name = strdup(name)) == NULL)
		return -ENOMEM;
	e->group = group;
	e->id = id;
	c->used++;
	*ret = id;
	return 0;
}

static int
cached_user(void *arg, const char *name, uint32_t *ret)
{
	return cached(arg, false, name, ret);
}

static int
cached_group(void *arg, const char *name, uint32_t *ret)
{
	return cached(arg, true, name, ret);
}

void
config_init(struct config *c, const char *path,
    const char *const allow[POLICY_KIND_COUNT])
{
	int k;

	memset(c, 0, sizeof(*c));
	if (path == NULL)
		util_strlcpy(c->path, POLICY_DEFAULT_FILE, sizeof(c->path));
	else if (strcmp(path, CONFIG_NONE) != 0) {
		/*
		 * Absolute, so that a reload finds the same file after
		 * -daemon has changed the directory to /.
		 */
		char cwd[PATH_MAX];
		size_t n;

		c->path[0] = '\0';
		if (path[0] != '/' && getcwd(cwd, sizeof(cwd)) != NULL &&
		    (n = strlen(cwd)) + 1 + strlen(path) < sizeof(c->path)) {
			memcpy(c->path, cwd, n);
			c->path[n] = '/';
			util_strlcpy(c->path + n + 1, path,
			    sizeof(c->path) - n - 1);
		} else
			util_strlcpy(c->path, path, sizeof(c->path));
		c->required = true;
	}
	for (k = 0; k < POLICY_KIND_COUNT; k++)
		c->allow[k] = allow != NULL ? allow[k] : NULL;
}

void
config_fini(struct config *c)
{
	policy_free(c->policy);
	free(c->text);
	c->policy = NULL;
	c->text = NULL;
}

const struct policy *
config_policy(const struct config *c)
{
	return c->policy != NULL ? c->policy : policy_defaults();
}

void
config_describe(const struct config *c, char *buf, size_t size)
{
	const struct policy *p = c->policy;
	unsigned rules = 0;
	bool options = false;
	int k;

	if (p == NULL && c->from_saved) {
		snprintf(buf, size, "no configuration, as the previous process "
				    "had none: OTP's rules");
		return;
	}
	if (p == NULL) {
		snprintf(buf, size, "no configuration%s%s%s: OTP's rules",
		    c->path[0] != '\0' ? " (" : "", c->path,
		    c->path[0] != '\0' ? " absent)" : "");
		return;
	}
	for (k = 0; k < POLICY_KIND_COUNT; k++) {
		rules += p->access[k].origin != POLICY_DEFAULT;
		options |= c->allow[k] != NULL;
	}
	snprintf(buf, size, "%s%s%s: %u access rule%s, %zu ownership rule%s",
	    c->text != NULL ? c->path : "-allow options",
	    c->text != NULL && c->from_saved ? " (as the previous process "
					       "had it)"
					     : "",
	    c->text != NULL && options ? " and -allow options" : "", rules,
	    rules == 1 ? "" : "s", p->nowners, p->nowners == 1 ? "" : "s");
}

static int
failed(struct config *c, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
failed(struct config *c, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->error, sizeof(c->error), fmt, ap);
	va_end(ap);
	c->failures++;
	return err;
}

/*
 * The file's text into *ret (malloc'd, *ret_len bytes); *ret NULL when
 * it is absent and may be.
 */
static int
read_file(struct config *c, char **ret, size_t *ret_len)
{
	struct stat st;
	size_t got = 0;
	char *text, *shrunk;
	int fd, r;

	*ret = NULL;
	*ret_len = 0;
	fd = open(c->path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		r = -errno;
		if (r == -ENOENT && !c->required)
			return 0;
		return failed(c, r, "%s: %s", c->path, strerror(-r));
	}
	if (fstat(fd, &st) < 0) {
		r = -errno;
		close(fd);
		return failed(c, r, "%s: %s", c->path, strerror(-r));
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return failed(c, -EINVAL, "%s: not a regular file", c->path);
	}
	if (st.st_uid != 0 && st.st_uid != geteuid()) {
		close(fd);
		return failed(c, -EPERM,
		    "%s: owned by uid %u, neither root nor the daemon's user: "
		    "refused",
		    c->path, (unsigned)st.st_uid);
	}
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		close(fd);
		return failed(c, -EPERM,
		    "%s: writable by %s (mode %04o): refused", c->path,
		    (st.st_mode & S_IWOTH) ? "every user" : "its group",
		    (unsigned)(st.st_mode & 07777));
	}
	if ((uint64_t)st.st_size > POLICY_MAX_FILE) {
		close(fd);
		return failed(c, -EFBIG, "%s: larger than %u bytes", c->path,
		    POLICY_MAX_FILE);
	}
	/* One byte more than allowed, to see a file that grew meanwhile. */
	text = malloc(POLICY_MAX_FILE + 1);
	if (text == NULL) {
		close(fd);
		return failed(c, -ENOMEM, "%s: out of memory", c->path);
	}
	for (;;) {
		ssize_t n = read(fd, text + got, POLICY_MAX_FILE + 1 - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			free(text);
			close(fd);
			return failed(c, r, "%s: %s", c->path, strerror(-r));
		}
		if (n == 0)
			break;
		got += (size_t)n;
		if (got > POLICY_MAX_FILE) {
			free(text);
			close(fd);
			return failed(c, -EFBIG, "%s: larger than %u bytes",
			    c->path, POLICY_MAX_FILE);
		}
	}
	close(fd);
	/* Keep what the file holds, not the most it could. */
	if ((shrunk = realloc(text, got + 1)) != NULL)
		text = shrunk;
	*ret = text;
	*ret_len = got;
	return 0;
}

/*
 * Build the policy of text (NULL: no file) and the -allow rules; NULL
 * in *ret when neither says anything.  Errors in c->error.
 */
static int
build(struct config *c, const char *text, size_t len, const char *what,
    struct policy **ret)
{
	struct nss_cache cache = { NULL, 0, 0 };
	struct policy_resolver names = { cached_user, cached_group, &cache };
	struct policy_error pe;
	struct policy *p = NULL;
	int k, r;

	if (text != NULL) {
		r = policy_parse(text, len, &names, &p, &pe);
		cache_free(&cache);
		if (r == -ENOMEM)
			return failed(c, r, "%s: out of memory", what);
		if (r < 0 && pe.line == 0)
			return failed(c, r, "%s: %s", what, pe.message);
		if (r < 0 && pe.column == 0)
			return failed(c, r, "%s:%u: %s", what, pe.line,
			    pe.message);
		if (r < 0)
			return failed(c, r, "%s:%u:%u: %s", what, pe.line,
			    pe.column, pe.message);
	} else if ((p = policy_new()) == NULL)
		return failed(c, -ENOMEM, "out of memory");
	for (k = 0; k < POLICY_KIND_COUNT; k++) {
		if (c->allow[k] == NULL)
			continue;
		r = policy_set_access(p, (enum policy_kind)k, c->allow[k], &pe);
		if (r < 0) {
			policy_free(p);
			if (r == -ENOMEM)
				return failed(c, r, "out of memory");
			return failed(c, r, "-allow %s=%s: column %u: %s",
			    policy_kind_name((enum policy_kind)k), c->allow[k],
			    pe.column, pe.message);
		}
	}
	if (text == NULL && !policy_is_configured(p)) {
		policy_free(p);
		p = NULL;
	}
	*ret = p;
	return 0;
}

static void
install(struct config *c, struct policy *p, char *text, size_t len,
    bool saved, int64_t now)
{
	policy_free(c->policy);
	free(c->text);
	c->policy = p;
	c->text = text;
	c->len = len;
	c->from_saved = saved;
	c->loaded_at = now;
	c->loads++;
	c->error[0] = '\0';
}

int
config_load(struct config *c, int64_t now)
{
	struct policy *p;
	char *text = NULL;
	size_t len = 0;
	int r;

	if (c->path[0] != '\0' && (r = read_file(c, &text, &len)) < 0)
		return r;
	if ((r = build(c, text, len, c->path, &p)) < 0) {
		free(text);
		return r;
	}
	install(c, p, text, len, false, now);
	return 0;
}

int
config_load_text(struct config *c, const char *text, size_t len,
    int64_t now)
{
	struct policy *p;
	char *copy = NULL;
	char what[PATH_MAX + 32];
	int r;

	snprintf(what, sizeof(what), "%s (as saved)",
	    c->path[0] != '\0' ? c->path : "the configuration");
	if (text != NULL) {
		if ((copy = malloc(len + 1)) == NULL)
			return failed(c, -ENOMEM, "out of memory");
		memcpy(copy, text, len);
		copy[len] = '\0';
	}
	if ((r = build(c, copy, len, what, &p)) < 0) {
		free(copy);
		return r;
	}
	install(c, p, copy, len, true, now);
	return 0;
}
