# epmdd: an EPMD-compatible Erlang port mapper daemon.  One GNU Makefile.
#
#   make                 build src/epmdd
#   make run             run the daemon in the foreground on port 4369
#   make check           unit and integration tests (SANITIZE=1: ASan+UBSan)
#   make check-systemd   the real-systemd suite in a booted Debian 12 container
#   make deb             the Debian package, in build/deb/ (debian/)
#   make bench           the benchmark against OTP's epmd (BENCH_ARGS=...)
#   make bench-systemd   handover stalls under the real systemd, in the
#                        container of check-systemd (BENCH_SYSTEMD_ARGS=...)
#   make install         PREFIX, DESTDIR, SBINDIR, BINDIR, MANDIR,
#                        SYSTEMDUNITDIR, SYSUSERSDIR, DOCDIR, BASHCOMPDIR
#                        (SYSCONFDIR is compiled in: /etc by default)
#
# `run` and `check` first install missing Debian packages when run as
# root (`make deps`), or name them otherwise.

PREFIX    ?= /usr/local
SBINDIR   ?= $(PREFIX)/sbin
BINDIR    ?= $(PREFIX)/bin
MANDIR    ?= $(PREFIX)/share/man
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
DOCDIR    ?= $(PREFIX)/share/doc/epmdd
# The configuration file is $(SYSCONFDIR)/epmdd/epmdd.conf (compiled in).
SYSCONFDIR ?= /etc
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
DESTDIR   ?=

CC        ?= cc
PKG_CONFIG ?= pkg-config
CFLAGS    ?= -O2 -g
LDFLAGS   ?=
WERROR    ?= 1
SANITIZE  ?= 0
VALGRIND  ?= 0

# +g<commit> when built in a git checkout (not in a copy of one, such as
# make deb's, which may sit inside a checkout's build/).
VERSION := $(shell cat VERSION)$(shell [ -e .git ] && \
	git rev-parse --short HEAD 2>/dev/null | sed "s/^/+g/")

# Debian 12 packages: to build, and to run the tests.
DEB_BUILD := gcc make pkg-config libuv1-dev libsystemd-dev check \
	libjansson-dev
DEB_TEST  := erlang-base python3 iproute2 procps systemd mandoc valgrind \
	prometheus curl fail2ban
DEB_FUZZ  := clang libclang-rt-14-dev
DEB_BENCH := strace
# The real-systemd suite: a Debian 12 container booted with systemd-nspawn.
DEB_SYSTEMD := debootstrap systemd-container iproute2 util-linux
# The Debian package (make deb).
DEB_PACKAGING := dpkg-dev debhelper fakeroot lintian

WARN := -std=gnu11 -Wall -Wextra -Wshadow -Wpointer-arith -Wcast-qual \
	-Wstrict-prototypes -Wmissing-prototypes -Wmissing-declarations \
	-Wformat=2 -Wimplicit-fallthrough
ifeq ($(WERROR),1)
WARN += -Werror
endif

ifeq ($(SANITIZE),1)
B := build/asan
BIN := build/asan
HARDEN := -fno-omit-frame-pointer -fsanitize=address,undefined \
	-fno-sanitize-recover=all
LDHARDEN := -fsanitize=address,undefined
else
B := build
BIN := src
HARDEN := -fstack-protector-strong -D_FORTIFY_SOURCE=2 -fPIE
LDHARDEN := -pie -Wl,-z,relro,-z,now
endif

# Recursive (=) so that they are read after `make deps` has run.
UV_CFLAGS   = $(shell $(PKG_CONFIG) --cflags libuv 2>/dev/null)
UV_LIBS     = $(shell $(PKG_CONFIG) --libs libuv 2>/dev/null)
CHECK_CFLAGS = $(shell $(PKG_CONFIG) --cflags check 2>/dev/null)
CHECK_LIBS  = $(shell $(PKG_CONFIG) --libs check 2>/dev/null)
SD_CFLAGS   = $(shell $(PKG_CONFIG) --cflags libsystemd 2>/dev/null)
SD_LIBS     = $(shell $(PKG_CONFIG) --libs libsystemd 2>/dev/null)
JANSSON_CFLAGS = $(shell $(PKG_CONFIG) --cflags jansson 2>/dev/null)
JANSSON_LIBS = $(shell $(PKG_CONFIG) --libs jansson 2>/dev/null)

# The three layers (README, "Source map") and the rule that keeps them
# apart, made by the include paths: a core file sees only src/core, so
# one that includes a daemon's or the CLI's header does not compile;
# the daemon and the CLI see the core and themselves, never each other;
# only src/main.c sees all three.  libuv's flags reach the daemon's
# files alone, libsystemd's only sysd.c, jansson's only epmdctl's.
ALL_CFLAGS = $(WARN) $(HARDEN) -D_GNU_SOURCE \
	-DEPMDD_SYSCONFDIR='"$(SYSCONFDIR)"' $(CFLAGS)
ALL_LDFLAGS = $(LDHARDEN) $(LDFLAGS)
CORE_INC   := -Isrc/core
DAEMON_INC  = -Isrc/core -Isrc/daemon $(UV_CFLAGS)
CLI_INC    := -Isrc/core -Isrc/cli
MAIN_INC    = -Isrc/core -Isrc/daemon -Isrc/cli $(UV_CFLAGS)

# The pure core: no libuv, no libsystemd, no sockets, no logging.  It is
# an archive: each program takes the modules it uses; the unit tests and
# the fuzzers link nothing else.
CORE := util buf codec registry policy dispatch options ctlschema ctlproto state
DAEMON := log held net sockdiag member config ctlpolicy ctlmsg ctl sysd persist park adopt \
	upgrade daemon
# The blocking clients, both on netio's sockets: OTP's client commands
# (linked into epmdd, for epmd -names and the rest) and epmdctl.
CLI_OTP := client netio
CLI_CTL := epmdctl conn output format procfd cmd_nodes cmd_daemon cmd_policy \
	cmd_watch epmdctl_metrics epmdctl_check netio
UNIT := check_main check_buf check_codec check_registry check_dispatch \
	check_options check_ctlproto check_ctlschema check_state check_policy \
	unit_util

CORE_OBJS   := $(CORE:%=$(B)/core/%.o)
CORE_LIB    := $(B)/libcore.a
DAEMON_OBJS := $(DAEMON:%=$(B)/daemon/%.o)
OTP_OBJS    := $(CLI_OTP:%=$(B)/cli/%.o)
CTL_OBJS    := $(CLI_CTL:%=$(B)/cli/%.o)
EPMDD_OBJS  := $(B)/main.o $(DAEMON_OBJS) $(OTP_OBJS)
UNIT_OBJS   := $(UNIT:%=$(B)/tests/%.o)

EPMDD := $(BIN)/epmdd
EPMDCTL := $(BIN)/epmdctl
UNIT_BIN := $(B)/unit-tests

.PHONY: all deps deps-fuzz deps-bench deps-systemd deps-deb run check \
	check-unit check-integration check-valgrind check-systemd lint install \
	uninstall clean fuzz bench bench-systemd deb FORCE

all: $(EPMDD) $(EPMDCTL)

# Objects are rebuilt when the flags change (a stamp holds them); the
# version reaches only the files that print it.
$(B)/.flags: FORCE
	@mkdir -p $(@D)
	@echo '$(CC) $(ALL_CFLAGS) $(MAIN_INC) $(ALL_LDFLAGS)' | cmp -s - $@ || \
		echo '$(CC) $(ALL_CFLAGS) $(MAIN_INC) $(ALL_LDFLAGS)' >$@
$(B)/.version: FORCE
	@mkdir -p $(@D)
	@echo '$(VERSION)' | cmp -s - $@ || echo '$(VERSION)' >$@

$(B)/main.o $(B)/daemon/daemon.o $(B)/cli/epmdctl.o: $(B)/.version
$(B)/main.o $(B)/daemon/daemon.o $(B)/cli/epmdctl.o: \
	VERSION_DEF = -DEPMDD_VERSION='"$(VERSION)"'
# Only sysd.c includes libsystemd's headers.
$(B)/daemon/sysd.o: VERSION_DEF = $(SD_CFLAGS)

$(B)/core/%.o: src/core/%.c $(B)/.flags
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(CORE_INC) -MMD -MP -c -o $@ $<

