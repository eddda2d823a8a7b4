#!/usr/bin/env bats
# ds-knn: exact search (dense and sparse), classification and its report,
# shard merge, fusion, and the errors its page promises.

bats_require_minimum_version 1.5.0

setup() {
	load '/usr/lib/bats/bats-support/load'
	load '/usr/lib/bats/bats-assert/load'
	PATH="$BATS_TEST_DIRNAME/../bin:$PATH"
	DATA="$BATS_TEST_DIRNAME/data"
	REF="$BATS_TEST_DIRNAME/knn-ref"
	cd "$BATS_TEST_TMPDIR"
	unset DS_FORMAT
	IX="$DATA/knn-index.tsv"
	Q="$DATA/knn-queries.tsv"
}

@test "ds-knn --help prints the usage on stdout and exits 0" {
	run -0 --separate-stderr ds-knn --help
	assert_output --regexp '^usage: ds-knn \[-cefStV\] '
	[ -z "$stderr" ]
}

@test "ds-knn --version prints the version" {
	run -0 --separate-stderr ds-knn --version
	assert_output --regexp '^ds-knn [0-9]+\.[0-9]+\.[0-9]+$'
	[ -z "$stderr" ]
}

@test "ds-knn with an unknown option or no index is a usage error (64)" {
	run -64 --separate-stderr ds-knn --bogus "$IX"
	[ -z "$output" ]
	[[ "$stderr" == *"usage: ds-knn "* ]]
	run -64 --separate-stderr ds-knn
	[ -z "$output" ]
	[[ "$stderr" == "usage: ds-knn "* ]]
}

@test "ds-knn rejects bad -k, -j, --metric and --vote values (64)" {
	run -64 --separate-stderr ds-knn -k 0 "$IX" "$Q"
	[ -z "$output" ]
	[ "$stderr" = "ds-knn: -k 0: too small" ]
	run -64 --separate-stderr ds-knn -j x "$IX" "$Q"
	[ -z "$output" ]
	[ "$stderr" = "ds-knn: -j x: invalid" ]
	run -64 --separate-stderr ds-knn --metric manhattan "$IX" "$Q"
	[ -z "$output" ]
	[ "$stderr" = "ds-knn: --metric manhattan: not cos, dot or l2" ]
	run -64 --separate-stderr ds-knn -c --vote loud "$IX" "$Q"
	[ -z "$output" ]
	[ "$stderr" = "ds-knn: --vote loud: not weighted or majority" ]
}

@test "cosine is the default: best first, ties to the earlier record" {
	run -0 --separate-stderr ds-knn -k 3 "$IX" "$Q"
	[ -z "$stderr" ]
	assert_output "$(printf '%s\n' \
	    'q1	1	a	0.9950372	x' 'q1	2	f	0.9950372	x' \
	    'q1	3	c	0.7739573	x' 'q2	1	b	0.9805807	y' \
	    'q2	2	e	0.83205026	y' 'q2	3	c	0.69337523	x')"
}

@test "--metric dot ranks by inner product" {
	run -0 --separate-stderr ds-knn --metric dot -k 2 "$IX" "$Q"
	[ -z "$stderr" ]
	assert_output "$(printf '%s\n' 'q1	1	c	1.1	x' 'q1	2	a	1	x' \
	    'q2	1	e	1.2	y' 'q2	2	b	1	y')"
}

@test "--metric l2 writes distances, smallest first" {
	run -0 --separate-stderr ds-knn -m l2 -k 3 "$IX" "$Q"
	[ -z "$stderr" ]
	assert_output "$(printf '%s\n' 'q1	1	a	0.1	x' 'q1	2	f	0.1	x' \
	    'q1	3	c	0.9	x' 'q2	1	b	0.2	y' 'q2	2	e	0.8	y' \
	    'q2	3	c	1.0198039	x')"
}

@test "-k larger than the index returns every record; a zero vector scores 0" {
	run -0 --separate-stderr ds-knn -k 100 "$IX" "$Q"
	[ -z "$stderr" ]
	[ "${#lines[@]}" -eq 12 ]
	assert_line --index 5 'q1	6	d	0	y'
	assert_line --index 10 'q2	5	d	0	y'
}

