#!/bin/bash
# SPDX-License-Identifier: MIT
# engine.sh - which engine runs, and the first log lines say which and why: auto runs splice
# and names the reason the sockmap engine is not the default, with or without the BPF
# capabilities (here dropped: CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN); an explicit
# --engine sockmap that cannot load is an error, not a silent fallback; connections work
# either way.
. "$(dirname "$0")/lib.sh"
e2e_init "$@"

cat >"$T_DIR/smx.conf" <<CONF
listen = ( { address = "127.0.0.1:8443"; } );
backends = { b = { address = "127.0.0.1:9001"; }; };
routes = ( { backend = "b"; } );
CONF
start_peer_server 127.0.0.1:9001 b || not_ok "peer starts"
NOBPF=(setpriv --inh-caps=-bpf,-perfmon,-sys_admin --bounding-set=-bpf,-perfmon,-sys_admin)

through() {
	"$PEER" client --connect 127.0.0.1:8443 --sni a.example --up 1000000 --down 1000000 \
		--expect-tag b >"$T_DIR/c.out" 2>&1
}

start_sockmux "$T_DIR/smx.conf" auto smx-auto || not_ok "auto starts"
check "auto: first engine line says splice and why sockmap is not the default" \
	sh -c "grep -m1 'engine:' '$SMX_LOG' | grep -q 'engine: splice (auto): .*is not the default: .*CPU'"
through
check "auto, BPF allowed: a connection goes through" test $? = 0
sleep 0.2
check "auto, BPF allowed: logged with engine=splice" \
	test "$(field "$(conn_lines | tail -n 1)" engine)" = splice
stop_sockmux auto

SMX_LOG=$T_DIR/smx-nobpf.log
bg "$SMX_LOG" "${NOBPF[@]}" "$SOCKMUX" run -c "$T_DIR/smx.conf"
SMX_PID=$BG_PID
wait_for "$SMX_LOG" 'listening on' 10 || not_ok "auto without BPF starts"
diag "$(grep -m1 'engine:' "$SMX_LOG")"
check "auto, no BPF capabilities: runs splice and says so" \
	sh -c "grep -m1 'engine:' '$SMX_LOG' | grep -q 'engine: splice (auto)'"
through
check "auto, no BPF capabilities: a connection goes through" test $? = 0
sleep 0.2
check "auto, no BPF capabilities: logged with engine=splice" \
	test "$(field "$(conn_lines | tail -n 1)" engine)" = splice
stop_sockmux "auto without BPF"

out=$("${NOBPF[@]}" "$SOCKMUX" run -c "$T_DIR/smx.conf" --engine sockmap 2>&1)
rc=$?
diag "$(grep 'engine' <<<"$out" | head -n 1)"
check "--engine sockmap without BPF: exit 1 with the reason, no silent fallback" \
	test "$rc" = 1 -a -n "$(grep 'engine: sockmap cannot run' <<<"$out")"

start_sockmux "$T_DIR/smx.conf" sockmap smx-sockmap || not_ok "sockmap starts"
check "--engine sockmap: says so, with back-pressure, and warns of nothing" \
	sh -c "grep -q 'engine: sockmap (chosen with --engine sockmap).*with back-pressure' '$SMX_LOG' &&
		! grep -q 'warning: engine' '$SMX_LOG'"
through
check "--engine sockmap: a connection goes through, logged with engine=sockmap" \
	test $? = 0 -a "$(sleep 0.2; field "$(conn_lines | tail -n 1)" engine)" = sockmap
stop_sockmux sockmap

start_sockmux "$T_DIR/smx.conf" sockmap-unbounded smx-unbounded || not_ok "unbounded starts"
check "--engine sockmap-unbounded warns that it is for measurements only" \
	grep -q "warning: engine: sockmap-unbounded.*measurements only" "$SMX_LOG"
stop_sockmux sockmap-unbounded
