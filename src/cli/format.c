/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright (c) 2026 The epmdd authors */
/*
 * format: epmdctl's text for people: safe names, node types, protocols,
 * versions, durations, users, local times and table cells.  No JSON
 * here (output.c), no sockets.
 */
#include "format.h"

#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "codec.h"
#include "policy.h"
#include "util.h"

void
format_safe(const uint8_t *p, size_t len, char *buf, size_t size)
{
	uint32_t cp;
	bool plain = len < size && codec_utf8_count(p, len) >= 0 &&
	    policy_find_hidden(p, len, &cp) < 0;

	if (plain) {
		memcpy(buf, p, len);
		buf[len] = '\0';
	} else
		util_escape(buf, size, p, len);
}

const char *
format_type_name(uint64_t t)
{
	switch (t) {
	case 77:
		return "normal";
	case 72:
		return "hidden";
	case 104:
		return "c_node";
	default:
		return "other";
	}
}

void
format_type(uint64_t t, char *buf, size_t size)
{
	if (t == 104)
		util_strlcpy(buf, "C node", size);
	else if (t == 77 || t == 72)
		util_strlcpy(buf, format_type_name(t), size);
	else
		snprintf(buf, size, "%llu", (unsigned long long)t);
}

void
format_proto(uint64_t p, char *buf, size_t size)
{
	if (p == 0)
		util_strlcpy(buf, "tcp", size);
	else
		snprintf(buf, size, "%llu", (unsigned long long)p);
}

void
format_versions(uint64_t lv, uint64_t hv, char *buf, size_t size)
{
	if (hv == lv)
		snprintf(buf, size, "%llu", (unsigned long long)hv);
	else
		snprintf(buf, size, "%llu-%llu", (unsigned long long)lv,
		    (unsigned long long)hv);
}

void
format_duration(int64_t secs, char *buf, size_t size)
{
	if (secs < 0)
		secs = 0;
	if (secs < 60)
		snprintf(buf, size, "%llds", (long long)secs);
	else if (secs < 3600)
		snprintf(buf, size, "%lldm%02llds", (long long)secs / 60,
		    (long long)secs % 60);
	else if (secs < 86400)
		snprintf(buf, size, "%lldh%02lldm", (long long)secs / 3600,
		    (long long)(secs % 3600) / 60);
	else
		snprintf(buf, size, "%lldd%02lldh", (long long)secs / 86400,
		    (long long)(secs % 86400) / 3600);
}

void
format_user(uint64_t uid, char *buf, size_t size)
{
	struct passwd *pw;

	if (uid > UINT32_MAX - 1) {
		util_strlcpy(buf, "-", size);
		return;
	}
	pw = getpwuid((uid_t)uid);
	if (pw != NULL)
		util_strlcpy(buf, pw->pw_name, size);
	else
		snprintf(buf, size, "%llu", (unsigned long long)uid);
}

void
format_time(uint64_t ms, char *buf, size_t size)
{
	time_t secs = (time_t)(ms / 1000);
	char date[32], zone[8];
	struct tm tm;

	localtime_r(&secs, &tm);
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
	strftime(zone, sizeof(zone), "%z", &tm); /* +hhmm */
	snprintf(buf, size, "%s.%03u%.3s:%.2s", date, (unsigned)(ms % 1000),
	    zone, zone + 3);
}

size_t
format_width(const char *s)
{
	size_t w = 0;

	for (; *s != '\0'; s++)
		if (((uint8_t)*s & 0xc0) != 0x80)
			w++;
	return w;
}

void
format_cell(const char *s, size_t width, bool last)
{
	size_t w = format_width(s);

	fputs(s, stdout);
	if (!last)
		for (; w < width + 2; w++)
			fputc(' ', stdout);
}