@test "--min-score and --max-dist keep a range" {
	run -0 --separate-stderr ds-knn -s 0.8 "$IX" "$Q"
	[ -z "$stderr" ]
	assert_output "$(printf '%s\n' 'q1	1	a	0.9950372	x' \
	    'q1	2	f	0.9950372	x' 'q2	1	b	0.9805807	y' \
	    'q2	2	e	0.83205026	y')"
	run -0 --separate-stderr ds-knn -m l2 --max-dist 0.25 "$IX" "$Q"
	[ -z "$stderr" ]
	assert_output "$(printf '%s\n' 'q1	1	a	0.1	x' 'q1	2	f	0.1	x' \
	    'q2	1	b	0.2	y')"
}

@test "--max-dist needs l2 and --min-score needs cos or dot (64)" {
	run -64 --separate-stderr ds-knn -d 1 "$IX" "$Q"
	[ -z "$output" ]
	[ "$stderr" = "ds-knn: --max-dist goes with --metric l2 (--min-score for cos)" ]
	run -64 --separate-stderr ds-knn -m l2 -s 1 "$IX" "$Q"
	[ -z "$output" ]
	[ "$stderr" = "ds-knn: --min-score goes with cos or dot (--max-dist for l2)" ]
	run -64 --separate-stderr ds-knn -d -1 -m l2 "$IX" "$Q"
	[ -z "$output" ]
	[ "$stderr" = "ds-knn: --max-dist -1: too small" ]
}

@test "--self leaves each record out; with --min-score it finds duplicates" {
	run -0 --separate-stderr ds-knn --self -k 1 "$IX"
	[ -z "$stderr" ]
	assert_output "$(printf '%s\n' 'a	1	f	1	x' 'b	1	c	0.70710677	x' \
	    'c	1	a	0.70710677	x' 'd	1	a	0	x' 'e	1	b	0.70710677	y' \
	    'f	1	a	1	x')"
	run -0 --separate-stderr ds-knn -S -s 0.95 "$IX"
	[ -z "$stderr" ]
	assert_output "$(printf '%s\n' 'a	1	f	1	x' 'f	1	a	1	x')"
}

@test "--self takes no query operands (64)" {
	run -64 --separate-stderr ds-knn -S "$IX" "$Q"
	[ -z "$output" ]
	[ "$stderr" = "ds-knn: --self takes the index alone, no queries" ]
}

@test "--classify votes by similarity, --vote majority by count" {
	run -0 --separate-stderr ds-knn -c -k 3 "$IX" "$Q"
	[ -z "$stderr" ]
	assert_output "$(printf '%s\n' 'q1	x	1' 'q2	y	0.72331464')"
	run -0 --separate-stderr ds-knn -c -w majority -k 3 "$IX" "$Q"
	[ -z "$stderr" ]
	assert_output "$(printf '%s\n' 'q1	x	1' 'q2	y	0.6666667')"
}

@test "--classify: a vote tie goes to the label of the nearer neighbour" {
	printf 'z\tx\t1 1 0.0001\n' > q.tsv
	# Under dot: c (x) scores 2, e (y) 1.0001: one vote each.
	run -0 --separate-stderr ds-knn -c -w majority -k 2 -m dot "$IX" q.tsv
	[ -z "$stderr" ]
	assert_output 'z	x	0.5'
}

@test "--classify needs a label in every index record (65)" {
	printf 'a\tx\t1 0 0\nb\t0 1 0\n' > ix.tsv
	run -65 --separate-stderr ds-knn -c ix.tsv "$Q"
	[ -z "$output" ]
	[ "$stderr" = "ds-knn: ix.tsv:2: no label (--classify reads the first payload field)" ]
}

@test "--eval writes predictions and the report on stderr" {
	run -0 --separate-stderr ds-knn -e -k 3 "$IX" "$Q"
	assert_output "$(printf '%s\n' 'q1	x	1' 'q2	y	0.72331464')"
	[ "$stderr" = "$(printf '%s\n' 'accuracy	1.0000	2/2' \
	    'macro-F1	1.0000' 'label	precision	recall	F1	support' \
	    'x	1.0000	1.0000	1.0000	1' 'y	1.0000	1.0000	1.0000	1' \
	    'confusion	(rows: true label, columns: predicted)' '	x	y' \
	    'x	1	0' 'y	0	1')" ]
}

