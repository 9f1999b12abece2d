#!/bin/bash
# SPDX-License-Identifier: MIT
# netfaults.sh - every byte arrives once and in order over a faulty network: 1 GiB each way at
# once (SMX_NETFAULT_BYTES) through sockmux, on both engines, with 1 % loss and every packet
# duplicated on one leg while the other delays every frame 20 ms each way
# (SMX_NETFAULT_DELAY_MS) and reorders some; then the legs swap, so that each engine meets
# each fault on each leg.
#
# This kernel has no netem. Each leg runs from an end (client or server) over a veth pair to
# a router namespace, and from the router to sockmux's namespace over one of two links:
#
#   client -veth- r1 -veth----------- sockmux -----------veth- r2 -veth- server
#                    =TAP=bridge=TAP=          =TAP=bridge=TAP=
#
# A lossy leg uses its veth link:
#   loss         nftables in the router's forward hook: numgen random mod 100 < 1, drop;
#   duplication  tc u32 + mirred at both receiving ends of the leg, after the loss: every
#                IPv4 packet also goes to the ingress of lo (as repeats.sh does).
# A delayed leg uses its TAP link, through tests/tools/smx-tapbridge.c (user space):
#   delay        every frame waits SMX_NETFAULT_DELAY_MS, each way;
#   reordering   every 50th frame waits 2 ms more, so the frames behind it overtake it.
# The ends and sockmux's veths send one segment per skb (gso_max_segs 1), so what is
# dropped, duplicated or reordered is one wire frame, not a 64 KiB GSO burst.
#
# Each run checks what both ends received (every byte against the PRNG stream, in order, and
# the SHA-256 of each direction against what the other end sent), sockmux's log line for the
# connection (closed, exact byte counts), that each fault really happened (nft and tc
# counters, the bridge's counts, TCP's RTT and out-of-order queue), and that the bridges lost
# no frame. About 4-5 minutes on 2 cores with the default 1 GiB; SMX_NETFAULT_BYTES should be
# at least 16 MiB (the loss check wants 10000 forwarded packets). Needs nft (nftables).
. "$(dirname "$0")/lib.sh"
e2e_init "$@"

BYTES=${SMX_NETFAULT_BYTES:-1073741824}
DELAY_MS=${SMX_NETFAULT_DELAY_MS:-20}
RUN_TIMEOUT=${SMX_NETFAULT_TIMEOUT:-600}
LOSS_PCT=1
REORDER_EVERY=50
REORDER_MS=2
SNI=www.example.org
VIP=198.18.0.1
BRIDGE=$SMX_TOP/.output/tests/smx-tapbridge

skip() {
	echo "ok 1 # SKIP $*"
	T_N=1
	exit 0
}
for tool in nft tc nstat ss nsenter; do
	command -v "$tool" >/dev/null || skip "$tool is not installed (nftables, iproute2, util-linux)"
done
[ -c /dev/net/tun ] || skip "no /dev/net/tun"
[ -x "$BRIDGE" ] || skip "$BRIDGE is not built (make tools)"

# --- namespaces -----------------------------------------------------------------------------
# Each is held by a sleep of ours; it goes with that process and what was started in it.
# "p" is the test's own namespace, where sockmux and the bridges run.
declare -A NS

# in_ns NAME CMD...: CMD in namespace NAME
in_ns() {
	local ns=$1
	shift
	if [ "$ns" = p ]; then "$@"; else nsenter -t "${NS[$ns]}" -n -- "$@"; fi
}

# ns_init NAME: no IPv6 (no stray frames), nothing cached between runs, and TCP buffers for a
# 40 ms RTT; receive buffers of 8 MiB at most keep a window (about 3500 frames) within what
# the TAP devices queue, so the delayed leg loses nothing even when the bridge falls behind
ns_init() {
	in_ns "$1" ip link set lo up &&
	in_ns "$1" sysctl -q -w net.ipv6.conf.all.disable_ipv6=1 \
		net.ipv6.conf.default.disable_ipv6=1 net.ipv4.conf.all.rp_filter=0 \
		net.ipv4.conf.default.rp_filter=0 net.ipv4.conf.lo.rp_filter=0 \
		net.ipv4.tcp_no_metrics_save=1 \
		net.ipv4.tcp_rmem="4096 131072 8388608" net.ipv4.tcp_wmem="4096 65536 16777216"
}

