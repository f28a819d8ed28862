/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright (c) 2026 The epmdd authors */
/*
 * cmd_policy: epmdctl policy, the access policy and ownership rules in
 * force (in the configuration file's format, or one JSON document), and
 * policy test, the daemon's verdict on a request from an address (by
 * which rule).
 */
#include <pwd.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "codec.h"
#include "conn.h"
#include "ctlproto.h"
#include "ctlschema.h"
#include "epmdctl.h"
#include "format.h"
#include "output.h"
#include "policy.h"
#include "util.h"


/* "line 3", "-allow", "default: OTP's rule". */
static void
origin_note(const char *origin, uint64_t line, char *buf, size_t size)
{
	if (strcmp(origin, "file") == 0)
		snprintf(buf, size, "line %llu", (unsigned long long)line);
	else if (strcmp(origin, "option") == 0)
		util_strlcpy(buf, "-allow", size);
	else
		util_strlcpy(buf, "default: OTP's rule", size);
}

/* The head of policy's document: where the policy comes from. */
static json_t *
policy_head_json(const struct ctl_msg *m)
{
	char source[CTL_MAX_VALUE + 1], file[CTL_MAX_VALUE + 1],
	    error[CTL_MAX_VALUE + 1];

	ctlproto_str(m, CTL_KEY(SOURCE), source, sizeof(source));
	ctlproto_str(m, CTL_KEY(FILE), file, sizeof(file));
	ctlproto_str(m, CTL_KEY(ERROR), error, sizeof(error));
	return json_pack("{s:o,s:o,s:b,s:b,s:o,s:o,s:o,s:o,s:{},s:[]}",
	    "source", output_json_str(source), "file", output_json_str(file),
	    "configured", ctlproto_u64(m, CTL_KEY(CONFIGURED), 0) != 0, "saved",
	    ctlproto_u64(m, CTL_KEY(SAVED), 0) != 0, "loaded_at",
	    output_json_u64(ctlproto_u64(m, CTL_KEY(LOADED_AT), 0)), "loads",
	    output_json_u64(ctlproto_u64(m, CTL_KEY(LOADS), 0)),
	"load_failures",
	    output_json_u64(ctlproto_u64(m, CTL_KEY(LOAD_FAILURES), 0)),
	"error",
	    error[0] != '\0' ? output_json_str(error) : json_null(),
	    "access", "owners");
}

/* The head of policy's text: comments on where the policy comes from. */
static void
policy_head_text(const struct ctl_msg *m)
{
	char source[CTL_MAX_VALUE + 1], file[CTL_MAX_VALUE + 1],
	    error[CTL_MAX_VALUE + 1], when[48];

	ctlproto_str(m, CTL_KEY(SOURCE), source, sizeof(source));
	ctlproto_str(m, CTL_KEY(FILE), file, sizeof(file));
	ctlproto_str(m, CTL_KEY(ERROR), error, sizeof(error));
	format_time(ctlproto_u64(m, CTL_KEY(LOADED_AT), 0) * 1000, when,
	    sizeof(when));
	if (!ctlproto_u64(m, CTL_KEY(CONFIGURED), 0) && ctlproto_u64(m,
	    CTL_KEY(SAVED), 0))
		printf("# no configuration, as the previous process had none: "
		       "OTP's rules\n");
	else if (!ctlproto_u64(m, CTL_KEY(CONFIGURED), 0))
		printf("# no configuration%s%s%s: OTP's rules\n",
		    file[0] ? " (" : "", file, file[0] ? " absent)" : "");
	else if (ctlproto_u64(m, CTL_KEY(SAVED), 0))
		printf("# the policy in force: %s as the previous process had "
		       "it, since %s\n",
		    source, when);
	else
		printf("# the policy in force: %s, loaded %s\n", source, when);
	if (error[0] != '\0')
		printf("# the last load failed, this stayed in force: %s\n",
		    error);
}

/*
 * One rule into policy's document.  Rules come in order: each access
 * kind (a long list in several pieces, each adding entries), then the
 * ownership rules, each with one "owner" field per user or group.
 */
