#!/bin/bash
# SPDX-License-Identifier: MIT
# run-fuzz.sh - runs every libFuzzer target briefly (SMX_FUZZ_SECONDS, default 20) over its
# committed corpus and seeds (tests/fuzz/corpus/NAME, tests/fuzz/seeds/NAME, read only: new
# inputs go to a scratch dir). `make fuzz-long` (fuzz-long.sh) runs them for minutes.
# TAP: one line per target. A crash, leak or sanitizer report fails it and keeps the input.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
secs=${SMX_FUZZ_SECONDS:-20}
n=0
failed=0
echo "TAP version 13"
for bin in "$top"/.output/fuzz/fuzz_*; do
	[ -x "$bin" ] || continue
	name=${bin##*/fuzz_}
	n=$((n + 1))
	scratch=$(mktemp -d)
	corpus="$top/tests/fuzz/corpus/$name"
	seeds=()
	[ -d "$top/tests/fuzz/seeds/$name" ] && seeds=("$top/tests/fuzz/seeds/$name")
	log="$scratch/log"
	if (cd "$scratch" && "$bin" -max_total_time="$secs" -max_len=20000 -timeout=10 \
		-rss_limit_mb=2048 "$scratch" "$corpus" "${seeds[@]}") >"$log" 2>&1; then
		runs=$(grep -oE 'Done [0-9]+ runs' "$log" | grep -oE '[0-9]+')
		echo "ok $n - fuzz_$name: ${runs:-?} runs in ${secs}s, no crash"
	else
		failed=$((failed + 1))
		echo "not ok $n - fuzz_$name"
		tail -n 40 "$log" | sed 's/^/# /'
		mkdir -p "$top/.output/fuzz-crashes"
		cp "$scratch"/crash-* "$scratch"/leak-* "$scratch"/timeout-* \
			"$top/.output/fuzz-crashes/" 2>/dev/null
	fi
	rm -rf "$scratch"
done
if [ "$n" = 0 ]; then
	echo "not ok 1 - fuzz targets built (make fuzz)"
	n=1
fi
echo "1..$n"