$(B)/daemon/%.o: src/daemon/%.c $(B)/.flags
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(DAEMON_INC) $(VERSION_DEF) -MMD -MP -c -o $@ $<

$(B)/cli/%.o: src/cli/%.c $(B)/.flags
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(CLI_INC) $(JANSSON_CFLAGS) $(VERSION_DEF) -MMD -MP \
		-c -o $@ $<

$(B)/main.o: src/main.c $(B)/.flags
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(MAIN_INC) $(VERSION_DEF) -MMD -MP -c -o $@ $<

$(B)/tests/%.o: tests/unit/%.c $(B)/.flags
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(CORE_INC) $(CHECK_CFLAGS) \
		-Wno-missing-prototypes -MMD -MP -c -o $@ $<

$(CORE_LIB): $(CORE_OBJS)
	rm -f $@
	$(AR) rcs $@ $(CORE_OBJS)

$(EPMDD): $(EPMDD_OBJS) $(CORE_LIB)
	$(CC) $(ALL_CFLAGS) -o $@ $(EPMDD_OBJS) $(CORE_LIB) $(ALL_LDFLAGS) \
		$(UV_LIBS) $(SD_LIBS)

# epmdctl links no libuv and no libsystemd; jansson writes its JSON.
$(EPMDCTL): $(CTL_OBJS) $(CORE_LIB)
	$(CC) $(ALL_CFLAGS) -o $@ $(CTL_OBJS) $(CORE_LIB) $(ALL_LDFLAGS) \
		$(JANSSON_LIBS)

# The unit tests link the core alone.
$(UNIT_BIN): $(UNIT_OBJS) $(CORE_OBJS)
	$(CC) $(ALL_CFLAGS) -o $@ $(UNIT_OBJS) $(CORE_OBJS) $(ALL_LDFLAGS) \
		$(CHECK_LIBS)

# install_debs PACKAGES: apt-get install what is missing (as root), or
# name it.
define install_debs
	@missing=""; \
	for p in $(1); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | \
			grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "deps: installing$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -qq --no-install-recommends \
			$$missing >/dev/null || exit 1; \
	else \
		echo "deps: missing Debian packages:$$missing" >&2; \
		echo "deps: install them with: sudo apt-get install$$missing" >&2; \
		exit 1; \
	fi
endef

deps:
	$(call install_debs,$(DEB_BUILD) $(DEB_TEST))

deps-fuzz:
	$(call install_debs,$(DEB_FUZZ))

deps-bench:
	$(call install_debs,$(DEB_BUILD) $(DEB_TEST) $(DEB_BENCH))

deps-systemd:
	$(call install_debs,$(DEB_BUILD) $(DEB_SYSTEMD) $(DEB_PACKAGING))

deps-deb:
	$(call install_debs,$(DEB_BUILD) $(DEB_PACKAGING))

run: deps
	@$(MAKE) --no-print-directory all
	./$(EPMDD) $(RUN_ARGS)

check: deps
	@$(MAKE) --no-print-directory check-unit
	@$(MAKE) --no-print-directory check-integration

check-unit: $(UNIT_BIN)
	EPMDD_TEST_DATA=tests/data ./$(UNIT_BIN)

# VALGRIND=1: the integration tests get, as EPMDD and EPMDCTL, scripts
# that run the real binaries under memcheck (tests/integration/lib/valgrind-wrap;
# logs in build/test-logs/valgrind/TEST/).
ifeq ($(VALGRIND),1)
ifeq ($(SANITIZE),1)
$(error VALGRIND=1 and SANITIZE=1 do not mix: choose one)
endif
IT_BINS := $(B)/valgrind/epmdd $(B)/valgrind/epmdctl
IT_ENV := VALGRIND=1 EPMDD=$(abspath $(B)/valgrind/epmdd) \
	EPMDCTL=$(abspath $(B)/valgrind/epmdctl) \
	EPMDD_REAL=$(abspath $(EPMDD)) EPMDCTL_REAL=$(abspath $(EPMDCTL))
else
IT_BINS :=
IT_ENV := EPMDD=$(abspath $(EPMDD)) EPMDCTL=$(abspath $(EPMDCTL))
endif