static void
policy_rule_json(const struct ctl_msg *m, json_t *doc)
{
	const struct ctl_field *rule = ctlproto_find(m, CTL_KEY(RULE));
	char kind[16], origin[16], words[CTL_MAX_VALUE + 1];
	uint64_t lineno = ctlproto_u64(m, CTL_KEY(LINE), 0);
	json_t *access = json_object_get(doc, "access"), *entry, *owners,
	    *entries;
	size_t i;

	ctlproto_str(m, CTL_KEY(KIND), kind, sizeof(kind));
	ctlproto_str(m, CTL_KEY(ORIGIN), origin, sizeof(origin));
	if (strcmp(kind, "owner") == 0) {
		if ((owners = json_array()) == NULL)
			return;
		for (i = 0; i < m->nfields; i++) {
			const struct ctl_field *o = &m->fields[i];

			if (o->kind == CTL_BYTES &&
			    ctlproto_is_key(o, CTL_KEY(OWNER)))
				json_array_append_new(owners,
				    output_json_bytes(o->p, o->len));
		}
		json_array_append_new(json_object_get(doc, "owners"),
		    json_pack("{s:o,s:o,s:o}", "pattern",
			output_json_bytes(rule->p, rule->len), "line",
			output_json_u64(lineno), "owners", owners));
		return;
	}
	if ((entry = json_object_get(access, kind)) == NULL) {
		/* A new kind: its origin and line, then its entries. */
		entry = json_pack("{s:o,s:o,s:[]}", "origin",
		    output_json_str(origin), "line",
		    strcmp(origin, "file") == 0 ? output_json_u64(lineno)
						: json_null(),
		    "entries");
		output_json_set(access, (const uint8_t *)kind, strlen(kind),
		    json_incref(entry));
		json_decref(entry);
	}
	ctlproto_str(m, CTL_KEY(RULE), words, sizeof(words));
	if ((entries = output_json_words(words)) != NULL)
		json_array_extend(json_object_get(entry, "entries"), entries);
	json_decref(entries);
}

/* One rule as a configuration line, with where it comes from. */
static void
policy_rule_text(const struct ctl_msg *m)
{
	const struct ctl_field *rule = ctlproto_find(m, CTL_KEY(RULE));
	char kind[16], origin[16], note[48],
	    owners[POLICY_MAX_IDS * (POLICY_MAX_ID_NAME + 8) + 1],
	    shown[CODEC_MAX_NAME_BYTES * 4 + 1],
	    line[sizeof(owners) + CTL_MAX_VALUE * 4 + 32];
	size_t i, len = 0;

	ctlproto_str(m, CTL_KEY(KIND), kind, sizeof(kind));
	ctlproto_str(m, CTL_KEY(ORIGIN), origin, sizeof(origin));
	owners[0] = '\0';
	for (i = 0; i < m->nfields; i++) {
		const struct ctl_field *o = &m->fields[i];

		if (o->kind != CTL_BYTES || !ctlproto_is_key(o,
		    CTL_KEY(OWNER)) ||
		    len + o->len + 2 > sizeof(owners))
			continue;
		if (len > 0)
			owners[len++] = ' ';
		memcpy(owners + len, o->p, o->len);
		len += o->len;
		owners[len] = '\0';
	}
	format_safe(rule->p, rule->len, shown, sizeof(shown));
	origin_note(origin, ctlproto_u64(m, CTL_KEY(LINE), 0), note,
	    sizeof(note));
	snprintf(line, sizeof(line), "%s %s%s%s", kind, shown,
	    owners[0] ? " " : "", owners);
	printf("%-40s # %s\n", line, note);
}

/* epmdctl policy: the policy in force, as a configuration file. */
static int
show_policy(void)
{
	struct conn *c = conn_new();
	struct conn_req req;
	struct ctl_msg m;
	json_t *doc = NULL;
	bool have_head = false;
	int r, status = EXIT_FAIL;

	if (c == NULL)
		return EXIT_FAIL;
	conn_req_begin(&req, CTL_POLICY);
	if ((r = conn_open(c, &req)) != EXIT_OK) {
		conn_free(c);
		return r;
	}
	while (conn_answer(c, &m, "policy", &status)) {
		if (m.type == CTL_POLICY_REPLY && !have_head) {
			if (opts.json)
				doc = policy_head_json(&m);
			else
				policy_head_text(&m);
			have_head = true;
		} else if (m.type == CTL_POLICY_RULE && have_head) {
			if (opts.json)
				policy_rule_json(&m, doc);
			else
				policy_rule_text(&m);
		} else if (m.type == CTL_END && have_head) {
			if (opts.json) {
				output_json(doc);
				doc = NULL;
			}
			status = EXIT_OK;
			break;
		}
	}
	json_decref(doc);
	conn_free(c);
	return status;
}

