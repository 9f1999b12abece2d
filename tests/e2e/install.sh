#!/bin/bash
# SPDX-License-Identifier: MIT
# install.sh - `make install` into a staging directory: the binary, both man pages and the
# systemd units with their paths filled in; the man pages render without a groff warning.
. "$(dirname "$0")/lib.sh"
e2e_init "$@"

ROOT=$T_DIR/root
make -s -C "$SMX_TOP" install DESTDIR="$ROOT" PREFIX=/usr SYSCONFDIR=/etc \
	SYSTEMDUNITDIR=/lib/systemd/system >"$T_DIR/install.log" 2>&1
check "make install DESTDIR=... PREFIX=/usr succeeds" test $? = 0
check "the binary: /usr/sbin/sockmux, executable, runs" \
	sh -c "test -x '$ROOT/usr/sbin/sockmux' && '$ROOT/usr/sbin/sockmux' version | grep -q '^sockmux '"
check "the man pages: sockmux(8) and sockmux.conf(5)" \
	test -f "$ROOT/usr/share/man/man8/sockmux.8" -a -f "$ROOT/usr/share/man/man5/sockmux.conf.5"
for m in man8/sockmux.8 man5/sockmux.conf.5; do
	out=$(groff -man -ww -z "$ROOT/usr/share/man/$m" 2>&1)
	check "$m renders without warnings" test -z "$out"
done
check "sockmux(8) documents every command and SIGHUP" \
	sh -c "MANWIDTH=100 man -l '$ROOT/usr/share/man/man8/sockmux.8' 2>/dev/null | tr -s ' ' >'$T_DIR/m8' &&
	       for w in run check route stats top reload version SIGHUP CAP_NET_BIND_SERVICE; do
		grep -qw \$w '$T_DIR/m8' || exit 1; done"
check "sockmux.conf(5) documents every top-level key" \
	sh -c "MANWIDTH=100 man -l '$ROOT/usr/share/man/man5/sockmux.conf.5' 2>/dev/null >'$T_DIR/m5' &&
	       for k in listen backends routes timeouts workers max_connections control metrics user; do
		grep -qw \$k '$T_DIR/m5' || exit 1; done"
U=$ROOT/lib/systemd/system
check "the units: sockmux.service and sockmux.socket" test -f "$U/sockmux.service" -a -f "$U/sockmux.socket"
check "sockmux.service: paths filled in, no placeholder left" \
	sh -c "grep -q '^ExecStart=/usr/sbin/sockmux run -c /etc/sockmux/sockmux.conf$' '$U/sockmux.service' &&
	       grep -q '^ExecReload=/usr/sbin/sockmux reload -c /etc/sockmux/sockmux.conf$' '$U/sockmux.service' &&
	       ! grep -qE '@(SBINDIR|SYSCONFDIR)@' '$U/sockmux.service'"
