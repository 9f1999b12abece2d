#!/bin/bash
# SPDX-License-Identifier: MIT
# fuzz-long.sh [MINUTES] - each libFuzzer target (ASan + UBSan, `make fuzz`) for MINUTES
# (default 10) over its committed corpus (tests/fuzz/corpus/NAME, machine-made) and its
# named seeds (tests/fuzz/seeds/NAME: real captures and hostile inputs, kept as written), then
# the corpus minimized in place (-merge=1: the smallest set of inputs with the coverage of
# corpus, seeds and this run together). `make fuzz-long`.
# A crash, leak or timeout stops the run: the input is kept in .output/fuzz-crashes/ and is
# to become a unit test. The last lines say runs, coverage and corpus sizes per target.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
minutes=${1:-10}
status=0
summary=()
for bin in "$top"/.output/fuzz/fuzz_*; do
	[ -x "$bin" ] || continue
	name=${bin##*/fuzz_}
	corpus=$top/tests/fuzz/corpus/$name
	seeds=()
	[ -d "$top/tests/fuzz/seeds/$name" ] && seeds=("$top/tests/fuzz/seeds/$name")
	work=$(mktemp -d)
	mkdir -p "$corpus"
	before=$(ls "$corpus" | wc -l)
	echo "== fuzz_$name: $minutes min over $before inputs"
	if ! (cd "$work" && "$bin" -max_total_time=$((minutes * 60)) -max_len=20000 -timeout=10 \
		-rss_limit_mb=2048 -print_final_stats=1 "$work" "$corpus" "${seeds[@]}") \
		>"$work/log" 2>&1; then
		status=1
		tail -n 40 "$work/log"
		mkdir -p "$top/.output/fuzz-crashes"
		cp "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$top/.output/fuzz-crashes/" \
			2>/dev/null
		summary+=("fuzz_$name: FAILED (input in .output/fuzz-crashes/)")
		rm -rf "$work"
		continue
	fi
	runs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$work/log" | grep -oE '[0-9]+$')
	cov=$(grep -oE 'cov: [0-9]+' "$work/log" | tail -n 1 | grep -oE '[0-9]+')
	# minimize: the committed corpus becomes the smallest set with everything's coverage
	mkdir -p "$work/min"
	(cd "$work" && "$bin" -merge=1 -max_len=20000 "$work/min" "$corpus" "$work" \
		"${seeds[@]}" >"$work/merge.log" 2>&1)
	if [ "$(ls "$work/min" | wc -l)" -gt 0 ]; then
		rm -f "$corpus"/*
		# content-named files: the same input keeps the same name run after run
		for f in "$work/min"/*; do cp "$f" "$corpus/$(sha1sum "$f" | cut -c1-16)"; done
	fi
	after=$(ls "$corpus" | wc -l)
	summary+=("fuzz_$name: ${runs:-?} runs in $minutes min, coverage ${cov:-?}, corpus $before -> $after inputs")
	rm -rf "$work"
done
echo "== summary"
printf '%s\n' "${summary[@]}"
exit "$status"