ns_new() {
	local i
	bg /dev/null unshare -n sleep infinity
	NS[$1]=$BG_PID
	for ((i = 0; i < 200; i++)); do
		[ "$(readlink "/proc/$BG_PID/ns/net")" != "$(readlink /proc/self/ns/net)" ] && break
		sleep 0.01
	done
	ns_init "$1"
}

# veth NS_A DEV_A ADDR_A NS_B DEV_B ADDR_B: a veth pair, each end addressed (/24) and up
veth() {
	ip link add "$2" netns "${NS[$1]:-$$}" type veth peer name "$5" netns "${NS[$4]:-$$}" &&
	in_ns "$1" ip addr add "$3/24" dev "$2" && in_ns "$1" ip link set "$2" gso_max_segs 1 up &&
	in_ns "$4" ip addr add "$6/24" dev "$5" && in_ns "$4" ip link set "$5" gso_max_segs 1 up
}

setup_topology() {
	ns_init p && ns_new c && ns_new r1 && ns_new r2 && ns_new s &&
	in_ns r1 sysctl -q -w net.ipv4.ip_forward=1 &&
	in_ns r2 sysctl -q -w net.ipv4.ip_forward=1 &&
	ip addr add "$VIP/32" dev lo &&
	veth c vc 198.18.1.1 r1 vr1 198.18.1.254 &&
	veth p wp1 198.18.2.1 r1 wr1 198.18.2.254 &&
	veth s vs 198.18.3.1 r2 vr2 198.18.3.254 &&
	veth p wp2 198.18.4.1 r2 wr2 198.18.4.254 &&
	in_ns c ip route add default via 198.18.1.254 &&
	in_ns s ip route add default via 198.18.3.254
}

# --- the links between the routers and sockmux ----------------------------------------------
# TAP link of leg L: t<L>r (router, 198.18.<L+4>.254) and t<L>p (here, 198.18.<L+4>.1)

# use_veth L: leg L's traffic between its router and sockmux takes the veth link
use_veth() {
	if [ "$1" = 1 ]; then
		ip route replace 198.18.1.0/24 via 198.18.2.254 &&
		in_ns r1 ip route replace "$VIP/32" via 198.18.2.1
	else
		ip route replace 198.18.3.0/24 via 198.18.4.254
	fi
}

# use_tap L: starts leg L's tapbridge (delay and reordering), its traffic takes the TAP link
declare -A BRIDGE_PID BRIDGE_LOG BRIDGE_STATS
use_tap() {
	local l=$1 net=198.18.$(($1 + 4))
	BRIDGE_LOG[$l]=$T_DIR/bridge-$RUN.log
	bg "${BRIDGE_LOG[$l]}" "$BRIDGE" --tap-a "t${l}r" --tap-b "t${l}p" --delay-ms "$DELAY_MS" \
		--reorder-every "$REORDER_EVERY" --reorder-ms "$REORDER_MS"
	BRIDGE_PID[$l]=$BG_PID
	wait_for "${BRIDGE_LOG[$l]}" '^ready' 5 &&
	ip link set "t${l}r" netns "${NS[r$l]}" &&
	in_ns "r$l" ip addr add "$net.254/24" dev "t${l}r" &&
	in_ns "r$l" ip link set "t${l}r" up &&
	ip addr add "$net.1/24" dev "t${l}p" &&
	ip link set "t${l}p" up || return 1
	if [ "$l" = 1 ]; then
		ip route replace 198.18.1.0/24 via "$net.254" &&
		in_ns r1 ip route replace "$VIP/32" via "$net.1"
	else
		ip route replace 198.18.3.0/24 via "$net.254"
	fi
}

# tx_dropped NS DEV: frames the device dropped on its way out (for a TAP: its queue to us)
tx_dropped() {
	in_ns "$1" ip -s link show dev "$2" | awk '/TX:/ { getline; print $4; exit }'
}