@test "--self --eval is a leave-one-out evaluation" {
	run -0 --separate-stderr ds-knn -S -e -k 1 "$IX"
	assert_output "$(printf '%s\n' 'a	x	1' 'b	x	1' 'c	x	1' 'd	x	0' \
	    'e	y	1' 'f	x	1')"
	[ "$stderr" = "$(printf '%s\n' 'accuracy	0.6667	4/6' \
	    'macro-F1	0.6250' 'label	precision	recall	F1	support' \
	    'x	0.6000	1.0000	0.7500	3' 'y	1.0000	0.3333	0.5000	3' \
	    'confusion	(rows: true label, columns: predicted)' '	x	y' \
	    'x	3	0' 'y	2	1')" ]
}

@test "--eval needs the true label in each query (65)" {
	printf 'q\t1 0 0\n' > q.tsv
	run -65 --separate-stderr ds-knn -e "$IX" q.tsv
	[ -z "$output" ]
	[ "$stderr" = "ds-knn: q.tsv:1: no true label (--eval reads the first payload field)" ]
}

@test "headers that disagree are refused naming both (65); --force warns" {
	printf '#ds kind=dense dim=3 model=other\nz\t1 2 3\n' > other.tsv
	run -65 --separate-stderr ds-knn "$IX" other.tsv
	[ -z "$output" ]
	[ "$stderr" = "ds-knn: $IX and other.tsv do not match: model=other does not match model=toy (--force to search anyway)" ]
	run -0 --separate-stderr ds-knn --force -k 1 "$IX" other.tsv
	assert_output 'z	1	e	0.9449112	y'
	[ "$stderr" = "ds-knn: $IX and other.tsv do not match: model=other does not match model=toy (searching anyway: --force)" ]
}

@test "a query of the wrong dimension is refused (65)" {
	printf 'z\t1 2\n' > q.tsv
	run -65 --separate-stderr ds-knn "$IX" q.tsv
	[ -z "$output" ]
	[[ "$stderr" == "ds-knn: $IX and q.tsv do not match: "*"dim"* ]]
	printf 'y\t1 2 3\nz\t1 2\n' > q.tsv
	run -65 --separate-stderr ds-knn -f -k 1 "$IX" q.tsv
	[ -z "$output" ]
	[ "$stderr" = "ds-knn: q.tsv:2: expected 3 floats, found 2" ]
}

@test "an index row of the wrong dimension is refused (65)" {
	printf 'a\t1 2 3\nb\t1 2\n' > ix.tsv
	run -65 --separate-stderr ds-knn ix.tsv "$Q"
	[ -z "$output" ]
	[[ "$stderr" == "ds-knn: ix.tsv:2: "* ]]
}

@test "an empty index is refused (65)" {
	: > empty.tsv
	run -65 --separate-stderr ds-knn empty.tsv "$Q"
	[ -z "$output" ]
	[ "$stderr" = "ds-knn: empty.tsv: empty index: no records" ]
}

@test "NaN in a query is refused (65)" {
	printf 'z\tnan 0 1\n' > q.tsv
	run -65 --separate-stderr ds-knn "$IX" q.tsv
	[ -z "$output" ]
	[[ "$stderr" == "ds-knn: q.tsv:1: "*"nan"* ]]
}

@test "a text stream is not an index (65)" {
	run -65 --separate-stderr ds-knn "$DATA/text.tsv" "$Q"
	[ -z "$output" ]
	[ "$stderr" = "ds-knn: $DATA/text.tsv:2: a text record: the index must hold dense or sparse vectors" ]
}

@test "a missing index is 66; a missing query file is 66 after the others" {
	run -66 --separate-stderr ds-knn nothere.tsv "$Q"
	[ -z "$output" ]
	[[ "$stderr" == "ds-knn: nothere.tsv: "* ]]
	run -66 --separate-stderr ds-knn -k 1 "$IX" nothere.tsv "$Q"
	assert_output "$(printf '%s\n' 'q1	1	a	0.9950372	x' \
	    'q2	1	b	0.9805807	y')"
	[[ "$stderr" == "ds-knn: nothere.tsv: "* ]]
}

