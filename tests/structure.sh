#!/bin/bash
# SPDX-License-Identifier: MIT
# tests/structure.sh - the shape of the code (docs/ARCHITECTURE.md, "Where things are"):
# no circle among user/'s includes, no function in user/ or bpf/ longer than 80 lines unless
# its comment says why ("Long:"), and the core names no engine and no transport: those are
# found through their tables.
set -u
cd "$(dirname "$0")/.."
n=0
fail=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); fail=1; echo "not ok $n - $1"; }

if out=$(tools/includes --check 2>&1); then
	ok "includes: $out"
else
	not_ok "includes: user/'s modules include each other in a circle"
	echo "$out" | sed 's/^/# /'
fi

# functions: a line "{" at column 0 opens one, "}" at column 0 closes it; the comment block
# right above the signature may hold "Long:" with the reason
long=$(awk '
	FNR == 1 { comment = "" }
	/^\/\*/ { comment = "" }
	{ if ($0 ~ /Long:/) comment = "long" }
	/^[a-zA-Z].*\(/ { sig = $0; sigline = FNR }
	/^\{$/ { start = FNR; name = sig; why = comment }
	/^\}$/ && start { len = FNR - start + 2; if (len > 80 && why != "long")
		printf "%s:%d %d lines: %s\n", FILENAME, sigline, len, name; start = 0; comment = "" }
' user/*.c user/*/*.c bpf/*.c)
if [ -z "$long" ]; then
	ok "functions: none in user/ or bpf/ over 80 lines without a reason"
else
	not_ok "functions: over 80 lines without a reason in their comment"
	echo "$long" | sed 's/^/# /'
fi

# the core (user/*.c) reaches engines through engine_ops and engines[], transports through
# transports[]: no call or symbol of one by name (comments and help text may name them)
named=$(grep -nE '\b(sockmap|splice|tcp)_[a-z_]+\(|(sockmap|splice)_engine_ops|tcp_transport\b' \
	user/*.c user/*.h user/ops/*.c user/sniff/*.c 2>/dev/null | grep -vE '^[^:]+:[0-9]+:\s*(/?\*|//)')
if [ -z "$named" ]; then
	ok "core: no engine or transport named outside user/engine/ and user/transport/"
else
	not_ok "core: names an engine or a transport directly"
	echo "$named" | sed 's/^/# /'
fi
echo "1..$n"
exit $fail