# tap_down L: the TAP devices' drops (in TAP_DROPS), then stops the bridge (the devices go
# with it); its counts line in BRIDGE_STATS
tap_down() {
	TAP_DROPS="$(tx_dropped "r$1" "t$1r")/$(tx_dropped p "t$1p")"
	stop_pid "${BRIDGE_PID[$1]}"
	BRIDGE_STATS[$1]=$(grep '^tapbridge ' "${BRIDGE_LOG[$1]}")
}

# --- loss and duplication -------------------------------------------------------------------
# the receiving ends of leg L's veth path, as NS:DEV, one per direction
leg_receivers() {
	case $1 in
	1) echo "c:vc p:wp1" ;;
	2) echo "s:vs p:wp2" ;;
	esac
}

# loss_on L: LOSS_PCT % of what leg L's router forwards, either way, is dropped
loss_on() {
	in_ns "r$1" nft -f - <<NFT
table inet netfaults {
	chain forward {
		type filter hook forward priority 0; policy accept;
		counter
		numgen random mod 100 < $LOSS_PCT counter drop
	}
}
NFT
}
loss_off() { in_ns "r$1" nft delete table inet netfaults; }
# loss_counts L: "FORWARDED DROPPED" packets
loss_counts() {
	in_ns "r$1" nft list chain inet netfaults forward |
		awk '{ for (i = 1; i < NF; i++) if ($i == "packets") n[k++] = $(i + 1) }
		     END { print n[0] + 0, n[1] + 0 }'
}

# dup_on L: every IPv4 packet reaching either end of leg L arrives twice, the copy through lo
dup_on() {
	local rx
	for rx in $(leg_receivers "$1"); do
		in_ns "${rx%%:*}" tc qdisc add dev "${rx#*:}" clsact &&
		in_ns "${rx%%:*}" tc filter add dev "${rx#*:}" ingress protocol ip u32 \
			match u32 0 0 action mirred ingress mirror dev lo || return 1
	done
}
dup_off() {
	local rx
	for rx in $(leg_receivers "$1"); do
		in_ns "${rx%%:*}" tc qdisc del dev "${rx#*:}" clsact
	done
}
# dup_count L: packets mirrored on leg L
dup_count() {
	local rx n=0 k
	for rx in $(leg_receivers "$1"); do
		k=$(in_ns "${rx%%:*}" tc -s filter show dev "${rx#*:}" ingress |
			awk '/Sent .* pkt/ { n += $4 } END { print n + 0 }')
		n=$((n + k))
	done
	echo "$n"
}

# --- what TCP saw ---------------------------------------------------------------------------
# tcp_counts NS [COUNTER...]: the namespace's TCP counters that tell what the network did (or
# the ones named)
TCP_NET=(TcpRetransSegs TcpExtTCPOFOQueue TcpExtTCPDSACKRecv TcpExtTCPSACKReorder
	 TcpExtTCPTSReorder TcpExtTCPSpuriousRTOs)
# what a receiver dropped itself (full receive buffer, pruning)
TCP_RCVDROP=(TcpExtTCPRcvQDrop TcpExtTCPZeroWindowDrop TcpExtTCPBacklogDrop TcpExtTCPOFODrop
	     TcpExtPruneCalled TcpExtRcvPruned TcpExtOfoPruned TcpExtTCPRcvCollapsed)
tcp_counts() {
	local ns=$1
	shift
	[ $# -gt 0 ] || set -- "${TCP_NET[@]}"
	in_ns "$ns" nstat -asz "$@" |
		awk '!/^#/ { sub(/^Tcp(Ext)?/, "", $1); printf "%s%s=%s", sep, $1, $2; sep = " " }'
}

# tcp_delta BEFORE AFTER: each counter's growth between two tcp_counts
tcp_delta() {
	awk -v a="$1" -v b="$2" 'BEGIN {
		n = split(a, x, " "); split(b, y, " ")
		for (i = 1; i <= n; i++) {
			split(x[i], p, "="); split(y[i], q, "=")
			printf "%s%s=%d", (i > 1 ? " " : ""), p[1], q[2] - p[2]
		}
	}'
}