/* policy test --json: the verdict, and the rules that made it. */
static json_t *
verdict_json(const struct ctl_msg *m, const char *name)
{
	const struct ctl_field *f = ctlproto_find(m, CTL_KEY(OWNER_RULE));
	char kind[16], addr[64], mode[CTL_MAX_VALUE + 1], entry[64],
	    origin[16], ids[CTL_MAX_VALUE + 1];
	json_t *owner_rule = json_null();

	ctlproto_str(m, CTL_KEY(KIND), kind, sizeof(kind));
	ctlproto_str(m, CTL_KEY(ADDRESS), addr, sizeof(addr));
	ctlproto_str(m, CTL_KEY(ACCESS_MODE), mode, sizeof(mode));
	ctlproto_str(m, CTL_KEY(ACCESS_ENTRY), entry, sizeof(entry));
	ctlproto_str(m, CTL_KEY(ACCESS_ORIGIN), origin, sizeof(origin));
	if (f != NULL)
		owner_rule = json_pack("{s:o,s:o,s:b,s:o}", "pattern",
		    output_json_bytes(f->p, f->len), "line",
		    output_json_u64(ctlproto_u64(m, CTL_KEY(OWNER_LINE), 0)),
		    "allowed", ctlproto_u64(m, CTL_KEY(OWNER_ALLOWED), 0) != 0,
		    "owners",
		    output_json_words(ctlproto_str(m, CTL_KEY(OWNER_IDS), ids,
			sizeof(ids))));
	return json_pack("{s:b,s:o,s:o,s:b,s:{s:b,s:o,s:o,s:o,s:o},s:o,s:o,"
			 "s:o}",
	    "allowed", ctlproto_u64(m, CTL_KEY(ALLOWED), 0) != 0, "kind",
	    output_json_str(kind), "address", output_json_str(addr), "local",
	    ctlproto_u64(m, CTL_KEY(LOCAL), 0) != 0, "access", "allowed",
	    ctlproto_u64(m, CTL_KEY(ACCESS_ALLOWED), 0) != 0, "mode",
	    output_json_str(mode), "origin", output_json_str(origin), "line",
	    strcmp(origin, "file") == 0
		? output_json_u64(ctlproto_u64(m, CTL_KEY(ACCESS_LINE), 0))
		: json_null(),
	    "entry", entry[0] != '\0' ? output_json_str(entry) : json_null(),
	    "name", name != NULL ? output_json_str(name) : json_null(), "uid",
	    ctlproto_find(m, CTL_KEY(UID)) != NULL
		? output_json_u64(ctlproto_u64(m, CTL_KEY(UID), 0))
		: json_null(),
	    "owner_rule", owner_rule);
}