@test "queries from standard input, index in binary form: same results" {
	ds-cat -b "$IX" > ix.dsb
	run -0 --separate-stderr sh -c "ds-knn -k 3 ix.dsb < '$Q'"
	[ -z "$stderr" ]
	expected=$(ds-knn -k 3 "$IX" "$Q")
	[ "$output" = "$expected" ]
	[ -n "$expected" ]
}

@test "a binary index file is searched in place: same results as read" {
	# A regular file in binary form is read again by the search instead
	# of held in memory; a pipe is held in memory.  Both must agree with
	# the TSV index, for every metric, limits and --self.
	ds-cat -b "$DATA/blobs.tsv" > ix.dsb
	ds-cat -b "$DATA/topics.tsv" > tp.dsb
	for args in "-m cos -k 7" "-m dot -s 1.5" "-m l2 -d 0.8 -k 50" \
	    "-m cos -S -k 3" "-m l2 -S -j 1"; do
		case $args in
		*-S*) q= ;;
		*) q=$DATA/blobs.tsv ;;
		esac
		ds-knn $args "$DATA/blobs.tsv" $q > tsv.out
		[ -s tsv.out ]
		run -0 --separate-stderr ds-knn $args ix.dsb $q
		[ -z "$stderr" ]
		[ "$output" = "$(cat tsv.out)" ]
		run -0 --separate-stderr sh -c "ds-knn $args - $q < ix.dsb"
		[ -z "$stderr" ]
		[ "$output" = "$(cat tsv.out)" ]
	done
	run -0 --separate-stderr ds-knn -S -c -e -k 3 tp.dsb
	expected=$(ds-knn -S -c -e -k 3 "$DATA/topics.tsv" 2> tsv.err)
	[ "$output" = "$expected" ]
	[ "$stderr" = "$(cat tsv.err)" ]
	[[ "$stderr" == *accuracy* ]]
}

@test "a binary index file in ascending order of score: same results as read" {
	# Each row beats every row before it, so every block brings new
	# candidates: more than are scored while the block is read, and the
	# rest are read again at the end.  Both must give the same results.
	awk 'BEGIN { print "#ds kind=dense dim=2"
	    for (i = 1; i <= 6000; i++) printf "r%d\t%d 1000\n", i, i }' \
	    > asc.tsv
	printf 'q1\t1 0\nq2\t2 0.001\n' > q.tsv
	printf 'q1\t7000 0\n' > ql2.tsv
	ds-cat -b asc.tsv > asc.dsb
	for args in "-m cos -k 1 -j 1" "-m dot -k 5 -j 1" "-m dot -k 5" \
	    "-m l2 -k 3 -j 1 ql2.tsv"; do
		case $args in
		*ql2*) q= ;;
		*) q=q.tsv ;;
		esac
		run -0 --separate-stderr sh -c "ds-knn $args - $q < asc.dsb"
		[ -z "$stderr" ]
		expected=$output
		[ -n "$expected" ]
		run -0 --separate-stderr ds-knn $args asc.dsb $q
		[ -z "$stderr" ]
		[ "$output" = "$expected" ]
	done
	run -0 ds-knn -m dot -k 2 asc.dsb q.tsv
	assert_output "$(printf '%s\n' 'q1	1	r6000	6000' 'q1	2	r5999	5999' \
	    'q2	1	r6000	12001' 'q2	2	r5999	11999')"
}

@test "ids and payloads keep their escapes" {
	printf 'a\\tb\tp\\\\q\tr\\ns\t1 0\n' > ix.tsv
	printf 'q\\t1\t1 0\n' > q.tsv
	run -0 --separate-stderr ds-knn ix.tsv q.tsv
	[ -z "$stderr" ]
	assert_output 'q\t1	1	a\tb	1	p\\q	r\ns'
}

@test "sparse streams: dot by default, exact over records sharing no term" {
	run -0 --separate-stderr ds-knn "$DATA/knn-sparse.tsv" \
	    "$DATA/knn-sparse-q.tsv"
	[ -z "$stderr" ]
	assert_output "$(printf '%s\n' 's1	1	d1	2	x' 's1	2	d3	2	x' \
	    's1	3	d2	0	y' 's1	4	d4	0	y' 's2	1	d1	1	x' \
	    's2	2	d2	1	y' 's2	3	d3	0.5	x' 's2	4	d4	0	y')"
}