# A daemon whose saved state holds 4 MiB instead of STATE_MAX_SIZE, for
# 097-policy-state-full: filling 64 MiB takes more registrations than a
# process may hold descriptors for.  Only state.c and persist.c differ.
SMALL_STATE := $(B)/small-state/epmdd
SMALL_STATE_OBJS := $(B)/main.o \
	$(filter-out $(B)/daemon/persist.o,$(DAEMON_OBJS)) $(OTP_OBJS) \
	$(B)/small-state/state.o $(B)/small-state/persist.o \
	$(filter-out $(B)/core/state.o,$(CORE_OBJS))
IT_ENV += EPMDD_SMALL_STATE=$(abspath $(SMALL_STATE))

$(B)/small-state/state.o: src/core/state.c $(B)/.flags
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(CORE_INC) -DSTATE_MAX_SIZE='(4u << 20)' \
		-MMD -MP -c -o $@ $<
$(B)/small-state/persist.o: src/daemon/persist.c $(B)/.flags
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(DAEMON_INC) -DSTATE_MAX_SIZE='(4u << 20)' \
		-MMD -MP -c -o $@ $<

$(SMALL_STATE): $(SMALL_STATE_OBJS)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(ALL_LDFLAGS) $(UV_LIBS) $(SD_LIBS)

$(B)/valgrind/epmdd $(B)/valgrind/epmdctl: $(B)/valgrind/%: $(BIN)/% FORCE
	@mkdir -p $(@D)
	@printf '#!/bin/sh\nexec %s %s "$$@"\n' \
		'$(abspath tests/integration/lib/valgrind-wrap)' '$(abspath $<)' >$@.tmp
	@chmod 755 $@.tmp
	@cmp -s $@.tmp $@ && rm $@.tmp || mv $@.tmp $@

check-integration: $(EPMDD) $(EPMDCTL) $(IT_BINS) $(SMALL_STATE)
	$(IT_ENV) tests/integration/run $(TESTS)

# The unit tests under valgrind, then the integration tests (VALGRIND=1).
check-valgrind: deps
	@$(MAKE) --no-print-directory $(UNIT_BIN) $(EPMDD) $(EPMDCTL)
	CK_FORK=no EPMDD_TEST_DATA=tests/data valgrind --leak-check=full \
		--error-exitcode=1 ./$(UNIT_BIN)
	@$(MAKE) --no-print-directory check-integration VALGRIND=1

