/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright (c) 2026 The epmdd authors */
/*
 * policy: the configuration grammar (see epmdd.conf(5)) and the two
 * questions the daemon asks of it.  The text is read a line at a time
 * and a token at a time, every length checked against the limits in
 * policy.h; an error names the line and column where it is, and quotes
 * little of the text.  A pattern may not hold a character that looks
 * like a space or like nothing.
 *
 *   KIND RULE...          KIND: register lookup names dump admin
 *                         RULE: any | none | local | ADDR[/BITS] ...
 *   owner PATTERN ID...   PATTERN: a node name, or a prefix and '*'
 *                         ID: user=NAME|UID | group=NAME|GID
 *   # a comment, from a '#' that starts a word to the end of the line
 *
 * Lines for the same kind add to its list; "any" and "none" stand
 * alone.  Kinds not given keep OTP's rules.
 */
#include "policy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "codec.h"
#include "util.h"

static const char *const kind_names[POLICY_KIND_COUNT] = {
	[POLICY_REGISTER] = "register",
	[POLICY_LOOKUP] = "lookup",
	[POLICY_NAMES] = "names",
	[POLICY_DUMP] = "dump",
	[POLICY_ADMIN] = "admin",
};

/* OTP's rules: what the local-peer check of epmd_srv.c allows. */
static struct policy_entry local_only[1] = { { 0, 0, { 0 }, 0 } };

#define LOCAL_ONLY                                                   \
	{                                                            \
		.mode = POLICY_LIST, .origin = POLICY_DEFAULT, .n = 1,  \
		.entries = local_only, .local = true                  \
	}
#define ANYONE { .mode = POLICY_ANY, .origin = POLICY_DEFAULT }

static const struct policy defaults = {
	.access = {
		[POLICY_REGISTER] = LOCAL_ONLY,
		[POLICY_LOOKUP] = ANYONE,
		[POLICY_NAMES] = ANYONE,
		[POLICY_DUMP] = LOCAL_ONLY,
		[POLICY_ADMIN] = LOCAL_ONLY,
	},
	.nowners = 0,
	.owners = NULL,
};

const char *
policy_kind_name(enum policy_kind kind)
{
	return (unsigned)kind < POLICY_KIND_COUNT ? kind_names[kind]
						  : "unknown";
}

int
policy_kind_from_name(const char *name)
{
	int k;

	for (k = 0; k < POLICY_KIND_COUNT; k++)
		if (strcmp(name, kind_names[k]) == 0)
			return k;
	return -1;
}

const char *
policy_origin_name(enum policy_origin origin)
{
	switch (origin) {
	case POLICY_DEFAULT:
		return "default";
	case POLICY_FILE:
		return "file";
	case POLICY_OPTION:
		return "option";
	}
	return "unknown";
}

const struct policy *
policy_defaults(void)
{
	return &defaults;
}

/* ---------------------------------------------------------- lifecycle */

static void
access_clear(struct policy_access *a)
{
	free(a->entries);
	free(a->net4);
	free(a->net6);
	memset(a, 0, sizeof(*a));
}

/* Set a to OTP's rule for kind (a copy: a policy owns its entries). */
static int
access_default(struct policy_access *a, enum policy_kind kind)
{
	const struct policy_access *d = &defaults.access[kind];

	access_clear(a);
	a->mode = d->mode;
	a->origin = POLICY_DEFAULT;
	if (d->n == 0)
		return 0;
	a->entries = calloc(d->n, sizeof(*a->entries));
	if (a->entries == NULL)
		return -ENOMEM;
	memcpy(a->entries, d->entries, d->n * sizeof(*a->entries));
	a->n = d->n;
	a->local = d->local;
	return 0;
}

struct policy *
policy_new(void)
{
	struct policy *p = calloc(1, sizeof(*p));
	int k;

	if (p == NULL)
		return NULL;
	for (k = 0; k < POLICY_KIND_COUNT; k++)
		if (access_default(&p->access[k], (enum policy_kind)k) < 0) {
			policy_free(p);
			return NULL;
		}
	return p;
}