# veth_drops L: packets the veths of leg L's lossy path dropped themselves (a full backlog), not
# the test's rule; a drop may count twice (sent by one end, received by the other)
veth_drops() {
	local n=0 d k
	for d in c:vc r$1:vr$1 r$1:wr$1 p:wp$1; do
		[ "$1" = 2 ] && d=${d/c:vc/s:vs}
		k=$(in_ns "${d%%:*}" ip -s link show dev "${d#*:}" |
			awk '/RX:|TX:/ { getline; n += $4 } END { print n + 0 }')
		n=$((n + k))
	done
	echo "$n"
}

# srtt_ms NS: the highest smoothed RTT (ms) among the namespace's TCP connections, 0 if none
srtt_ms() {
	in_ns "$1" ss -tinH state established | grep -oE ' rtt:[0-9.]+' | cut -d: -f2 |
		sort -n | tail -n 1 | cut -d. -f1
}

# --- one run --------------------------------------------------------------------------------
# run ENGINE LOSSY_LEG DELAYED_LEG SEED
declare -A TCP_BEFORE
run() {
	local engine=$1 lossy=$2 slow=$3 seed=$4 name out t0 t1 rc cpid srv line sent recv
	local up_want down_want end fwd drop dups rtt r tcp drops held
	RUN=$engine-loss$lossy-delay$slow
	name="$engine, loss+dup on leg $lossy, delay+reorder on leg $slow"
	out=$T_DIR/client-$RUN.out
	end=s
	[ "$slow" = 1 ] && end=c

	if ! use_veth "$lossy" || ! loss_on "$lossy" || ! dup_on "$lossy" || ! use_tap "$slow"; then
		not_ok "$name: network set up"
		return
	fi
	if ! start_sockmux "$T_DIR/smx.conf" "$engine" "smx-$RUN"; then
		not_ok "$name: sockmux starts"
		return
	fi
	TCP_BEFORE[$end]=$(tcp_counts "$end")
	TCP_BEFORE[p]=$(tcp_counts p "${TCP_RCVDROP[@]}")
	drops=$(veth_drops "$lossy")

	t0=$(date +%s.%N)
	in_ns c timeout "$RUN_TIMEOUT" "$PEER" client --connect "$VIP:8443" --sni "$SNI" \
		--up "$BYTES" --down "$BYTES" --seed "$seed" --expect-tag s >"$out" 2>&1 &
	cpid=$!
	T_PIDS+=("$cpid")
	# the delayed leg's RTT as TCP measures it: the highest seen during the transfer
	rtt=0
	while kill -0 "$cpid" 2>/dev/null; do
		r=$(srtt_ms "$end")
		[ "${r:-0}" -gt "$rtt" ] && rtt=$r
		sleep 0.5
	done
	wait "$cpid"
	rc=$?
	t1=$(date +%s.%N)
	diag "$(cat "$out")"
	check "$name: $BYTES bytes each way arrive intact and in order (client exit $rc)" \
		test "$rc" = 0
	sent=$(grep -oE 'sent_sha256=[0-9a-f]+' "$out" | cut -d= -f2)
	recv=$(grep -oE 'recv_sha256=[0-9a-f]+' "$out" | cut -d= -f2)
	# the server prints its line once it has sent everything, maybe after the client ended
	wait_for "$T_DIR/peer-s.log" "recv_sha256=${sent:-none} " 5
	srv=$(grep -E " recv=$BYTES " "$T_DIR/peer-s.log" | tail -n 1)
	check "$name: the server received what the client sent, once (count, sha256)" \
		grep -qE "recv=$BYTES recv_sha256=${sent:-none} .* ok$" <<<"$srv"
	check "$name: the client received what the server sent, once (count, sha256)" \
		grep -qE "sent=$BYTES sent_sha256=${recv:-none} " <<<"$srv"

	wait_for "$SMX_LOG" ' conn=[0-9]+ .* end=' 5
	line=$(conn_lines | tail -n 1)
	diag "$line"
	# up: the ClientHello (63 bytes and the SNI) and the request line before the payload;
	# down: the server's "TAG s\n" before it
	up_want=$(printf 'SMX %s %s %s both\n' "$BYTES" "$BYTES" "$seed" | wc -c)
	up_want=$((BYTES + 63 + ${#SNI} + up_want))
	down_want=$((BYTES + 6))
	check "$name: sockmux logged end=closed bytes_up=$up_want bytes_down=$down_want" \
		test "$(field "$line" end)" = closed -a "$(field "$line" engine)" = "${engine%-now}" \
		-a "$(field "$line" bytes_up)" = "$up_want" -a "$(field "$line" bytes_down)" = "$down_want"
	stop_sockmux "$name: sockmux"

	read -r fwd drop < <(loss_counts "$lossy")
	check "$name: leg $lossy lost $LOSS_PCT % ($drop of $fwd forwarded packets dropped)" \
		awk -v f="$fwd" -v d="$drop" -v p="$LOSS_PCT" \
		'BEGIN { exit !(f > 10000 && d / f > p / 200 && d / f < p * 2 / 100) }'
	dups=$(dup_count "$lossy")
	drops=$(($(veth_drops "$lossy") - drops))
	check "$name: leg $lossy duplicated each packet that got through ($dups copies)" \
		test "$dups" -ge "$((fwd - drop - drops))" -a "$dups" -le "$((fwd - drop))"
	diag "leg $lossy: the veths themselves dropped $drops packets"
	loss_off "$lossy"
	dup_off "$lossy"

	tap_down "$slow"
	diag "leg $slow: ${BRIDGE_STATS[$slow]}; TAP tx drops $TAP_DROPS"
	check "$name: leg $slow delayed frames $DELAY_MS ms each way (TCP's srtt ${rtt:-?} ms)" \
		test "${rtt:-0}" -ge $((2 * DELAY_MS))
	held=$(field "${BRIDGE_STATS[$slow]}" reordered)
	check "$name: leg $slow held back $held frames to reorder them, lost none" \
		bridge_clean "${BRIDGE_STATS[$slow]}" "$TAP_DROPS"
	tcp=$(tcp_delta "${TCP_BEFORE[$end]}" "$(tcp_counts "$end")")
	diag "TCP at the $end end of leg $slow: $tcp"
	check "$name: ... and TCP got them out of order ($(field "$tcp" TCPOFOQueue) segments)" \
		test "$(field "$tcp" TCPOFOQueue)" -gt 0
	diag "TCP drops by sockmux's sockets: $(tcp_delta "${TCP_BEFORE[p]}" \
		"$(tcp_counts p "${TCP_RCVDROP[@]}")")"
	diag "$name: $(awk -v b="$BYTES" -v a="$t0" -v z="$t1" \
		'BEGIN { printf "%.1f s, %.0f Mbit/s each way", z - a, b * 8 / (z - a) / 1e6 }')"
}

# bridge_clean STATS TAP_DROPS: the bridge held frames back to reorder them, and no frame was
# lost in it or in the TAP devices' queues
bridge_clean() {
	grep -q ' reordered=[1-9]' <<<"$1" && grep -q ' queue_full=0 oversize=0 write_errors=0 ' <<<"$1" &&
		test "$2" = 0/0
}

# --- the test -------------------------------------------------------------------------------
if ! setup_topology 2>"$T_DIR/setup.err"; then
	not_ok "topology: namespaces, veths, routers ($(head -c 200 "$T_DIR/setup.err"))"
	exit 1
fi
ok "topology: client, two routers and server namespaces around sockmux's"

cat >"$T_DIR/smx.conf" <<CONF
listen = ( { address = "$VIP:8443"; } );
backends = { s = { address = "198.18.3.1:9001"; }; };
routes = ( { backend = "s"; } );
CONF
bg "$T_DIR/peer-s.log" nsenter -t "${NS[s]}" -n -- "$PEER" server --listen 198.18.3.1:9001 --tag s
wait_for "$T_DIR/peer-s.log" '^listening' 5 || not_ok "server starts"

seed=40
# the sockmap engine from the hand-off (sockmap-now): its own path under loss, duplicates and
# reordering; taken over after 64 KiB, a transfer whose pipes never empty stays with splice
for engine in splice sockmap-now; do
	run "$engine" 1 2 $((seed += 1))
	run "$engine" 2 1 $((seed += 1))
done