# The Debian package, from debian/ on a copy of this tree (no build/, no
# .git: a package build is clean and its binaries say VERSION alone), into
# build/deb/.  debian/changelog's version must be VERSION plus a revision.
DEB_VERSION = $(shell dpkg-parsechangelog -S Version 2>/dev/null)
deb: deps-deb
	@v='$(DEB_VERSION)'; case "$$v" in $$(cat VERSION)-*) ;; *) \
		echo "deb: debian/changelog has $$v, VERSION $$(cat VERSION)" >&2; \
		exit 1;; esac
	rm -rf build/deb
	mkdir -p build/deb/epmdd-$(DEB_VERSION)
	tar -cf - --exclude=./build --exclude=./.git --exclude=./src/epmdd \
		--exclude=./src/epmdctl . | \
		tar -C build/deb/epmdd-$(DEB_VERSION) -xf -
	cd build/deb/epmdd-$(DEB_VERSION) && dpkg-buildpackage -b -us -uc \
		>../build.log 2>&1 || { tail -30 ../build.log; exit 1; }
	lintian --fail-on error,warning --info build/deb/*.changes
	@ls build/deb/*.deb

# The real-systemd suite (tests/systemd/run): root, and the Debian archive
# for the container image the first time (cached in build/systemd/image).
check-systemd: deps-systemd
	@$(MAKE) --no-print-directory all
	tests/systemd/run $(SYSTEMD_ARGS)

lint:
	mandoc -Tlint -Wwarning man/epmdd.8 man/epmdd.conf.5 man/epmdctl.1
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability \
		--inline-suppr -Isrc/core -Isrc/daemon -Isrc/cli src

# The service and a drop-in name the binaries by their installed paths.
build/epmdd.service: systemd/epmdd.service.in FORCE
	@mkdir -p $(@D)
	@sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@BINDIR@|$(BINDIR)|g' \
		systemd/epmdd.service.in >$@.tmp
	@cmp -s $@.tmp $@ && rm $@.tmp || mv $@.tmp $@
build/epmdd-metrics@.service: contrib/systemd/epmdd-metrics@.service.in FORCE
	@mkdir -p $(@D)
	@sed 's|@BINDIR@|$(BINDIR)|g' contrib/systemd/epmdd-metrics@.service.in \
		>$@.tmp
	@cmp -s $@.tmp $@ && rm $@.tmp || mv $@.tmp $@
build/cluster-policy.conf: contrib/systemd/cluster-policy.conf.in FORCE
	@mkdir -p $(@D)
	@sed 's|@SBINDIR@|$(SBINDIR)|g' contrib/systemd/cluster-policy.conf.in \
		>$@.tmp
	@cmp -s $@.tmp $@ && rm $@.tmp || mv $@.tmp $@

install: $(EPMDD) $(EPMDCTL) build/epmdd.service build/cluster-policy.conf \
		build/epmdd-metrics@.service
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) \
		$(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(MANDIR)/man5 \
		$(DESTDIR)$(MANDIR)/man1 \
		$(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(SYSTEMDUNITDIR) \
		$(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(DOCDIR)/systemd
	install -m 755 $(EPMDD) $(DESTDIR)$(SBINDIR)/epmdd
	install -m 755 $(EPMDCTL) $(DESTDIR)$(BINDIR)/epmdctl
	install -m 644 man/epmdd.8 $(DESTDIR)$(MANDIR)/man8/epmdd.8
	install -m 644 man/epmdd.conf.5 $(DESTDIR)$(MANDIR)/man5/epmdd.conf.5
	install -m 644 man/epmdctl.1 $(DESTDIR)$(MANDIR)/man1/epmdctl.1
	install -m 644 contrib/epmdctl.bash-completion \
		$(DESTDIR)$(BASHCOMPDIR)/epmdctl
	install -m 644 systemd/epmdd.socket build/epmdd.service \
		$(DESTDIR)$(SYSTEMDUNITDIR)/
	install -m 644 systemd/epmdd.sysusers \
		$(DESTDIR)$(SYSUSERSDIR)/epmdd.conf
	install -m 644 contrib/systemd/README \
		contrib/systemd/loopback-only.conf \
		contrib/systemd/cluster-address.conf \
		contrib/systemd/cluster-firewall.conf \
		contrib/systemd/rabbitmq-no-epmd.conf \
		contrib/systemd/epmdd-metrics.socket \
		build/epmdd-metrics@.service \
		build/cluster-policy.conf $(DESTDIR)$(DOCDIR)/systemd/
	install -m 644 contrib/epmdd.conf.example \
		$(DESTDIR)$(DOCDIR)/epmdd.conf.example

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/epmdd $(DESTDIR)$(BINDIR)/epmdctl \
		$(DESTDIR)$(MANDIR)/man8/epmdd.8 \
		$(DESTDIR)$(MANDIR)/man5/epmdd.conf.5 \
		$(DESTDIR)$(MANDIR)/man1/epmdctl.1 \
		$(DESTDIR)$(BASHCOMPDIR)/epmdctl \
		$(DESTDIR)$(SYSTEMDUNITDIR)/epmdd.socket \
		$(DESTDIR)$(SYSTEMDUNITDIR)/epmdd.service \
		$(DESTDIR)$(SYSUSERSDIR)/epmdd.conf \
		$(DESTDIR)$(DOCDIR)/systemd/README \
		$(DESTDIR)$(DOCDIR)/systemd/loopback-only.conf \
		$(DESTDIR)$(DOCDIR)/systemd/cluster-address.conf \
		$(DESTDIR)$(DOCDIR)/systemd/cluster-firewall.conf \
		$(DESTDIR)$(DOCDIR)/systemd/rabbitmq-no-epmd.conf \
		$(DESTDIR)$(DOCDIR)/systemd/cluster-policy.conf \
		$(DESTDIR)$(DOCDIR)/systemd/epmdd-metrics.socket \
		'$(DESTDIR)$(DOCDIR)/systemd/epmdd-metrics@.service' \
		$(DESTDIR)$(DOCDIR)/epmdd.conf.example

# The benchmark: OTP's epmd, epmdd and a floor server side by side; never
# part of make check.  BENCH_ARGS go to tests/bench/run (--runs 5...).
bench: deps-bench
	@$(MAKE) --no-print-directory all
	tests/bench/run --epmdd $(EPMDD) $(BENCH_ARGS)

# Handover stalls (issue 17) under the real systemd: the container of
# check-systemd, tests/systemd/handover; never part of any check.
# BENCH_SYSTEMD_ARGS go to it (--runs 5, --sizes, --phases...).
bench-systemd: deps-systemd
	@$(MAKE) --no-print-directory all
	tests/systemd/handover $(BENCH_SYSTEMD_ARGS)

# libFuzzer targets (clang): FUZZ_SECONDS each, seeds from tests/data.
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
FUZZ_FLAGS := -g -O1 -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=all -D_GNU_SOURCE $(CORE_INC)
# The fuzzers, like the unit tests, build from the core alone.
FUZZ_CODEC_SRC := tests/fuzz/fuzz_codec.c \
	$(addprefix src/core/,codec.c dispatch.c policy.c registry.c buf.c util.c)
FUZZ_CTL_SRC := tests/fuzz/fuzz_ctlproto.c \
	$(addprefix src/core/,ctlproto.c ctlschema.c buf.c util.c)
FUZZ_STATE_SRC := tests/fuzz/fuzz_state.c \
	$(addprefix src/core/,state.c registry.c codec.c buf.c util.c)
FUZZ_CONFIG_SRC := tests/fuzz/fuzz_config.c \
	$(addprefix src/core/,policy.c codec.c buf.c util.c)

build/fuzz/fuzz_codec: $(FUZZ_CODEC_SRC) $(wildcard src/core/*.h)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $(FUZZ_CODEC_SRC)

build/fuzz/fuzz_ctlproto: $(FUZZ_CTL_SRC) $(wildcard src/core/*.h)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $(FUZZ_CTL_SRC)

build/fuzz/fuzz_state: $(FUZZ_STATE_SRC) $(wildcard src/core/*.h)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $(FUZZ_STATE_SRC)

build/fuzz/fuzz_config: $(FUZZ_CONFIG_SRC) $(wildcard src/core/*.h)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $(FUZZ_CONFIG_SRC)

fuzz: build/fuzz/fuzz_codec build/fuzz/fuzz_ctlproto build/fuzz/fuzz_state \
		build/fuzz/fuzz_config
	rm -rf build/fuzz/seeds
	python3 tests/fuzz/seeds.py tests/data build/fuzz/seeds
	mkdir -p build/fuzz/corpus/codec build/fuzz/corpus/ctlproto \
		build/fuzz/corpus/state build/fuzz/corpus/config \
		tests/fuzz/regressions/state tests/fuzz/regressions/config
	build/fuzz/fuzz_codec -max_total_time=$(FUZZ_SECONDS) \
		-print_final_stats=1 build/fuzz/corpus/codec \
		build/fuzz/seeds/codec tests/fuzz/regressions/codec
	build/fuzz/fuzz_ctlproto -max_total_time=$(FUZZ_SECONDS) \
		-print_final_stats=1 build/fuzz/corpus/ctlproto \
		build/fuzz/seeds/ctlproto tests/fuzz/regressions/ctlproto
	build/fuzz/fuzz_state -max_total_time=$(FUZZ_SECONDS) \
		-print_final_stats=1 build/fuzz/corpus/state \
		build/fuzz/seeds/state tests/fuzz/regressions/state
	build/fuzz/fuzz_config -max_total_time=$(FUZZ_SECONDS) \
		-max_len=65536 -print_final_stats=1 build/fuzz/corpus/config \
		build/fuzz/seeds/config tests/fuzz/regressions/config

clean:
	rm -rf build src/epmdd src/epmdctl

-include $(CORE_OBJS:.o=.d) $(EPMDD_OBJS:.o=.d) $(CTL_OBJS:.o=.d) \
	$(UNIT_OBJS:.o=.d) \
	$(B)/small-state/state.d $(B)/small-state/persist.d