static void
owner_clear(struct policy_owner *o)
{
	size_t i;

	for (i = 0; i < o->nids; i++)
		free(o->ids[i].name);
	free(o->ids);
	free(o->pattern);
	memset(o, 0, sizeof(*o));
}

void
policy_free(struct policy *p)
{
	size_t i;
	int k;

	if (p == NULL)
		return;
	for (k = 0; k < POLICY_KIND_COUNT; k++)
		access_clear(&p->access[k]);
	for (i = 0; i < p->nowners; i++)
		owner_clear(&p->owners[i]);
	free(p->owners);
	free(p);
}

bool
policy_is_configured(const struct policy *p)
{
	int k;

	if (p == NULL)
		return false;
	for (k = 0; k < POLICY_KIND_COUNT; k++)
		if (p->access[k].origin != POLICY_DEFAULT)
			return true;
	return p->nowners > 0;
}

/* ---------------------------------------------------------- parsing */

/* A quoted token: POLICY_MAX_QUOTE bytes, each escaped, and "...". */
#define QUOTE_SIZE (4 * POLICY_MAX_QUOTE + 4)

struct parser {
	struct policy *p;
	const struct policy_resolver *names;
	struct policy_error *err;
	enum policy_origin origin;
	unsigned line;
	const char *text; /* the line (or option value) */
	size_t len;
	size_t pos;
	const char *seps; /* what separates tokens */
	bool given[POLICY_KIND_COUNT]; /* by this text already */
};

struct token {
	const char *p;
	size_t len;
	unsigned col;
};

