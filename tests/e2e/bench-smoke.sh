#!/bin/bash
# SPDX-License-Identifier: MIT
# bench-smoke.sh - the benchmark harness (tools/bench/run) runs end to end at tiny sizes:
# every contender (the direct connection, sockmux with each engine, HAProxy, nginx, sslh,
# sniproxy) passed the routing check and produced figures in every measurement, on veth and
# on loopback. Asserts nothing about the figures themselves. One TAP line per contender.
. "$(dirname "$0")/lib.sh"

CONTENDERS="direct sockmux-sockmap sockmux-splice haproxy nginx sslh sniproxy"
# the unbounded sockmap engine, the harness's control, where this sockmux has it
if "$SOCKMUX" run --help 2>&1 | grep -q sockmap-unbounded; then
	CONTENDERS="$CONTENDERS sockmux-unbounded"
fi
# phase:test:the figure that test must produce
FIGURES="veth:bulk1-up:gbps veth:bulk1-down:gbps veth:bulk4-up:gbps veth:bulk4-down:gbps
	 veth:rr:p99_us veth:cps:cps veth:paced:cpu_per_gib veth:idle:kernel_b_per_conn
	 veth:slow:held_peak_mib lo:bulk1-up:gbps lo:rr:p99_us"

# The peers come from Debian: install them before entering the private namespace, where
# there is no network.
if [ "$(id -u)" = 0 ] && [ -z "${SMX_IN_NETNS:-}" ]; then
	"$SMX_TOP/scripts/install-deps.sh" --bench >&2 || true
fi
e2e_init "$@"

missing=""
for b in haproxy nginx sslh-select sniproxy; do
	command -v "$b" >/dev/null 2>&1 || missing="$missing $b"
done
if [ -n "$missing" ]; then
	for c in $CONTENDERS; do
		ok "bench: $c # SKIP not installed and could not be installed:$missing"
	done
	exit 0
fi

out=$T_DIR/bench
start=$(date +%s)
"$SMX_TOP/tools/bench/run" --quick --smoke --out "$out" >"$T_DIR/bench.log" 2>&1
rc=$?
secs=$(($(date +%s) - start))
diag "tools/bench/run --quick --smoke: exit $rc in $secs s"
if [ "$rc" != 0 ] || [ ! -s "$out/raw.txt" ]; then
	tail -n 30 "$T_DIR/bench.log" | sed 's/^/# /'
fi

# has_figure PHASE TEST WHO KEY: raw.txt has a good line for it with a numeric KEY
has_figure() {
	grep -E "^phase=$1 test=$2 who=$3 " "$out/raw.txt" 2>/dev/null |
		grep -E '(^| )ok=1( |$)' | grep -qE "(^| )$4=-?[0-9.]+( |$)"
}

for c in $CONTENDERS; do
	lacking=""
	for f in $FIGURES; do
		IFS=: read -r ph t key <<<"$f"
		has_figure "$ph" "$t" "$c" "$key" || lacking="$lacking $ph/$t"
	done
	if [ "$c" != direct ]; then
		for ph in veth lo; do
			for t in route-sni route-default; do
				has_figure "$ph" "$t" "$c" p50_us || lacking="$lacking $ph/$t"
			done
		done
	fi
	[ -s "$out/results.md" ] || lacking="$lacking results.md"
	if [ -z "$lacking" ]; then
		ok "bench: $c routed and produced every figure"
	else
		not_ok "bench: $c routed and produced every figure (missing:$lacking)"
	fi
done
if [ "$T_FAILED" -gt 0 ]; then
	grep -E '^[0-9:]{8} ' "$T_DIR/bench.log" | tail -n 20 | sed 's/^/# /'
fi