/* epmdctl policy test ADDR REQUEST [NAME] [--uid U] */
static int
verdict(struct conn *c, int argc, char **argv)
{
	struct conn_req req;
	const char *name = argc > 2 ? argv[2] : NULL;
	char kind[16], addr[64], rule[CODEC_MAX_NAME_BYTES * 4 + 1],
	    ids[CTL_MAX_VALUE + 1], entry[64], origin[16], user[64],
	    shown[CODEC_MAX_NAME_BYTES * 4 + 1];
	unsigned long long uid = UINT32_MAX;
	const struct ctl_field *f;
	struct ctl_msg m;
	bool allowed;
	int r;

	if (opts.uid != NULL) {
		struct passwd *pw;

		if (util_parse_uint(opts.uid, 0, UINT32_MAX - 1, &uid) < 0) {
			if ((pw = getpwnam(opts.uid)) == NULL) {
				output_warn("--uid: no user \"%s\"", opts.uid);
				return EXIT_USAGE;
			}
			uid = pw->pw_uid;
		}
	}
	conn_req_begin(&req, CTL_POLICY_TEST);
	conn_req_str(&req, CTL_KEY(ADDRESS), argv[0]);
	conn_req_str(&req, CTL_KEY(REQUEST), argv[1]);
	if (name != NULL)
		conn_req_str(&req, CTL_KEY(NAME), name);
	if (uid < UINT32_MAX)
		conn_req_u64(&req, CTL_KEY(UID), uid);
	r = conn_call(c, &req, "policy test", CTL_VERDICT, &m);
	/* A request the daemon cannot read is a usage error. */
	if (r != EXIT_OK)
		return m.type == CTL_ERROR &&
			ctlproto_u64(&m, CTL_KEY(CODE),
			    0) == CTL_ERR_BAD_REQUEST
		    ? EXIT_USAGE
		    : r;
	allowed = ctlproto_u64(&m, CTL_KEY(ALLOWED), 0) != 0;
	ctlproto_str(&m, CTL_KEY(KIND), kind, sizeof(kind));
	ctlproto_str(&m, CTL_KEY(ADDRESS), addr, sizeof(addr));
	ctlproto_str(&m, CTL_KEY(ACCESS_ENTRY), entry, sizeof(entry));
	ctlproto_str(&m, CTL_KEY(ACCESS_ORIGIN), origin, sizeof(origin));
	f = ctlproto_find(&m, CTL_KEY(OWNER_RULE));
	if (opts.json) {
		output_json(verdict_json(&m, name));
		return allowed ? EXIT_OK : EXIT_FAIL;
	}
	if (name != NULL)
		format_safe((const uint8_t *)name, strlen(name), shown,
		    sizeof(shown));
	printf("%s: %s%s%s from %s (%s)", allowed ? "allowed" : "refused",
	    kind, name != NULL ? " " : "", name != NULL ? shown : "", addr,
	    ctlproto_u64(&m, CTL_KEY(LOCAL), 0) ? "local" : "not local");
	if (ctlproto_find(&m, CTL_KEY(UID)) != NULL) {
		format_user(ctlproto_u64(&m, CTL_KEY(UID), 0), user,
		    sizeof(user));
		printf(", uid %llu (%s)",
		    (unsigned long long)ctlproto_u64(&m, CTL_KEY(UID), 0),
		user);
	}
	putchar('\n');
	ctlproto_str(&m, CTL_KEY(ACCESS_MODE), ids, sizeof(ids));
	printf("  access: %s by ",
	    ctlproto_u64(&m, CTL_KEY(ACCESS_ALLOWED),
	0) ? "allowed" : "refused");
	if (strcmp(ids, "list") != 0)
		printf("\"%s %s\"", kind, ids);
	else if (entry[0] != '\0')
		printf("the entry %s of the %s rule", entry, kind);
	else
		printf("the %s rule: no entry matches", kind);
	if (strcmp(origin, "file") == 0)
		printf(" (line %llu)\n",
		    (unsigned long long)ctlproto_u64(&m, CTL_KEY(ACCESS_LINE),
		0));
	else if (strcmp(origin, "option") == 0)
		printf(" (-allow)\n");
	else
		printf(" (default: OTP's rule)\n");
	if (strcmp(kind, "register") == 0 && name != NULL) {
		if (f == NULL)
			printf("  owner: no ownership rule covers %s\n", shown);
		else {
			format_safe(f->p, f->len, rule, sizeof(rule));
			ctlproto_str(&m, CTL_KEY(OWNER_IDS), ids, sizeof(ids));
			printf("  owner: %s by owner %s %s (line %llu)%s\n",
			    ctlproto_u64(&m, CTL_KEY(OWNER_ALLOWED),
			0) ? "allowed"
								 : "refused",
			    rule, ids,
			    (unsigned long long)ctlproto_u64(&m,
			CTL_KEY(OWNER_LINE),
				0),
			    ctlproto_find(&m, CTL_KEY(UID)) != NULL ? ""
			    : !ctlproto_u64(&m, CTL_KEY(LOCAL), 0)
				? ": the owner of a socket on another host "
				  "is never known"
				: ": the socket's owner is not known (--uid "
				  "says whose it is)");
		}
	}
	return allowed ? EXIT_OK : EXIT_FAIL;
}

static int
test_policy(int argc, char **argv)
{
	struct conn *c = conn_new();
	int r;

	if (c == NULL)
		return EXIT_FAIL;
	r = verdict(c, argc, argv);
	conn_free(c);
	return r;
}

int
cmd_policy(int argc, char **argv)
{
	if (argc == 0) {
		if (opts.uid != NULL) {
			output_warn("--uid applies to policy test only");
			return EXIT_USAGE;
		}
		return show_policy();
	}
	if (strcmp(argv[0], "test") != 0 || argc < 3 || argc > 4) {
		fprintf(stderr, "usage: epmdctl policy\n"
				"       epmdctl policy test ADDRESS REQUEST "
				"[NAME] [--uid USER]\n");
		/* As for the other usage errors: the usage text only. */
		output_json_none();
		return EXIT_USAGE;
	}
	return test_policy(argc - 1, argv + 1);
}

/* ---------------------------------------------------------- watch */