static int
fail(struct parser *ps, unsigned col, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
fail(struct parser *ps, unsigned col, const char *fmt, ...)
{
	va_list ap;

	ps->err->line = ps->line;
	ps->err->column = col;
	va_start(ap, fmt);
	vsnprintf(ps->err->message, sizeof(ps->err->message), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/*
 * A token for a message: at most POLICY_MAX_QUOTE bytes of it, escaped,
 * and "..." when it was longer.  Never more, whatever the file holds.
 */
static const char *
shown(const struct token *t, char *buf, size_t size)
{
	size_t n = t->len < POLICY_MAX_QUOTE ? t->len : POLICY_MAX_QUOTE;

	util_escape(buf, size, (const uint8_t *)t->p, n);
	if (n < t->len && strlen(buf) + 4 <= size)
		strcat(buf, "...");
	return buf;
}

/*
 * The next token of the line, false at its end.  A '#' that starts a
 * token starts a comment (in the file only).
 */
static bool
next_token(struct parser *ps, struct token *t)
{
	size_t start;

	while (ps->pos < ps->len && strchr(ps->seps, ps->text[ps->pos]) != NULL)
		ps->pos++;
	if (ps->pos >= ps->len ||
	    (ps->origin == POLICY_FILE && ps->text[ps->pos] == '#')) {
		ps->pos = ps->len;
		return false;
	}
	start = ps->pos;
	while (ps->pos < ps->len && strchr(ps->seps, ps->text[ps->pos]) == NULL)
		ps->pos++;
	t->p = ps->text + start;
	t->len = ps->pos - start;
	t->col = (unsigned)start + 1;
	return true;
}

static bool
tok_is(const struct token *t, const char *word)
{
	return t->len == strlen(word) && memcmp(t->p, word, t->len) == 0;
}

/* Where the line ends, for "missing" errors. */
static unsigned
end_col(const struct parser *ps)
{
	return (unsigned)ps->len + 1;
}

static bool
entry_same(const struct policy_entry *a, const struct policy_entry *b)
{
	return a->family == b->family && a->bits == b->bits &&
	    memcmp(a->addr, b->addr, 16) == 0;
}

static bool
is_mapped(const uint8_t a[16])
{
	static const uint8_t prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0xff, 0xff };

	return memcmp(a, prefix, sizeof(prefix)) == 0;
}

static uint32_t
load32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static uint64_t
load64(const uint8_t *p)
{
	return (uint64_t)load32(p) << 32 | load32(p + 4);
}

/* "local", "ADDR" or "ADDR/BITS" into *e. */
static int
parse_entry(struct parser *ps, const struct token *t, struct policy_entry *e)
{
	char addr[INET6_ADDRSTRLEN + 1], tb[QUOTE_SIZE];
	const char *slash = memchr(t->p, '/', t->len);
	size_t alen = slash != NULL ? (size_t)(slash - t->p) : t->len;
	unsigned long long bits;
	unsigned max, i;

	memset(e, 0, sizeof(*e));
	e->line = ps->line;
	if (tok_is(t, "local"))
		return 0;
	if (alen >= sizeof(addr))
		return fail(ps, t->col, "not an address: \"%s\"",
		    shown(t, tb, sizeof(tb)));
	memcpy(addr, t->p, alen);
	addr[alen] = '\0';
	if (inet_pton(AF_INET, addr, e->addr) == 1) {
		e->family = 4;
		max = 32;
	} else if (inet_pton(AF_INET6, addr, e->addr) == 1) {
		e->family = 6;
		max = 128;
		if (is_mapped(e->addr))
			return fail(ps, t->col,
			    "\"%s\" is an IPv4-mapped address: write it as "
			    "IPv4 (peers that come that way are matched as "
			    "IPv4)",
			    shown(t, tb, sizeof(tb)));
	} else
		return fail(ps, t->col,
		    "not an address: \"%s\" (a rule is any, none, local, or "
		    "IPv4 and IPv6 addresses with an optional /prefix)",
		    shown(t, tb, sizeof(tb)));
	e->bits = (uint8_t)max;
	if (slash != NULL) {
		char num[8];
		size_t nlen = t->len - alen - 1;

		if (nlen == 0 || nlen >= sizeof(num))
			return fail(ps, t->col + (unsigned)alen + 1,
			    "not a prefix length: \"%s\"",
			    shown(t, tb, sizeof(tb)));
		memcpy(num, slash + 1, nlen);
		num[nlen] = '\0';
		if (util_parse_uint(num, 0, max, &bits) < 0)
			return fail(ps, t->col + (unsigned)alen + 1,
			    "the prefix length of \"%s\" is not in 0..%u",
			    shown(t, tb, sizeof(tb)), max);
		e->bits = (uint8_t)bits;
	}
	/* Bits past the prefix: a typo more often than not, so an error. */
	for (i = e->bits; i < max; i++)
		if (e->addr[i / 8] & (0x80 >> (i % 8))) {
			struct policy_entry net = *e;
			char text[POLICY_ENTRY_TEXT];

			for (; i < max; i++)
				net.addr[i / 8] &= (uint8_t) ~(0x80 >> (i % 8));
			policy_entry_text(&net, text, sizeof(text));
			return fail(ps, t->col,
			    "\"%s\" has bits set past its prefix length "
			    "(the network is %s)",
			    shown(t, tb, sizeof(tb)), text);
		}
	return 0;
}

static int
add_entry(struct parser *ps, struct policy_access *a, const struct token *t,
    const struct policy_entry *e)
{
	struct policy_entry *ne;
	char tb[QUOTE_SIZE];
	size_t i;

	for (i = 0; i < a->n; i++)
		if (entry_same(&a->entries[i], e)) {
			if (a->entries[i].line != 0)
				return fail(ps, t->col,
				    "\"%s\" is listed twice (first on line %u)",
				    shown(t, tb, sizeof(tb)),
				    a->entries[i].line);
			return fail(ps, t->col, "\"%s\" is listed twice",
			    shown(t, tb, sizeof(tb)));
		}
	if (a->n >= POLICY_MAX_ENTRIES)
		return fail(ps, t->col, "more than %d entries for one kind",
		    POLICY_MAX_ENTRIES);
	ne = realloc(a->entries, (a->n + 1) * sizeof(*ne));
	if (ne == NULL)
		return -ENOMEM;
	a->entries = ne;
	if (e->family == 4) {
		struct policy_net4 *n4 = realloc(a->net4,
		    (a->n4 + 1) * sizeof(*n4));

		if (n4 == NULL)
			return -ENOMEM;
		a->net4 = n4;
		n4[a->n4].net = load32(e->addr);
		n4[a->n4].mask = e->bits == 0 ? 0 : ~0u << (32 - e->bits);
		a->n4++;
	} else if (e->family == 6) {
		struct policy_net6 *n6 = realloc(a->net6,
		    (a->n6 + 1) * sizeof(*n6));

		if (n6 == NULL)
			return -ENOMEM;
		a->net6 = n6;
		n6[a->n6].net[0] = load64(e->addr);
		n6[a->n6].net[1] = load64(e->addr + 8);
		n6[a->n6].mask[0] = e->bits == 0 ? 0
		    : e->bits >= 64		 ? ~0ull
						 : ~0ull << (64 - e->bits);
		n6[a->n6].mask[1] = e->bits <= 64 ? 0
		    : ~0ull << (128 - e->bits);
		a->n6++;
	} else
		a->local = true;
	a->entries[a->n++] = *e;
	return 0;
}

/* The rest of a KIND line (or an -allow value): its rules. */
static int
parse_access(struct parser *ps, enum policy_kind kind, const struct token *kt)
{
	struct policy_access *a = &ps->p->access[kind];
	const char *kn = kind_names[kind];
	struct policy_entry e;
	struct token t;
	unsigned count = 0;
	int r;

	if (!ps->given[kind]) {
		/* The first rule for the kind replaces OTP's. */
		access_clear(a);
		a->mode = POLICY_LIST;
		a->origin = ps->origin;
		a->line = ps->line;
		ps->given[kind] = true;
	} else if (a->mode != POLICY_LIST)
		return fail(ps, kt->col,
		    "%s is \"%s\" since line %u: nothing can be added to it",
		    kn, a->mode == POLICY_ANY ? "any" : "none", a->line);
	while (next_token(ps, &t)) {
		count++;
		if (tok_is(&t, "any") || tok_is(&t, "none")) {
			struct token more;
			size_t save = ps->pos;
			bool alone = count == 1 && a->n == 0 &&
			    !next_token(ps, &more);

			ps->pos = save;
			if (!alone)
				return fail(ps, t.col,
				    "\"%.*s\" stands alone: it cannot be "
				    "combined with other entries for %s",
				    (int)t.len, t.p, kn);
			a->mode = t.p[1] == 'n' ? POLICY_ANY : POLICY_NONE;
			continue;
		}
		if ((r = parse_entry(ps, &t, &e)) < 0 ||
		    (r = add_entry(ps, a, &t, &e)) < 0)
			return r;
	}
	if (count == 0)
		return fail(ps, ps->origin == POLICY_FILE ? end_col(ps) : 1,
		    "%s needs a rule: any, none, local, or addresses", kn);
	return 0;
}

/* An ownership rule's pattern: a node name, or a prefix and '*'. */
static int
parse_pattern(struct parser *ps, const struct token *t,
    struct policy_owner *o)
{
	const char *star = memchr(t->p, '*', t->len);
	char tb[QUOTE_SIZE];
	ssize_t chars;
	uint32_t cp;
	long hidden;

	o->plen = t->len;
	if (star != NULL) {
		if (star != t->p + t->len - 1)
			return fail(ps, t->col + (unsigned)(star - t->p),
			    "'*' may only end a name: \"%s\"",
			    shown(t, tb, sizeof(tb)));
		o->prefix = true;
		o->plen--;
	}
	if (memchr(t->p, '@', o->plen) != NULL)
		return fail(ps, t->col,
		    "\"%s\": nodes register the name without \"@host\"",
		    shown(t, tb, sizeof(tb)));
	chars = codec_utf8_count((const uint8_t *)t->p, o->plen);
	if (chars < 0)
		return fail(ps, t->col, "\"%s\" is not UTF-8",
		    shown(t, tb, sizeof(tb)));
	hidden = policy_find_hidden((const uint8_t *)t->p, o->plen, &cp);
	if (hidden >= 0)
		return fail(ps, t->col + (unsigned)hidden,
		    "\"%s\" holds U+%04X, a control, an invisible character "
		    "or a space that is not ASCII",
		    shown(t, tb, sizeof(tb)), (unsigned)cp);
	if (o->plen > CODEC_MAX_NAME_BYTES || chars > CODEC_MAX_NAME_CHARS)
		return fail(ps, t->col,
		    "\"%s\" is longer than a node name can be (%d "
		    "characters)",
		    shown(t, tb, sizeof(tb)), CODEC_MAX_NAME_CHARS);
	o->pattern = malloc(o->plen + 1);
	if (o->pattern == NULL)
		return -ENOMEM;
	memcpy(o->pattern, t->p, o->plen);
	o->pattern[o->plen] = '\0';
	return 0;
}

/* "user=NAME|UID" or "group=NAME|GID". */
static int
parse_id(struct parser *ps, const struct token *t, struct policy_id *id)
{
	char name[POLICY_MAX_ID_NAME + 1], tb[QUOTE_SIZE];
	size_t skip, nlen;
	unsigned long long v;
	policy_resolve_fn *fn;
	int r;

	memset(id, 0, sizeof(*id));
	if (t->len > 5 && memcmp(t->p, "user=", 5) == 0)
		skip = 5;
	else if (t->len > 6 && memcmp(t->p, "group=", 6) == 0) {
		skip = 6;
		id->group = true;
	} else
		return fail(ps, t->col,
		    "expected user=NAME or group=NAME, not \"%s\"",
		    shown(t, tb, sizeof(tb)));
	nlen = t->len - skip;
	if (nlen > POLICY_MAX_ID_NAME)
		return fail(ps, t->col + (unsigned)skip,
		    "a %s name is at most %d bytes",
		    id->group ? "group" : "user", POLICY_MAX_ID_NAME);
	memcpy(name, t->p + skip, nlen);
	name[nlen] = '\0';
	if (memchr(name, '\0', nlen) != NULL)
		return fail(ps, t->col + (unsigned)skip, "NUL in a name");
	if (name[0] >= '0' && name[0] <= '9') {
		if (util_parse_uint(name, 0, UINT32_MAX - 1, &v) < 0)
			return fail(ps, t->col + (unsigned)skip,
			    "\"%s\" is not a %s id", shown(t, tb, sizeof(tb)),
			    id->group ? "group" : "user");
		id->id = (uint32_t)v;
	} else {
		fn = ps->names == NULL ? NULL
		    : id->group	       ? ps->names->group
				       : ps->names->user;
		r = fn != NULL ? fn(ps->names->arg, name, &id->id) : -ENOENT;
		if (r == -ENOMEM)
			return r;
		if (r < 0)
			return fail(ps, t->col + (unsigned)skip,
			    "%s \"%s\" %s", id->group ? "group" : "user",
			    shown(&(struct token) { name, nlen, 0 }, tb,
				sizeof(tb)),
			    r == -ENOENT ? "does not exist"
					 : "cannot be looked up");
	}
	id->name = strdup(name);
	return id->name != NULL ? 0 : -ENOMEM;
}

static bool
owner_same(const struct policy_owner *a, const struct policy_owner *b)
{
	return a->prefix == b->prefix && a->plen == b->plen &&
	    memcmp(a->pattern, b->pattern, a->plen) == 0;
}

/* The rest of an "owner" line. */
static int
parse_owner(struct parser *ps, const struct token *kt)
{
	struct policy *p = ps->p;
	struct policy_owner o, *no;
	struct policy_id *nid;
	struct token t;
	char tb[QUOTE_SIZE];
	size_t i, k;
	int r;

	memset(&o, 0, sizeof(o));
	o.line = ps->line;
	if (!next_token(ps, &t))
		return fail(ps, end_col(ps),
		    "owner needs a name, then user= or group=");
	if ((r = parse_pattern(ps, &t, &o)) < 0)
		goto out;
	for (i = 0; i < p->nowners; i++)
		if (owner_same(&p->owners[i], &o)) {
			r = fail(ps, t.col,
			    "an owner of \"%s\" is already given on line %u",
			    shown(&t, tb, sizeof(tb)), p->owners[i].line);
			goto out;
		}
	if (p->nowners >= POLICY_MAX_OWNERS) {
		r = fail(ps, kt->col, "more than %d owner rules",
		    POLICY_MAX_OWNERS);
		goto out;
	}
	while (next_token(ps, &t)) {
		struct policy_id id;

		if (o.nids >= POLICY_MAX_IDS) {
			r = fail(ps, t.col, "more than %d users and groups "
			    "in one rule", POLICY_MAX_IDS);
			goto out;
		}
		if ((r = parse_id(ps, &t, &id)) < 0)
			goto out;
		for (k = 0; k < o.nids; k++)
			if (o.ids[k].group == id.group && o.ids[k].id == id.id)
				break;
		if (k < o.nids) {
			free(id.name);
			r = fail(ps, t.col, "\"%s\" is given twice",
			    shown(&t, tb, sizeof(tb)));
			goto out;
		}
		nid = realloc(o.ids, (o.nids + 1) * sizeof(*nid));
		if (nid == NULL) {
			free(id.name);
			r = -ENOMEM;
			goto out;
		}
		o.ids = nid;
		o.ids[o.nids++] = id;
	}
	if (o.nids == 0) {
		r = fail(ps, end_col(ps),
		    "owner needs at least one user= or group=");
		goto out;
	}
	no = realloc(p->owners, (p->nowners + 1) * sizeof(*no));
	if (no == NULL) {
		r = -ENOMEM;
		goto out;
	}
	p->owners = no;
	p->owners[p->nowners++] = o;
	return 0;
out:
	owner_clear(&o);
	return r;
}

static int
parse_line(struct parser *ps)
{
	struct token t;
	char word[16], tb[QUOTE_SIZE];
	int kind;

	if (!next_token(ps, &t))
		return 0;
	if (tok_is(&t, "owner"))
		return parse_owner(ps, &t);
	kind = -1;
	if (t.len < sizeof(word)) {
		memcpy(word, t.p, t.len);
		word[t.len] = '\0';
		kind = policy_kind_from_name(word);
	}
	if (kind < 0)
		return fail(ps, t.col,
		    "unknown keyword \"%s\" (expected register, lookup, names, "
		    "dump, admin or owner)",
		    shown(&t, tb, sizeof(tb)));
	return parse_access(ps, (enum policy_kind)kind, &t);
}

int
policy_parse(const char *text, size_t len,
    const struct policy_resolver *names, struct policy **ret,
    struct policy_error *err)
{
	struct parser ps;
	size_t off = 0;
	int r = 0;

	memset(err, 0, sizeof(*err));
	memset(&ps, 0, sizeof(ps));
	ps.err = err;
	ps.names = names;
	ps.origin = POLICY_FILE;
	ps.seps = " \t";
	if (len > POLICY_MAX_FILE)
		return fail(&ps, 0, "larger than %u bytes", POLICY_MAX_FILE);
	ps.p = policy_new();
	if (ps.p == NULL)
		return -ENOMEM;
	while (off < len && r == 0) {
		const char *nl = memchr(text + off, '\n', len - off);
		size_t llen = nl != NULL ? (size_t)(nl - (text + off))
					 : len - off;
		const char *nul;

		ps.line++;
		ps.text = text + off;
		ps.len = llen;
		ps.pos = 0;
		off += llen + (nl != NULL);
		if (llen > POLICY_MAX_LINE) {
			r = fail(&ps, POLICY_MAX_LINE + 1,
			    "line longer than %d bytes", POLICY_MAX_LINE);
			break;
		}
		if ((nul = memchr(ps.text, '\0', llen)) != NULL) {
			r = fail(&ps, (unsigned)(nul - ps.text) + 1,
			    "NUL byte");
			break;
		}
		/* CRLF line ends too. */
		if (ps.len > 0 && ps.text[ps.len - 1] == '\r')
			ps.len--;
		r = parse_line(&ps);
	}
	if (r < 0) {
		policy_free(ps.p);
		return r;
	}
	*ret = ps.p;
	return 0;
}

int
policy_set_access(struct policy *p, enum policy_kind kind, const char *rules,
    struct policy_error *err)
{
	struct parser ps;
	struct token kt = { rules, 0, 1 };

	memset(err, 0, sizeof(*err));
	memset(&ps, 0, sizeof(ps));
	ps.p = p;
	ps.err = err;
	ps.origin = POLICY_OPTION;
	ps.seps = ", \t";
	ps.text = rules;
	ps.len = strlen(rules);
	if (ps.len > POLICY_MAX_LINE)
		return fail(&ps, POLICY_MAX_LINE + 1,
		    "longer than %d bytes", POLICY_MAX_LINE);
	return parse_access(&ps, kind, &kt);
}

/* ------------------------------------------------- hidden characters */

bool
policy_char_hidden(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0xa0) || cp == 0xad ||
	    cp == 0x1680 || cp == 0x180e || (cp >= 0x2000 && cp <= 0x200f) ||
	    (cp >= 0x2028 && cp <= 0x202f) || (cp >= 0x205f && cp <= 0x206f) ||
	    cp == 0x3000 || cp == 0xfeff;
}

long
policy_find_hidden(const uint8_t *p, size_t len, uint32_t *ret_cp)
{
	size_t i = 0, n, k;
	uint32_t cp;

	while (i < len) {
		if (p[i] < 0x80)
			n = 1;
		else if ((p[i] & 0xe0) == 0xc0)
			n = 2;
		else if ((p[i] & 0xf0) == 0xe0)
			n = 3;
		else if ((p[i] & 0xf8) == 0xf0)
			n = 4;
		else
			return -1;
		if (n > len - i || codec_utf8_count(p + i, n) != 1)
			return -1;
		cp = n == 1 ? p[i] : (uint32_t)p[i] & (0x7fu >> n);
		for (k = 1; k < n; k++)
			cp = cp << 6 | (p[i + k] & 0x3f);
		if (policy_char_hidden(cp)) {
			*ret_cp = cp;
			return (long)i;
		}
		i += n;
	}
	return -1;
}

/* ---------------------------------------------------------- matching */

static bool
entry_matches(const struct policy_entry *e, const struct registry_addr *a,
    bool is_local)
{
	unsigned full, rem;

	if (e->family == 0)
		return is_local;
	if (e->family != a->family)
		return false;
	full = e->bits / 8u;
	rem = e->bits % 8u;
	if (memcmp(e->addr, a->addr, full) != 0)
		return false;
	return rem == 0 ||
	    ((e->addr[full] ^ a->addr[full]) & (0xff00u >> rem) & 0xffu) == 0;
}

/* The answer alone: what every request asks. */
static bool
allows_fast(const struct policy_access *a, const struct registry_addr *peer,
    bool is_local)
{
	size_t i;

	if (a->mode != POLICY_LIST)
		return a->mode == POLICY_ANY;
	if (is_local && a->local)
		return true;
	if (peer->family == 4 ||
	    (peer->family == 6 && is_mapped(peer->addr))) {
		uint32_t ip = load32(peer->family == 4 ? peer->addr
						       : peer->addr + 12);

		for (i = 0; i < a->n4; i++)
			if ((ip & a->net4[i].mask) == a->net4[i].net)
				return true;
	} else if (peer->family == 6) {
		uint64_t hi = load64(peer->addr), lo = load64(peer->addr + 8);

		for (i = 0; i < a->n6; i++)
			if ((hi & a->net6[i].mask[0]) == a->net6[i].net[0] &&
			    (lo & a->net6[i].mask[1]) == a->net6[i].net[1])
				return true;
	}
	return false;
}

bool
policy_allows(const struct policy *p, enum policy_kind kind,
    const struct registry_addr *peer, bool is_local,
    struct policy_decision *ret)
{
	const struct policy_access *a = &p->access[kind];
	struct policy_decision d;
	struct registry_addr v4;
	size_t i;

	if (ret == NULL)
		return allows_fast(a, peer, is_local);

	d.allowed = a->mode == POLICY_ANY;
	d.origin = a->origin;
	d.line = a->line;
	d.entry = NULL;
	if (a->mode == POLICY_LIST) {
		if (peer->family == 6 && is_mapped(peer->addr)) {
			memset(&v4, 0, sizeof(v4));
			v4.family = 4;
			memcpy(v4.addr, peer->addr + 12, 4);
			v4.port = peer->port;
			peer = &v4;
		}
		for (i = 0; i < a->n; i++)
			if (entry_matches(&a->entries[i], peer, is_local)) {
				d.allowed = true;
				d.entry = &a->entries[i];
				if (d.entry->line != 0)
					d.line = d.entry->line;
				break;
			}
	}
	*ret = d;
	return d.allowed;
}

const struct policy_owner *
policy_owner_of(const struct policy *p, const uint8_t *name, size_t nlen)
{
	const struct policy_owner *best = NULL;
	size_t i;

	for (i = 0; i < p->nowners; i++) {
		const struct policy_owner *o = &p->owners[i];

		if (o->plen > nlen || memcmp(o->pattern, name, o->plen) != 0)
			continue;
		if (!o->prefix) {
			if (o->plen == nlen)
				return o; /* exact: nothing is more specific */
			continue;
		}
		if (best == NULL || o->plen > best->plen)
			best = o;
	}
	return best;
}

int
policy_owner_check(const struct policy_owner *o, uint32_t uid,
    policy_member_fn *member, void *arg)
{
	bool unknown = false;
	size_t i;
	int r;

	if (uid == REGISTRY_UID_UNKNOWN)
		return 0;
	for (i = 0; i < o->nids; i++)
		if (!o->ids[i].group && o->ids[i].id == uid)
			return 1;
	if (member == NULL)
		return 0;
	for (i = 0; i < o->nids; i++) {
		if (!o->ids[i].group)
			continue;
		r = member(arg, uid, o->ids[i].id);
		if (r > 0)
			return 1;
		if (r == -EAGAIN)
			unknown = true;
	}
	return unknown ? -EAGAIN : 0;
}

bool
policy_owner_allows(const struct policy_owner *o, uint32_t uid,
    policy_member_fn *member, void *arg)
{
	return policy_owner_check(o, uid, member, arg) > 0;
}

/* ---------------------------------------------------------- text */

void
policy_entry_text(const struct policy_entry *e, char *buf, size_t size)
{
	char host[INET6_ADDRSTRLEN];
	unsigned max = e->family == 4 ? 32 : 128;

	if (e->family == 0) {
		util_strlcpy(buf, "local", size);
		return;
	}
	inet_ntop(e->family == 4 ? AF_INET : AF_INET6, e->addr, host,
	    sizeof(host));
	if (e->bits < max)
		snprintf(buf, size, "%s/%u", host, e->bits);
	else
		util_strlcpy(buf, host, size);
}

void
policy_id_text(const struct policy_id *id, char *buf, size_t size)
{
	snprintf(buf, size, "%s=%s", id->group ? "group" : "user", id->name);
}

void
policy_pattern_text(const struct policy_owner *o, char *buf, size_t size)
{
	size_t n;

	if (size < 2) {
		if (size == 1)
			buf[0] = '\0';
		return;
	}
	util_escape(buf, size - 1, o->pattern, o->plen);
	n = strlen(buf);
	if (o->prefix) {
		buf[n] = '*';
		buf[n + 1] = '\0';
	}
}

int
policy_parse_addr(const char *s, struct registry_addr *ret)
{
	struct registry_addr a;

	memset(&a, 0, sizeof(a));
	if (inet_pton(AF_INET, s, a.addr) == 1)
		a.family = 4;
	else if (inet_pton(AF_INET6, s, a.addr) == 1)
		a.family = 6;
	else
		return -EINVAL;
	*ret = a;
	return 0;
}
