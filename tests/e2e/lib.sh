# SPDX-License-Identifier: MIT
# lib.sh - shared helpers for sockmux's end-to-end tests (sourced, not run).
#
# Every test re-executes itself in a private network namespace (unshare -n) holding only its
# own loopback, so its traffic never leaves it and nothing outlives it. Output is TAP 13.
# Processes a test starts are tracked by PID and ended by PID on exit.

SMX_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SOCKMUX=${SOCKMUX:-$SMX_TOP/sockmux}
PEER=$SMX_TOP/.output/tests/smx-peer
FIXTURES=$SMX_TOP/tests/fixtures
T_N=0
T_FAILED=0
T_PIDS=()

e2e_init() {
	if [ "$(id -u)" != 0 ]; then
		echo "1..0 # SKIP needs root (network namespaces, BPF)"
		exit 0
	fi
	if [ -z "${SMX_IN_NETNS:-}" ]; then
		SMX_IN_NETNS=1 exec unshare -n -- "$0" "$@"
	fi
	ip link set lo up
	T_DIR=$(mktemp -d /tmp/smx-e2e.XXXXXX)
	trap e2e_cleanup EXIT
	echo "TAP version 13"
}

e2e_cleanup() {
	local pid
	for pid in "${T_PIDS[@]}"; do
		kill "$pid" 2>/dev/null
	done
	for pid in "${T_PIDS[@]}"; do
		wait "$pid" 2>/dev/null
	done
	if [ "$T_FAILED" -gt 0 ] && [ -d "$T_DIR" ]; then
		for f in "$T_DIR"/*.log; do
			[ -f "$f" ] || continue
			echo "# --- $f (last 30 lines)"
			tail -n 30 "$f" | sed 's/^/#   /'
		done
	fi
	rm -rf "$T_DIR"
	echo "1..$T_N"
}

ok() { T_N=$((T_N + 1)); echo "ok $T_N - $*"; }
not_ok() { T_N=$((T_N + 1)); T_FAILED=$((T_FAILED + 1)); echo "not ok $T_N - $*"; }
diag() { echo "# $*"; }

# check NAME CMD...: one TAP line from a command's exit status.
check() {
	local name=$1
	shift
	if "$@"; then ok "$name"; else not_ok "$name"; fi
}

# check_todo REASON NAME CMD...: like check, for a known bug (TAP "# TODO"): reported, run
# every time, but not counted as a failure until the bug is fixed.
check_todo() {
	local reason=$1 name=$2
	shift 2
	T_N=$((T_N + 1))
	if "$@"; then
		echo "ok $T_N - $name # TODO $reason"
	else
		echo "not ok $T_N - $name # TODO $reason"
	fi
}

# bg LOGFILE CMD...: start CMD in the background with output to LOGFILE; its PID in $BG_PID.
bg() {
	local log=$1
	shift
	"$@" >"$log" 2>&1 &
	BG_PID=$!
	T_PIDS+=("$BG_PID")
}

# stop_pid PID: SIGTERM, then wait for it; returns its exit status.
stop_pid() {
	kill -TERM "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}

# wait_for FILE PATTERN [SECONDS]: wait until FILE has a line matching PATTERN.
wait_for() {
	local i tries=$(( ${3:-10} * 20 ))
	for ((i = 0; i < tries; i++)); do
		grep -qE "$2" "$1" 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

# start_peer_server ADDR TAG [extra args]: an smx-peer backend; waits until it listens.
start_peer_server() {
	local addr=$1 tag=$2
	shift 2
	bg "$T_DIR/peer-$tag.log" "$PEER" server --listen "$addr" --tag "$tag" "$@"
	wait_for "$T_DIR/peer-$tag.log" '^listening' 5
}

# start_sockmux CONFIG ENGINE [NAME]: runs sockmux; waits for its listeners. PID in SMX_PID,
# log in SMX_LOG.
start_sockmux() {
	local name=${3:-sockmux} conf=$1 engine=$2
	SMX_LOG=$T_DIR/$name.log
	if [ "$engine" = sockmap-now ]; then
		# the sockmap engine taking each connection at its hand-off, not after
		# sockmap_after_bytes carried by splice: its own path from the first byte
		conf=$T_DIR/$name-now.conf
		{ cat "$1"; echo 'sockmap_after_bytes = 0;'; } >"$conf"
		engine=sockmap
	fi
	bg "$SMX_LOG" "$SOCKMUX" run -c "$conf" --engine "$engine"
	SMX_PID=$BG_PID
	wait_for "$SMX_LOG" 'listening on' 10
}

# stop_sockmux: SIGTERM to sockmux, then one TAP line: it stopped cleanly, exit status 0,
# and no sanitizer report in its log (CI also runs these tests on the ASan/UBSan build).
stop_sockmux() {
	local rc
	stop_pid "$SMX_PID"
	rc=$?
	if [ "$rc" = 0 ] && grep -q ' stopped$' "$SMX_LOG" &&
		! grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' "$SMX_LOG"; then
		ok "${1:-sockmux}: stops cleanly on SIGTERM (exit 0, no sanitizer report)"
	else
		not_ok "${1:-sockmux}: stops cleanly on SIGTERM (exit $rc)"
	fi
}

# smx_map_entries NAME: entries in the running sockmux's BPF map NAME (by the id it logged)
smx_map_entries() {
	local id
	id=$(grep -oE "$1 id [0-9]+" "$SMX_LOG" | head -n 1 | grep -oE '[0-9]+$')
	[ -n "$id" ] || { echo -1; return; }
	bpftool map dump id "$id" 2>/dev/null | grep -c '"key":'
}

# smx_prog_id: the running sockmux's verdict program id (as it logged it)
smx_prog_id() { grep -oE "peer_or_pass id [0-9]+" "$SMX_LOG" | head -n 1 | grep -oE '[0-9]+$'; }

# conn_lines: sockmux's per-connection log lines so far.
conn_lines() { grep -E ' conn=[0-9]+ ' "$SMX_LOG"; }

# upload_arrived CLIENT_OUT SIZE PEER_LOG...: a backend logged receiving SIZE bytes (a number
# or an ERE) whose sha256 is what the client logged for what it sent.
upload_arrived() {
	local out=$1 size=$2 sha
	shift 2
	sha=$(grep -oE 'sent_sha256=[0-9a-f]+' "$out" | cut -d= -f2)
	[ -n "$sha" ] && grep -qE "recv=$size recv_sha256=$sha" "$@"
}

# field LINE KEY: the value of key=value in a log line.
field() { grep -oE "(^| )$2=[^ ]*" <<<"$1" | head -n 1 | cut -d= -f2-; }

# self-signed certificate CN=$2 into $1.crt / $1.key
make_cert() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-subj "/CN=$2" -addext "subjectAltName=DNS:$2,DNS:*.$2" \
		-keyout "$1.key" -out "$1.crt" >/dev/null 2>&1
}
