#!/usr/bin/env bats
# ds-embed under random faults and SIGKILL, against tests/fake-dashscope.py:
# a small version of bench/soak, checked exactly by tests/soak-check.py.

bats_require_minimum_version 1.5.0

load fake
FAKE_KEYS="sk-soak"

# The shared start, and ds-embed pointed at the service.
start_soak() {
	start_fake "$@" || return
	export DASHSCOPE_HTTP_BASE_URL=http://127.0.0.1:$(cat "$1/port")/api/v1
}

setup() {
	load '/usr/lib/bats/bats-support/load'
	load '/usr/lib/bats/bats-assert/load'
	PATH="$BATS_TEST_DIRNAME/../bin:$PATH"
	cd "$BATS_TEST_TMPDIR"
	unset DS_FORMAT OPENAI_API_KEY
	export DASHSCOPE_API_KEY=sk-soak
	export XDG_CACHE_HOME=$BATS_TEST_TMPDIR/xdg
	CHECK="/usr/bin/python3 $BATS_TEST_DIRNAME/soak-check.py"
}

teardown() {
	stop_fake "$BATS_TEST_TMPDIR/fake"
}

# Rows in the cache database $1.
cached() {
	/usr/bin/python3 -c 'import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
print(db.execute("select count(*) from embedding").fetchone()[0])' "$1"
}

# Answered requests in the log $1 (not faults).
served() {
	/usr/bin/python3 -c 'import json, sys
print(sum(1 for l in open(sys.argv[1]) if not json.loads(l).get("fault")
    and json.loads(l).get("status") == 200))' "$1"
}

# The checker's verdict on a whole run of 2000 records: every one written,
# once, in order and right, and none left unasked.
assert_complete() {
	assert_line "records_out 2000"
	assert_line "lost 0"
	assert_line "duplicated 0"
	assert_line "misordered 0"
	assert_line "wrong 0"
	assert_line "never 0"
}

summary_re='^ds-embed: 2000 records, [0-9]+ requests, [0-9]+ retries, '
summary_re+='[0-9]+ cache hits, [0-9]+ cache misses, [0-9]+ duplicates, '
summary_re+='[0-9]+ tokens, \$[0-9.]+ at list price$'

@test "the check finds a lost, a repeated and a wrong record" {
	$CHECK gen 30 5 >in.tsv
	start_soak fake
	run -0 --separate-stderr ds-embed -d 64 -c c.sqlite in.tsv
	printf '%s\n' "$output" >out.tsv
	run -0 --separate-stderr $CHECK check --dim 64 in.tsv out.tsv
	[ -z "$stderr" ]
	assert_line "lost 0"
	# One record dropped, one written twice, one vector changed.
	sed 5d out.tsv >lost.tsv
	run -1 --separate-stderr $CHECK check --dim 64 in.tsv lost.tsv
	assert_line "lost 1"
	[ "$stderr" = "soak-check: lost.tsv: 1 ids lost" ]
	sed 7p out.tsv >twice.tsv
	run -1 --separate-stderr $CHECK check --dim 64 in.tsv twice.tsv
	assert_line "duplicated 1"
	[ "$stderr" = "soak-check: twice.tsv: id r0000006 again" ]
	awk -F'\t' -v OFS='\t' 'NR == 9 { sub(/^[^ ]*/, "0.5", $3) } 1' \
	    out.tsv >wrong.tsv
	run -1 --separate-stderr $CHECK check --dim 64 in.tsv wrong.tsv
	assert_line "wrong 1"
	[[ "$stderr" == "soak-check: r0000008: float 1 is 0.5, expected "* ]]
}

@test "2000 records under 8% random faults: each once, in order, right" {
	$CHECK gen 2000 11 >in.tsv
	start_soak fake --shuffle --fault-rate 0.08 --fault-seed 11 --slow 2.5
	run -0 --separate-stderr ds-embed -j 8 -d 64 -T 2 -w 0.05 -c c.sqlite \
	    in.tsv
	[[ "$stderr" =~ $summary_re ]]
	printf '%s\n' "$output" >out.tsv
	sleep 2.6	# the slow faults' log lines
	run -0 --separate-stderr $CHECK check --dim 64 in.tsv out.tsv fake/log
	[ -z "$stderr" ]
	assert_complete
	# Faults were injected, of many kinds.
	faults=$(sed -n 's/^faults //p' <<<"$output")
	requests=$(sed -n 's/^requests //p' <<<"$output")
	[ $((faults * 100)) -ge $((requests * 5)) ]
	kinds=$(sed -n 's/^faults_by_kind //p' <<<"$output" | wc -w)
	[ "$kinds" -ge 8 ]
}

@test "killed twice under faults: reruns finish, no text served thrice" {
	$CHECK gen 2000 12 >in.tsv
	start_soak fake --shuffle --fault-rate 0.08 --fault-seed 12 \
	    --slow 3.5 --latency 250
	for k in 1 2; do
		ds-embed -j 8 -d 64 -T 3 -w 0.05 -c c.sqlite in.tsv \
		    >part$k.tsv 2>/dev/null 3>&- &
		pid=$!
		# A random moment, once the answers lost by the last kill
		# have come again.
		sleep "$(/usr/bin/python3 -c 'import random
print(random.uniform(1.5, 2.5))')"
		kill -9 "$pid"
		st=0
		wait "$pid" || st=$?
		[ "$st" = 137 ]
		run -0 --separate-stderr $CHECK check --dim 64 --prefix \
		    in.tsv part$k.tsv
		[ -z "$stderr" ]
		assert_line "lost 0"
		assert_line "misordered 0"
		assert_line "wrong 0"
	done
	run -0 --separate-stderr ds-embed -j 8 -d 64 -T 3 -w 0.05 -c c.sqlite \
	    in.tsv
	[[ "$stderr" =~ $summary_re ]]
	hits=$(sed -n 's/.* \([0-9]*\) cache hits.*/\1/p' <<<"$stderr")
	[ "$hits" -gt 0 ]
	printf '%s\n' "$output" >out.tsv
	sleep 3.6
	run -0 --separate-stderr $CHECK check --dim 64 --max-served 2 \
	    in.tsv out.tsv fake/log
	[ -z "$stderr" ]
	assert_complete
	assert_line "served 0"
	faults=$(sed -n 's/^faults //p' <<<"$output")
	[ "$faults" -gt 0 ]
}

@test "a run killed between answers keeps every answer it received" {
	# Four answers arrive together, the next four a second later: a kill
	# between the two waves must find all of the first in the cache.
	awk 'BEGIN { for (i = 1; i <= 80; i++) printf "id%d\ttext %d\n", i, i }' \
	    >in.tsv
	start_soak fake --latency 1000
	ds-embed -j 4 -d 64 -c c.sqlite in.tsv >/dev/null 2>&1 3>&- &
	pid=$!
	i=0
	while [ "$(wc -l <fake/log)" -lt 4 ] && [ $i -lt 100 ]; do
		sleep 0.05
		i=$((i + 1))
	done
	sleep 0.3
	kill -9 "$pid"
	st=0
	wait "$pid" || st=$?
	[ "$st" = 137 ]
	run -0 served fake/log
	[ "$output" = 4 ]
	run -0 cached c.sqlite
	[ "$output" = 40 ]
	# The rerun asks only for the other 40.
	: >fake/log
	run -0 --separate-stderr ds-embed -j 4 -d 64 -c c.sqlite in.tsv
	[[ "$stderr" == *" 40 cache hits, 40 cache misses,"* ]]
	[ "${#lines[@]}" = 81 ]
}