@test "sparse streams under cos and l2" {
	run -0 --separate-stderr ds-knn -m cos -k 2 "$DATA/knn-sparse.tsv" \
	    "$DATA/knn-sparse-q.tsv"
	[ -z "$stderr" ]
	assert_output "$(printf '%s\n' 's1	1	d3	0.73029673	x' \
	    's1	2	d1	0.4	x' 's2	1	d2	0.8944272	y' 's2	2	d1	0.4	x')"
	run -0 --separate-stderr ds-knn -m l2 -k 2 "$DATA/knn-sparse.tsv" \
	    "$DATA/knn-sparse-q.tsv"
	[ -z "$stderr" ]
	assert_output "$(printf '%s\n' 's1	1	d3	1.5811389	x' \
	    's1	2	d4	2.236068	y' 's2	1	d2	0.5	y' 's2	2	d4	1.118034	y')"
}

@test "sparse --self --eval and a dense query on a sparse index" {
	run -0 --separate-stderr ds-knn -S -c -k 1 "$DATA/knn-sparse.tsv"
	[ -z "$stderr" ]
	assert_output "$(printf '%s\n' 'd1	x	1' 'd2	x	1' 'd3	x	1' 'd4	x	0')"
	run -65 --separate-stderr ds-knn -f "$DATA/knn-sparse.tsv" "$Q"
	[ -z "$output" ]
	[[ "$stderr" == *"knn-queries.tsv:2: a dense query for a sparse index" ]]
}

@test "top 10 equal a double-precision brute force on random and clustered data" {
	for kind in random clustered; do
		"$REF" gen $kind 1500 12 1 > ix.tsv
		"$REF" gen $kind 40 12 2 > q.tsv
		for m in cos dot l2; do
			"$REF" search $m 10 ix.tsv q.tsv > want
			run -0 --separate-stderr ds-knn -j 2 -m $m ix.tsv q.tsv
			[ -z "$stderr" ]
			[ "${#lines[@]}" -eq 400 ]
			[ "$(printf '%s\n' "$output" | cut -f1-3)" = "$(cat want)" ]
		done
	done
	"$REF" self cos 10 ix.tsv > want
	run -0 --separate-stderr ds-knn -S ix.tsv
	[ -z "$stderr" ]
	[ "$(printf '%s\n' "$output" | cut -f1-3)" = "$(cat want)" ]
}

@test "one thread and two give the same output" {
	"$REF" gen clustered 1200 8 3 > ix.tsv
	"$REF" gen clustered 30 8 4 > q.tsv
	ds-knn -j 1 -k 7 ix.tsv q.tsv > one
	run -0 --separate-stderr ds-knn -j 2 -k 7 ix.tsv q.tsv
	[ -z "$stderr" ]
	[ "$output" = "$(cat one)" ]
	[ "${#lines[@]}" -eq 210 ]
}

@test "--merge of shard results equals the single run" {
	"$REF" gen clustered 1000 8 5 > ix.tsv
	"$REF" gen clustered 20 8 6 > q.tsv
	head -n 300 ix.tsv > s1.tsv
	sed -n '301,700p' ix.tsv > s2.tsv
	sed -n '701,$p' ix.tsv > s3.tsv
	for m in cos l2; do
		for s in 1 2 3; do ds-knn -m $m -k 5 s$s.tsv q.tsv > r$s; done
		run -0 --separate-stderr ds-knn --merge -m $m -k 5 r1 r2 r3
		[ -z "$stderr" ]
		[ "$output" = "$(ds-knn -m $m -k 5 ix.tsv q.tsv)" ]
		[ "${#lines[@]}" -eq 100 ]
	done
}

@test "shards searched with GNU parallel and merged equal the single run" {
	command -v parallel >/dev/null
	"$REF" gen clustered 900 8 7 > ix.tsv
	"$REF" gen clustered 10 8 8 > q.tsv
	split -d -n l/3 ix.tsv shard.
	ls shard.* | parallel --will-cite -j 2 \
	    "ds-knn -k 10 {} q.tsv > {}.res"
	run -0 --separate-stderr ds-knn --merge -k 10 shard.00.res \
	    shard.01.res shard.02.res
	[ -z "$stderr" ]
	[ "$output" = "$(ds-knn -k 10 ix.tsv q.tsv)" ]
	[ "${#lines[@]}" -eq 100 ]
}

