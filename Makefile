# SPDX-License-Identifier: MIT
# sockmux build. `make` builds ./sockmux; `make test` installs what is missing and runs every
# test; `make demo` runs the built-in example. Generated files live in .output/ only.

OUTPUT    ?= .output
CC        ?= gcc
CLANG     ?= clang
BPFTOOL   ?= bpftool
PROVE     ?= prove

ARCH      := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
VERSION   := $(shell git describe --always --dirty 2>/dev/null || echo 0.1)

WARN      := -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter -Wformat=2
# CFLAGS and LDFLAGS are the user's to override; what the build needs is in SMX_CFLAGS.
CFLAGS    ?= -O2 -g
SMX_CFLAGS := $(WARN) -std=gnu11 -D_GNU_SOURCE -pthread -Iinclude -Iuser -I$(OUTPUT) \
	     -DSOCKMUX_VERSION='"$(VERSION)"' $(EXTRA_CFLAGS)
LDLIBS    := -lbpf -lelf -lz -lconfig -lmicrohttpd -lsystemd -lpcre2-8 -lssl -lcrypto -lm -lpthread
SMX_LDFLAGS := $(LDFLAGS) $(EXTRA_LDFLAGS)

BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Ivmlinux -Iinclude -Wall -Werror

BPF_SRCS  := $(wildcard bpf/*.bpf.c)
SKELS     := $(patsubst bpf/%.bpf.c,$(OUTPUT)/%.skel.h,$(BPF_SRCS))
# Every .c under user/ (one folder level: sniff/, engine/, transport/, ops/) is part of the daemon.
USER_SRCS := $(wildcard user/*.c user/*/*.c)
USER_HDRS := $(wildcard user/*.h user/*/*.h)
LIB_SRCS  := $(filter-out user/main.c,$(USER_SRCS))
LIB_OBJS  := $(patsubst user/%.c,$(OUTPUT)/user/%.o,$(LIB_SRCS))
# The fuzz targets link an instrumented archive of the same sources: the linker takes only the
# objects a target needs (the pure parsers and matchers), so no list of them is kept here,
# and a parser that grew a dependency on I/O or BPF would no longer link.
FUZZ_OBJS := $(patsubst user/%.c,$(OUTPUT)/fuzz/obj/%.o,$(LIB_SRCS))

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(OUTPUT)/tests/%,$(UNIT_SRCS))
TOOL_SRCS := $(wildcard tests/tools/*.c)
TOOL_BINS := $(patsubst tests/tools/%.c,$(OUTPUT)/tests/%,$(TOOL_SRCS))
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(patsubst tests/fuzz/%.c,$(OUTPUT)/fuzz/%,$(FUZZ_SRCS))

.PHONY: all clean test unit fuzz asan demo vmlinux deps install bench check-tools soak fuzz-long
.DELETE_ON_ERROR:
# keep generated skeletons and BPF objects (make would delete them as intermediates)
.SECONDARY: $(SKELS) $(SKELS:.skel.h=.bpf.o)

all: sockmux

# copy then rename: replaces the binary even while an old one runs
sockmux: $(OUTPUT)/sockmux
	cp $< $@.tmp && mv -f $@.tmp $@

$(OUTPUT)/sockmux: $(OUTPUT)/user/main.o $(OUTPUT)/libsockmux.a
	$(CC) $(CFLAGS) $(SMX_CFLAGS) $(SMX_LDFLAGS) -o $@ $^ $(LDLIBS)

$(OUTPUT)/libsockmux.a: $(LIB_OBJS)
	$(AR) rcs $@ $^

$(OUTPUT)/user/%.o: user/%.c $(USER_HDRS) $(wildcard include/*.h) $(SKELS) | $(OUTPUT)/user
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SMX_CFLAGS) -c $< -o $@

$(OUTPUT)/%.bpf.o: bpf/%.bpf.c $(wildcard include/*.h) vmlinux/vmlinux.h | $(OUTPUT)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@
	llvm-strip -g $@ 2>/dev/null || true

$(OUTPUT)/%.skel.h: $(OUTPUT)/%.bpf.o
	$(BPFTOOL) gen skeleton $< > $@

$(OUTPUT) $(OUTPUT)/user $(OUTPUT)/tests $(OUTPUT)/fuzz:
	mkdir -p $@

# vmlinux.h is committed; regenerate it only on purpose.
vmlinux:
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > vmlinux/vmlinux.h

# --- tests -------------------------------------------------------------------------------
$(OUTPUT)/tests/test_%: tests/unit/test_%.c tests/unit/tap.h $(OUTPUT)/libsockmux.a $(USER_HDRS) | $(OUTPUT)/tests
	$(CC) $(CFLAGS) $(SMX_CFLAGS) -Itests/unit -DFIXTURES='"$(CURDIR)/tests/fixtures"' $(SMX_LDFLAGS) \
		-o $@ $< $(OUTPUT)/libsockmux.a $(LDLIBS)

$(OUTPUT)/tests/%: tests/tools/%.c $(wildcard tests/tools/*.h) | $(OUTPUT)/tests
	$(CC) $(CFLAGS) $(SMX_CFLAGS) $(SMX_LDFLAGS) -o $@ $< -lcrypto -lpthread

FUZZ_SAN    := -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS := -g -O1 $(FUZZ_SAN) -Wall -Wextra -Werror -Wno-unused-parameter -std=gnu11 \
	       -D_GNU_SOURCE -pthread -Iinclude -Iuser -I$(OUTPUT) -DSOCKMUX_VERSION='"fuzz"'
$(OUTPUT)/fuzz/obj/%.o: user/%.c $(USER_HDRS) $(wildcard include/*.h) $(SKELS)
	@mkdir -p $(dir $@)
	$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@
$(OUTPUT)/fuzz/libsockmux-fuzz.a: $(FUZZ_OBJS)
	$(AR) rcs $@ $^
$(OUTPUT)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(OUTPUT)/fuzz/libsockmux-fuzz.a | $(OUTPUT)/fuzz
	$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(OUTPUT)/fuzz/libsockmux-fuzz.a -lconfig -lpcre2-8 -lm

unit: $(UNIT_BINS)
tools: $(TOOL_BINS)
fuzz: $(FUZZ_BINS)

# Installs whatever is missing (Debian packages), builds, and runs every test through prove.
test:
	scripts/install-deps.sh --test
	$(MAKE) all unit tools fuzz
	tests/run

# Sanitizer build of the daemon and the unit tests, in its own output directory.
asan:
	$(MAKE) OUTPUT=.output/asan EXTRA_CFLAGS='-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined' \
		EXTRA_LDFLAGS='-fsanitize=address,undefined' CFLAGS='-O1 -g' .output/asan/sockmux unit-asan
unit-asan: $(UNIT_BINS)

demo:
	scripts/install-deps.sh
	$(MAKE) all
	scripts/demo.sh

bench:
	scripts/install-deps.sh --bench
	$(MAKE) all tools
	tools/bench/run $(BENCH_ARGS)

deps:
	scripts/install-deps.sh --test

# Long runs, not part of `make test`: random faults through both engines against the direct
# run (SOAK_ROUNDS rounds of SOAK_LANES concurrent cases), then the sockmap back-pressure
# soak; and each fuzz target for FUZZ_MINUTES under ASan/UBSan, its corpus minimized after.
SOAK_ROUNDS ?= 50
SOAK_LANES ?= 4
soak:
	scripts/install-deps.sh --test
	$(MAKE) all tools
	tools/soak/fault-soak.sh $(SOAK_ROUNDS) $(SOAK_LANES)
	tools/soak/sockmap-soak.sh $(SOAK_ROUNDS)

FUZZ_MINUTES ?= 10
fuzz-long:
	scripts/install-deps.sh --test
	$(MAKE) fuzz
	tests/fuzz/fuzz-long.sh $(FUZZ_MINUTES)

# The binary, the man pages and the systemd units (whose paths follow SBINDIR and SYSCONFDIR).
PREFIX ?= /usr/local
SBINDIR ?= $(PREFIX)/sbin
MANDIR ?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
install: sockmux
	install -D -m 0755 sockmux $(DESTDIR)$(SBINDIR)/sockmux
	install -D -m 0644 man/sockmux.8 $(DESTDIR)$(MANDIR)/man8/sockmux.8
	install -D -m 0644 man/sockmux.conf.5 $(DESTDIR)$(MANDIR)/man5/sockmux.conf.5
	install -d $(DESTDIR)$(SYSTEMDUNITDIR)
	sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' dist/sockmux.service \
		> $(DESTDIR)$(SYSTEMDUNITDIR)/sockmux.service
	chmod 0644 $(DESTDIR)$(SYSTEMDUNITDIR)/sockmux.service
	install -m 0644 dist/sockmux.socket $(DESTDIR)$(SYSTEMDUNITDIR)/sockmux.socket

clean:
	rm -rf $(OUTPUT) sockmux
