#!/bin/bash
# SPDX-License-Identifier: MIT
# systemd.sh - what systemd sees of sockmux: the unit files pass `systemd-analyze verify`;
# the sd_notify protocol (READY=1 once listening, RELOADING=1 then READY=1 around a reload,
# accepted or rejected, STOPPING=1), read from a NOTIFY_SOCKET the test listens on; socket
# activation: a listening socket passed by systemd-socket-activate serves its listener.
. "$(dirname "$0")/lib.sh"
e2e_init "$@"

CTL=$T_DIR/control.sock
CONF=$T_DIR/smx.conf
cat >"$CONF" <<CONF
listen = ( { address = "127.0.0.1:8443"; } );
backends = { a = { address = "127.0.0.1:9001"; }; };
routes = ( { backend = "a"; } );
control = "$CTL";
CONF

if command -v systemd-analyze >/dev/null; then
	for u in sockmux.service sockmux.socket; do
		sed -e "s|@SBINDIR@|$(dirname "$SOCKMUX")|" -e "s|@SYSCONFDIR@|/etc|" \
			"$SMX_TOP/dist/$u" >"$T_DIR/$u"
	done
	systemd-analyze verify --man=no "$T_DIR/sockmux.service" "$T_DIR/sockmux.socket" \
		>"$T_DIR/verify.log" 2>&1
	check "dist/sockmux.service and sockmux.socket pass systemd-analyze verify" test $? = 0
	check "the unit is Type=notify with ExecReload and hardening" \
		sh -c "grep -q '^Type=notify' '$T_DIR/sockmux.service' &&
		       grep -q '^ExecReload=.*sockmux reload' '$T_DIR/sockmux.service' &&
		       grep -q '^CapabilityBoundingSet=' '$T_DIR/sockmux.service' &&
		       grep -q '^NoNewPrivileges=yes' '$T_DIR/sockmux.service' &&
		       grep -q '^ProtectSystem=strict' '$T_DIR/sockmux.service'"
else
	ok "systemd-analyze verify # SKIP systemd-analyze not installed"
	ok "unit content # SKIP systemd-analyze not installed"
fi

start_peer_server 127.0.0.1:9001 a || not_ok "peer a starts"

# a datagram socket standing in for systemd's notification socket: one line per message
NOTES=$T_DIR/notify.log
bg "$T_DIR/notify-listener.log" perl -MIO::Socket::UNIX -MSocket -e '
	$| = 1;
	my $s = IO::Socket::UNIX->new(Type => SOCK_DGRAM, Local => $ARGV[0]) or die "$!";
	open(my $o, ">>", $ARGV[1]) or die; $o->autoflush(1);
	while (defined $s->recv(my $m, 4096)) { $m =~ s/\n/ /g; print $o "$m\n"; }' \
	"$T_DIR/notify.sock" "$NOTES"
for ((i = 0; i < 40; i++)); do [ -S "$T_DIR/notify.sock" ] && break; sleep 0.05; done

NOTIFY_SOCKET=$T_DIR/notify.sock start_sockmux "$CONF" splice
check "sd_notify: READY=1 once the listeners are up, with a STATUS" \
	wait_for "$NOTES" '^READY=1 STATUS=serving 1 listener' 5
"$PEER" client --connect 127.0.0.1:8443 --sni x.example.org --up 1000 --down 1000 \
	--expect-tag a >/dev/null 2>&1
check "it serves" test $? = 0
kill -HUP "$SMX_PID"
check "sd_notify: SIGHUP sends RELOADING=1 with MONOTONIC_USEC" \
	wait_for "$NOTES" '^RELOADING=1 MONOTONIC_USEC=[0-9]+' 5
check "sd_notify: ... then READY=1 with the new configuration" \
	wait_for "$NOTES" '^READY=1 STATUS=serving configuration 2' 5
echo 'routes = oops' >>"$CONF"
"$SOCKMUX" reload --control "$CTL" >/dev/null 2>&1
check "sd_notify: a rejected reload also ends with READY=1, saying so" \
	wait_for "$NOTES" '^READY=1 STATUS=reload rejected: .*smx.conf:[0-9]+$' 5
diag "$(tr '\n' '|' <"$NOTES")"
stop_sockmux "notify"
check "sd_notify: STOPPING=1 at stop" grep -q '^STOPPING=1' "$NOTES"
sed -i '$d' "$CONF"

if command -v systemd-socket-activate >/dev/null; then
	# systemd-socket-activate binds 8443 and starts sockmux at the first connection
	SMX_LOG=$T_DIR/activated.log
	bg "$SMX_LOG" systemd-socket-activate -l 127.0.0.1:8443 \
		"$SOCKMUX" run -c "$CONF" --engine splice
	SMX_PID=$BG_PID
	sleep 0.3
	"$PEER" client --connect 127.0.0.1:8443 --sni x.example.org --up 100000 --down 100000 \
		--expect-tag a >/dev/null 2>&1
	check "socket activation: the first connection is served through the passed socket" \
		test $? = 0
	check "socket activation: the log says the listener's socket came from systemd" \
		grep -q 'listening on 127.0.0.1:8443 (socket from systemd)' "$SMX_LOG"
	"$PEER" client --connect 127.0.0.1:8443 --sni x.example.org --up 100000 --down 100000 \
		--expect-tag a >/dev/null 2>&1
	check "socket activation: and the next ones" test $? = 0
	stop_sockmux "socket-activated"
else
	ok "socket activation # SKIP systemd-socket-activate not installed"
fi