@test "--merge names a malformed line (65)" {
	printf 'q\t1\ta\t0.5\nq\tx\tb\t0.4\n' > bad.res
	run -65 --separate-stderr ds-knn --merge bad.res
	[ -z "$output" ]
	[ "$stderr" = "ds-knn: bad.res:2: rank is not a positive integer" ]
	printf 'q\t1\ta\n' > bad.res
	run -65 --separate-stderr ds-knn --fuse rrf bad.res
	[ -z "$output" ]
	[ "$stderr" = "ds-knn: bad.res:1: expected query_id, rank, id and score" ]
	printf 'q\t1\ta\tnan\n' > bad.res
	run -65 --separate-stderr ds-knn -M < bad.res
	[ -z "$output" ]
	[ "$stderr" = "ds-knn: stdin:1: score is not a finite number" ]
}

@test "--fuse rrf sums weight / (60 + rank)" {
	printf 'q\t1\ta\t0.9\tpa\nq\t2\tb\t0.8\tpb\n' > d.res
	printf 'q\t1\tb\t7\tpb2\nq\t2\tc\t3\tpc\n' > s.res
	run -0 --separate-stderr ds-knn --fuse rrf d.res s.res
	[ -z "$stderr" ]
	# b: 1/62 + 1/61; a: 1/61; c: 1/62; then b: 1/62 + 3/61.
	assert_output "$(printf '%s\n' 'q	1	b	0.032522474	pb' \
	    'q	2	a	0.016393442	pa' 'q	3	c	0.016129032	pc')"
	run -0 --separate-stderr ds-knn -F rrf -W 1,3 -k 1 d.res s.res
	[ -z "$stderr" ]
	assert_output 'q	1	b	0.06530936	pb'
}

@test "--fuse sum adds weighted scores scaled per list" {
	printf 'q\t1\ta\t0.9\nq\t2\tb\t0.5\nq\t3\tc\t0.4\n' > d.res
	printf 'q\t1\tc\t10\nq\t2\ta\t5\n' > s.res
	run -0 --separate-stderr ds-knn --fuse sum --weights 1,2 d.res s.res
	[ -z "$stderr" ]
	# a: 1 + 2 * 0; c: 0 + 2 * 1; b: 0.2.
	assert_output "$(printf '%s\n' 'q	1	c	2' 'q	2	a	1' 'q	3	b	0.2')"
}

@test "--fuse and --merge options are checked (64)" {
	run -64 --separate-stderr ds-knn --fuse max a b
	[ -z "$output" ]
	[ "$stderr" = "ds-knn: --fuse max: not rrf or sum" ]
	printf 'q\t1\ta\t1\n' > a.res
	run -64 --separate-stderr ds-knn -F sum -W 1 a.res a.res
	[ -z "$output" ]
	[ "$stderr" = "ds-knn: --weights: 1 weights for 2 result lists" ]
	run -64 --separate-stderr ds-knn -W 1,x -F sum a.res a.res
	[ -z "$output" ]
	[ "$stderr" = "ds-knn: --weights 1,x: x: invalid" ]
	run -64 --separate-stderr ds-knn -W 1 a.res
	[ -z "$output" ]
	[ "$stderr" = "ds-knn: --weights goes with --fuse" ]
	run -64 --separate-stderr ds-knn -M -F rrf a.res
	[ -z "$output" ]
	[ "$stderr" = "ds-knn: --merge and --fuse exclude each other" ]
}

@test "--timing reports reading and searching on stderr" {
	run -0 --separate-stderr ds-knn -t -k 1 "$IX" "$Q"
	assert_output "$(printf '%s\n' 'q1	1	a	0.9950372	x' \
	    'q2	1	b	0.9805807	y')"
	[[ "${stderr}" =~ ^"ds-knn: $IX: 6 dense rows read in "[0-9.]+" s"$'\n'"ds-knn: 2 queries searched in "[0-9.]+" s ("[0-9.]+" GFLOP/s), "[0-9.]+" s of processor time"$ ]]
}

@test "a write error on stdout is 74" {
	run -74 --separate-stderr sh -c "ds-knn '$IX' '$Q' > /dev/full"
	[ -z "$output" ]
	[ "$stderr" = "ds-knn: stdout: No space left on device" ]
}
