#!/bin/sh
# SPDX-License-Identifier: MIT
# install-deps.sh - install, from Debian's archive, whatever sockmux needs and is missing.
#   (no option)  build dependencies and what `make demo` uses
#   --test       also what `make test` uses (real TLS peers, fuzzing, namespaces)
#   --bench      also what `make bench` uses
# Run as root on Debian 12. Prints what it installs; does nothing when all is present.
set -eu

build="make gcc clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev libconfig-dev pkg-config
       libmicrohttpd-dev libsystemd-dev libssl-dev libpcre2-dev openssl iproute2 util-linux procps"
test="perl curl nginx libnginx-mod-stream haproxy libclang-rt-14-dev chromium xxd psmisc nftables
      prometheus python3 openssh-client openssh-server prosody python3-slixmpp openvpn microsocks"
bench="haproxy nginx libnginx-mod-stream sslh sniproxy iperf3 gnuplot-nox"

want="$build"
for arg in "$@"; do
	case "$arg" in
	--test) want="$want $test" ;;
	--bench) want="$want $test $bench" ;;
	*) echo "install-deps.sh: unknown option $arg" >&2; exit 2 ;;
	esac
done

missing=""
for p in $want; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
if [ -z "$missing" ]; then
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	echo "install-deps.sh: missing packages:$missing; run as root to install them" >&2
	exit 1
fi
echo "install-deps.sh: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
# Daemons from these packages (nginx, haproxy, sslh, sshd, prosody, openvpn, microsocks) must
# not start on install: tests start their own instances in private namespaces.
policy=/usr/sbin/policy-rc.d
created_policy=""
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\nexit 101\n' > "$policy"
	chmod 755 "$policy"
	created_policy=1
fi
cleanup() { if [ -n "$created_policy" ]; then rm -f "$policy"; fi; }
trap cleanup EXIT
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing
