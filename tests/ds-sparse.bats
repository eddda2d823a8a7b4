#!/usr/bin/env bats
# ds-sparse: BM25 document and query vectors, statistics, explanations.

bats_require_minimum_version 1.5.0

setup() {
	load '/usr/lib/bats/bats-support/load'
	load '/usr/lib/bats/bats-assert/load'
	ROOT="$BATS_TEST_DIRNAME/.."
	PATH="$ROOT/bin:$PATH"
	cd "$BATS_TEST_TMPDIR"
	unset DS_FORMAT
	printf '#ds kind=text\nd1\ta b\nd2\tA c, c!\nd3\tb\n' > hand.tsv
}

# Compare two sparse bodies index by index, values to 1e-6 relative.
same_vector() {
	awk -v a="$1" -v b="$2" 'BEGIN {
		na = split(a, x, " "); nb = split(b, y, " ")
		if (na != nb) exit 1
		for (i = 1; i <= na; i++) {
			split(x[i], p, ":"); split(y[i], q, ":")
			if (p[1] != q[1]) exit 1
			d = p[2] - q[2]; if (d < 0) d = -d
			m = q[2] < 0 ? -q[2] : q[2]
			if (d > 1e-6 * m) exit 1
		}
	}'
}

@test "ds-sparse --help prints the usage on stdout" {
	run -0 --separate-stderr ds-sparse --help
	assert_output --regexp '^usage: ds-sparse '
	[ -z "$stderr" ]
}

@test "ds-sparse: usage errors exit 64" {
	run -64 --separate-stderr ds-sparse -q hand.tsv
	[ "$stderr" = "ds-sparse: -q needs the documents' statistics: -s FILE" ]
	[ -z "$output" ]
	run -64 --separate-stderr ds-sparse -u hand.tsv
	[ "$stderr" = "ds-sparse: -u updates a statistics file: give -s FILE without -q" ]
	run -64 --separate-stderr ds-sparse -T letters hand.tsv
	[ "$stderr" = "ds-sparse: -T letters: expected qwen3 or words" ]
	run -64 --separate-stderr ds-sparse -k -1 hand.tsv
	[ "$stderr" = "ds-sparse: -k -1: too small" ]
	run -64 --separate-stderr ds-sparse -B 2 hand.tsv
	[ "$stderr" = "ds-sparse: -B 2: too large" ]
}

@test "BM25 weights equal a hand computation on a tiny corpus" {
	# N = 3, avglen = 2; idf(a) = idf(b) = ln(1.6), idf(c) = ln(8/3).
	# d1 (len 2): norm = 1.2, weight = idf * 2.2 / 2.2
	# d2 (len 3): norm = 1.65; a: ln(1.6) * 2.2 / 2.65,
	#             c (tf 2): ln(8/3) * 4.4 / 3.65
	# d3 (len 1): norm = 0.75; b: ln(1.6) * 2.2 / 1.75
	# Word indexes: FNV-1a 32 of "a", "b", "c", top bit cleared.
	run -0 --separate-stderr ds-sparse -T words hand.tsv
	[ -z "$stderr" ]
	[ "${lines[0]}" = "#ds kind=sparse model=bm25-words bm25=document k1=1.2 b=0.75 docs=3" ]
	same_vector "$(echo "${lines[1]}" | cut -f2)" \
	    "1678518572:0.4700036292 1728851429:0.4700036292"
	same_vector "$(echo "${lines[2]}" | cut -f2)" \
	    "1678518572:0.3901916922 1712073810:1.1823695105"
	same_vector "$(echo "${lines[3]}" | cut -f2)" "1728851429:0.5908617053"
	# and with other k1 and b: d2 with k1 = 2, b = 0 (norm = 2):
	# a: ln(1.6) * 3 / 3; c: ln(8/3) * 2 * 3 / (2 + 2)
	run -0 ds-sparse -T words -k 2 -B 0 hand.tsv
	same_vector "$(echo "${lines[2]}" | cut -f2)" \
	    "1678518572:0.4700036292 1712073810:1.4712438795"
}

@test "the dot product of query and document vectors is BM25 (real corpus)" {
	ds-chunk -m 200 /usr/share/common-licenses/GPL-3 \
	    /usr/share/common-licenses/Apache-2.0 > docs.tsv
	awk -F'\t' 'NR > 1 && NR % 4 == 0 { n = split($NF, w, " "); s = "";
	    for (i = 1; i <= n && i <= 6; i++) s = s " " w[i];
	    print "q" NR "\t" s }' docs.tsv > q.tsv
	run -0 "$ROOT/tests/bm25-ref" docs.tsv q.tsv
	assert_output --regexp 'max relative error [0-9.e-]+$'
	run -0 "$ROOT/tests/bm25-ref" docs.tsv q.tsv 0.9 0.4
}

@test "queries: counts as weights, unknown terms dropped and counted" {
	ds-sparse -T words -s stats hand.tsv > /dev/null
	printf 'c c zebra a\n' > q.txt
	run -0 --separate-stderr ds-sparse -T words -q -s stats q.txt
	assert_output "#ds kind=sparse model=bm25-words bm25=query
1	1678518572:1 1712073810:2"
	[ "$stderr" = "ds-sparse: 1 query term not in the statistics dropped" ]
}

@test "the statistics file is readable text" {
	run -0 ds-sparse -T words -s stats hand.tsv
	run -0 cat stats
	assert_output "#ds-bm25 version=1 terms=words space=2147483648 docs=3 tokens=6
1678518572	2	a
1712073810	1	c
1728851429	2	b"
}

@test "--update merges statistics" {
	ds-sparse -T words -s stats hand.tsv > /dev/null
	printf 'd4\tc d\n' > more.tsv
	run -0 ds-sparse -T words -u -s stats more.tsv
	[ "${lines[0]}" = "#ds kind=sparse model=bm25-words bm25=document k1=1.2 b=0.75 docs=4" ]
	run -0 head -n 1 stats
	assert_output "#ds-bm25 version=1 terms=words space=2147483648 docs=4 tokens=8"
	run -0 grep -c . stats
	assert_output 5
}

@test "--explain shows terms and weights, best first" {
	run -0 --separate-stderr ds-sparse -T words -e hand.tsv
	assert_output "#ds kind=text model=bm25-words bm25=document k1=1.2 b=0.75 docs=3
d1	a:0.47 b:0.47
d2	c:1.182 a:0.3902
d3	b:0.5909"
	printf 'd1\tThe cat sat.\nd2\tThe dog sat.\n' > qw.tsv
	run -0 ds-sparse -e qw.tsv
	# N = 2, every length 4: a weight is its idf, ln 2 or ln 1.2;
	# ties go by index.
	assert_line --index 1 "d1	▁cat:0.6931 .:0.1823 ▁The:0.1823 ▁sat:0.1823"
}

@test "empty documents give empty vectors and count in the statistics" {
	printf 'e1\t\ne2\ta a\n' > empty.tsv
	run -0 --separate-stderr ds-sparse -T words -s stats empty.tsv
	assert_line --index 1 "e1	"
	[ -z "$stderr" ]
	run -0 head -n 1 stats
	assert_output "#ds-bm25 version=1 terms=words space=2147483648 docs=2 tokens=2"
	run -0 --separate-stderr ds-sparse /dev/null
	assert_output "#ds kind=sparse model=bm25-qwen3 dim=151669 bm25=document k1=1.2 b=0.75 docs=0"
	[ -z "$stderr" ]
}

@test "terms in every document and punctuation keep small positive weights" {
	printf 'a\tthe the .\nb\tthe .\nc\tthe , .\n' > stop.tsv
	run -0 ds-sparse -T words stop.tsv
	# idf(the) = ln(1 + 0.5 / 3.5) > 0; punctuation is no word.
	run -0 sh -c "ds-sparse -T words stop.tsv | tail -n +2 | cut -f2 | tr ' ' '\n' | cut -d: -f2 | sort -g | head -n 1"
	awk -v v="$output" 'BEGIN { exit !(v > 0) }'
	run -0 sh -c "ds-sparse stop.tsv | tail -n +2 | cut -f2 | tr ' ' '\n' | cut -d: -f2 | sort -g | head -n 1"
	awk -v v="$output" 'BEGIN { exit !(v > 0) }'
}

@test "words: Unicode lower case and NFC make one term" {
	printf 'a\tÉCOLE\nb\tE\314\201cole école\n' > u.tsv
	run -0 ds-sparse -T words -e u.tsv
	# One term in both: idf = ln 1.2; a (len 1, tf 1): * 2.2 / 1.9;
	# b (len 2, tf 2): * 4.4 / 3.5.
	assert_line --index 1 "a	école:0.2111"
	assert_line --index 2 "b	école:0.2292"
	printf 'c\t東京タワー and 北京\n' > cjk.tsv
	run -0 ds-sparse -T words -e cjk.tsv
	assert_line --index 1 --regexp "^c	(東京タワー|and|北京):"
}

@test "a corrupt statistics file is refused (65)" {
	printf 'garbage\n' > bad.stats
	run -65 --separate-stderr ds-sparse -q -s bad.stats hand.tsv
	[ "$stderr" = "ds-sparse: bad.stats:1: not a ds-sparse statistics file" ]
	ds-sparse -T words -s good.stats hand.tsv > /dev/null
	sed '3s/.*/12x\t1/' good.stats > bad.stats
	run -65 --separate-stderr ds-sparse -T words -q -s bad.stats hand.tsv
	[ "$stderr" = "ds-sparse: bad.stats:3: expected index<TAB>df" ]
	sed '3s/\t1\t/\t9\t/' good.stats > bad.stats
	run -65 --separate-stderr ds-sparse -T words -q -s bad.stats hand.tsv
	[ "$stderr" = "ds-sparse: bad.stats:3: df 9 out of range (docs=3)" ]
	sed '2d' good.stats | sed '2{h;d};3G' > swapped.stats
	run -65 --separate-stderr ds-sparse -T words -q -s swapped.stats hand.tsv
	[[ "$stderr" == "ds-sparse: swapped.stats:3: index "*" out of order" ]]
	: > empty.stats
	run -65 --separate-stderr ds-sparse -T words -q -s empty.stats hand.tsv
	[ "$stderr" = "ds-sparse: empty.stats: empty file" ]
}

@test "statistics from other terms or another tokenizer are refused (65)" {
	ds-sparse -T words -s words.stats hand.tsv > /dev/null
	run -65 --separate-stderr ds-sparse -q -s words.stats hand.tsv
	[ "$stderr" = "ds-sparse: words.stats:1: statistics of terms=words, not qwen3" ]
	ds-sparse -s qwen.stats hand.tsv > /dev/null
	sed '1s/space=151669/space=32000/' qwen.stats > other.stats
	run -65 --separate-stderr ds-sparse -q -s other.stats hand.tsv
	[ "$stderr" = "ds-sparse: other.stats:1: statistics of a tokenizer with 32000 terms, not 151669 (another tokenizer?)" ]
}

@test "a missing statistics file or input exits 66" {
	run -66 --separate-stderr ds-sparse -q -s nothere.stats hand.tsv
	[ "$stderr" = "ds-sparse: nothere.stats: No such file or directory" ]
	run -66 --separate-stderr ds-sparse -T words nothere.tsv hand.tsv
	[ "$stderr" = "ds-sparse: nothere.tsv: No such file or directory" ]
	[ "${#lines[@]}" -eq 4 ]
}

@test "a vector stream as input is refused (65)" {
	printf '#ds kind=dense dim=2\na\t1 2\n' > dense.tsv
	run -65 --separate-stderr ds-sparse dense.tsv
	[ "$stderr" = "ds-sparse: dense.tsv:1: expected a text stream, found kind=dense" ]
}

@test "a missing tokenizer file is a configuration error (78)" {
	run -78 --separate-stderr env DS_DATA_DIR=/nonexistent ds-sparse hand.tsv
	[[ "$stderr" == "ds-sparse: /nonexistent/qwen3-tok.bin: "*"(run make data)" ]]
	[ -z "$output" ]
}

@test "binary output reads back as the same vectors" {
	ds-sparse -T words hand.tsv > a.tsv
	ds-sparse -T words -b hand.tsv | ds-cat > b.tsv
	cmp a.tsv b.tsv
}

@test "payload fields pass through" {
	printf 'x\tlabel1\tcat dog\n' > p.tsv
	run -0 ds-sparse -T words -e p.tsv
	assert_line --index 1 --regexp "^x	label1	(cat|dog):"
}

@test "a write error on stdout exits 74" {
	run -74 --separate-stderr sh -c 'ds-sparse -T words hand.tsv > /dev/full'
	[ "$stderr" = "ds-sparse: stdout: No space left on device" ]
}

@test "hashed word vectors search through ds-knn: exact BM25 ranking" {
	printf 'd1\tthe cat sat on the mat\nd2\ta dog chased the cat\nd3\tstock markets fell\n' > c.tsv
	ds-sparse -T words -s stats c.tsv > docs.tsv
	run -0 --separate-stderr sh -c 'echo "cat on a mat" | ds-sparse -T words -q -s stats | ds-knn -k 3 docs.tsv'
	[ "${#lines[@]}" -eq 3 ]
	[[ "${lines[0]}" == "1	1	d1	"* ]]
	[[ "${lines[1]}" == "1	2	d2	"* ]]
	[[ "${lines[2]}" == "1	3	d3	0" ]]
}
