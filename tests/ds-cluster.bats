#!/usr/bin/env bats
# ds-cluster: k-means over a vector stream, its scores, pictures and the
# map and reduce steps.

bats_require_minimum_version 1.5.0

setup() {
	load '/usr/lib/bats/bats-support/load'
	load '/usr/lib/bats/bats-assert/load'
	PATH="$BATS_TEST_DIRNAME/../bin:$PATH"
	DATA="$BATS_TEST_DIRNAME/data"
	cd "$BATS_TEST_TMPDIR"
	unset DS_FORMAT
}

# The clusters as groups of ids, one sorted line per group, the groups in
# sorted order: a clustering independent of how its clusters are numbered.
groups() {
	sort -t "$(printf '\t')" -k2,2n -k1,1 "$1" |
	    awk -F '\t' '$2 != c { if (NR > 1) print line; line = ""; c = $2 }
		{ line = line " " $1 } END { print line }' | sort
}

# The classes of a labelled file as groups of ids, in the same form.
classes() {
	grep -v '^#' "$1" | sort -t "$(printf '\t')" -k2,2 -k1,1 |
	    awk -F '\t' '$2 != c { if (NR > 1) print line; line = ""; c = $2 }
		{ line = line " " $1 } END { print line }' | sort
}

# Largest absolute difference between the vectors of two centroid files.
maxdiff() {
	paste "$1" "$2" | awk -F '\t' '!/^#/ {
		n = split($2, a, " "); split($4, b, " ")
		for (i = 1; i <= n; i++) { d = a[i] - b[i]; if (d < 0) d = -d
		if (d > m) m = d } } END { printf "%.3g\n", m }'
}

@test "ds-cluster --help prints the usage on stdout and exits 0" {
	run -0 --separate-stderr ds-cluster --help
	assert_output --regexp '^usage: ds-cluster '
	[ -z "$stderr" ]
}

@test "ds-cluster --version prints the version" {
	run -0 --separate-stderr ds-cluster --version
	assert_output --regexp '^ds-cluster [0-9]+\.[0-9]+\.[0-9]+$'
	[ -z "$stderr" ]
}

@test "ds-cluster with no -k, or an unknown option, is a usage error (64)" {
	run -64 --separate-stderr ds-cluster "$DATA/topics.tsv"
	[ -z "$output" ]
	[[ "$stderr" == "usage: ds-cluster "* ]]
	run -64 --separate-stderr ds-cluster -k 2 --bogus "$DATA/topics.tsv"
	[ -z "$output" ]
	[[ "$stderr" == *"usage: ds-cluster "* ]]
}

@test "ds-cluster -k 0 is a usage error (64)" {
	run -64 --separate-stderr ds-cluster -k 0 "$DATA/topics.tsv"
	[ -z "$output" ]
	[ "$stderr" = "ds-cluster: -k 0: too small" ]
}

@test "bad option values are usage errors (64)" {
	run -64 --separate-stderr ds-cluster -k 2 -m dot "$DATA/topics.tsv"
	[ "$stderr" = "ds-cluster: --metric dot: expected l2 or cos" ]
	[ -z "$output" ]
	run -64 --separate-stderr ds-cluster -k 2 -i best "$DATA/topics.tsv"
	[ "$stderr" = "ds-cluster: --init best: expected kmeans++ or random" ]
	run -64 --separate-stderr ds-cluster -k 2 -t -1 "$DATA/topics.tsv"
	[ "$stderr" = "ds-cluster: --tol -1: too small" ]
	run -64 --separate-stderr ds-cluster -k auto -K 5 "$DATA/topics.tsv"
	[ "$stderr" = "ds-cluster: -K 5: expected lo:hi" ]
	run -64 --separate-stderr ds-cluster -k 3 -K 2:5 "$DATA/topics.tsv"
	[ "$stderr" = "ds-cluster: --k-range needs -k auto" ]
	[ -z "$output" ]
}

@test "k larger than the number of records is bad data (65)" {
	run -65 --separate-stderr ds-cluster -k 31 "$DATA/topics.tsv"
	[ -z "$output" ]
	[ "$stderr" = "ds-cluster: k (31) is larger than the number of records (30)" ]
}

@test "three separate topics come out as three clusters, in input order" {
	run -0 --separate-stderr ds-cluster -k 3 "$DATA/topics.tsv"
	[ "${#lines[@]}" -eq 30 ]
	# id, cluster, score, then the payload untouched.
	[[ "${lines[0]}" =~ ^doc0$'\t'[0-2]$'\t'[0-9.]+$'\t'security$'\t'"rotate the api keys and credentials"$ ]]
	[[ "${lines[29]}" =~ ^doc29$'\t' ]]
	printf '%s\n' "$output" > out
	[ "$(groups out)" = "$(classes "$DATA/topics.tsv")" ]
	[ "${stderr}" = "ds-cluster: 30 records, dim 4, k 3, metric l2, 2 iterations (converged)
ds-cluster: objective 26.1557007
ds-cluster: sizes 10 10 10" ]
}

@test "the score is the distance to the centroid written by -c" {
	run -0 --separate-stderr ds-cluster -k 3 -c cent.tsv "$DATA/topics.tsv"
	printf '%s\n' "$output" > out
	# Recompute doc0's distance from its centroid with awk.
	want=$(awk -F '\t' -v c="c$(cut -f2 out | head -1)" '
		FNR == NR { if ($1 == c) n = split($2, m, " "); next }
		$1 == "doc0" { split($4, v, " ")
		for (i = 1; i <= n; i++) s += (v[i] - m[i]) ^ 2
		printf "%.9f\n", sqrt(s) }' cent.tsv "$DATA/topics.tsv")
	got=$(awk -F '\t' 'NR == 1 { print $3 }' out)
	awk -v a="$got" -v b="$want" 'BEGIN { d = a - b; exit !(d < 1e-5 && d > -1e-5) }'
	[[ "$stderr" == *"sizes 10 10 10" ]]
}

@test "-c writes the centroids as a stream that -C reads back" {
	run -0 --separate-stderr ds-cluster -k 3 -s 5 -c cent.tsv "$DATA/topics.tsv"
	printf '%s\n' "$output" > first
	run -0 cut -f1 cent.tsv
	[ "$output" = "#ds kind=dense dim=4 model=toy
c0
c1
c2" ]
	run -0 --separate-stderr ds-cluster -C cent.tsv "$DATA/topics.tsv"
	printf '%s\n' "$output" > again
	cmp first again
	[[ "$stderr" == *"k 3, metric l2, 1 iteration (converged)"* ]]
}

@test "k = 1 puts every record in cluster 0, around the mean" {
	run -0 --separate-stderr ds-cluster -k 1 -c - "$DATA/eval.tsv"
	[ "${lines[6]}" = "#ds kind=dense dim=2" ]
	[ "${lines[7]}" = "c0	3.3833332 0.05" ]
	run -0 sh -c 'ds-cluster -k 1 "$1" 2>/dev/null | cut -f2 | sort -u' sh \
	    "$DATA/eval.tsv"
	[ "$output" = "0" ]
}

@test "the same seed gives the same output on 1 and 2 threads" {
	ds-cluster -k 7 -s 3 -j 1 -c c1 "$DATA/blobs.tsv" > o1 2> e1
	ds-cluster -k 7 -s 3 -j 2 -c c2 "$DATA/blobs.tsv" > o2 2> e2
	ds-cluster -k 7 -s 3 -c c3 "$DATA/blobs.tsv" > o3 2> e3
	cmp o1 o2
	cmp o1 o3
	cmp c1 c2
	cmp e1 e2
	run -0 ds-cluster -k 7 -s 4 "$DATA/blobs.tsv"
	[ "$output" != "$(cat o1)" ]
	[ "$(wc -l < o1)" -eq 400 ]
}

@test "--init random and --restarts keep the lowest objective" {
	obj() { ds-cluster "$@" "$DATA/blobs.tsv" 2>&1 >/dev/null |
	    sed -n 's/^ds-cluster: objective //p'; }
	one=$(obj -k 7 -i random -s 1)
	best=$(obj -k 7 -i random -s 1 -r 4)
	[ -n "$one" ] && [ -n "$best" ]
	awk -v a="$best" -v b="$one" 'BEGIN { exit !(a <= b) }'
	run -0 --separate-stderr ds-cluster -k 7 -i random -s 1 -r 4 \
	    "$DATA/blobs.tsv"
	[[ "${stderr}" =~ "best of 4 restarts ("[1-4]")" ]]
	[ "${#lines[@]}" -eq 400 ]
}

@test "--max-iter stops early and --tol 0 runs until nothing moves" {
	run -0 --separate-stderr ds-cluster -k 7 -s 2 -n 2 "$DATA/blobs.tsv"
	[[ "$stderr" == *"k 7, metric l2, 2 iterations"$'\n'* ]]
	run -0 --separate-stderr ds-cluster -k 7 -s 2 -t 0 "$DATA/blobs.tsv"
	[[ "$stderr" == *"iterations (converged)"* ]]
	[ "${#lines[@]}" -eq 400 ]
}

@test "norm=l2 streams are clustered by cosine, with similarities as scores" {
	run -0 --separate-stderr ds-cluster -k 3 -e "$DATA/topics-unit.tsv"
	[[ "$stderr" == "ds-cluster: 30 records, dim 4, k 3, metric cos,"* ]]
	[[ "$stderr" == *"purity 1.0000, NMI 1.0000, ARI 1.0000" ]]
	printf '%s\n' "$output" > out
	awk -F '\t' '$3 <= 0 || $3 > 1.000001 { exit 1 }' out
	run -0 --separate-stderr ds-cluster -k 3 -m cos -c - "$DATA/topics.tsv"
	[[ "$stderr" == *"metric cos"* ]]
	[ "${lines[30]}" = "#ds kind=dense dim=4 model=toy norm=l2" ]
}

@test "a zero vector under cosine is bad data (65)" {
	printf '#ds kind=dense dim=2 norm=l2\na\t1 0\nb\t0 0\n' > z.tsv
	run -65 --separate-stderr ds-cluster -k 1 z.tsv
	[ -z "$output" ]
	[ "$stderr" = "ds-cluster: z.tsv:3: zero vector has no direction under --metric cos" ]
	# Under l2 it is an ordinary point.
	run -0 --separate-stderr ds-cluster -k 2 -m l2 z.tsv
	[ "${#lines[@]}" -eq 2 ]
}

@test "inputs with different headers are bad data (65)" {
	printf '#ds kind=dense dim=4 model=other\nx\t1 0 0 0\n' > other.tsv
	run -65 --separate-stderr ds-cluster -k 2 "$DATA/topics.tsv" other.tsv
	[ -z "$output" ]
	[ "$stderr" = "ds-cluster: other.tsv: model=other does not match model=toy of $DATA/topics.tsv" ]
	printf 'x\t1 0 0\n' > three.tsv
	run -65 --separate-stderr ds-cluster -k 2 "$DATA/eval.tsv" three.tsv
	[ "$stderr" = "ds-cluster: three.tsv:1: expected 2 floats, found 3" ]
	[ -z "$output" ]
}

@test "a malformed record is bad data (65) with its line" {
	printf '#ds kind=dense dim=2\na\t1 0\nb\t1 x\n' > bad.tsv
	run -65 --separate-stderr ds-cluster -k 1 bad.tsv
	[ -z "$output" ]
	[[ "$stderr" == "ds-cluster: bad.tsv:3: "* ]]
}

@test "centroids of the wrong dim are bad data (65)" {
	printf 'c0\t1 2 3\n' > c3.tsv
	run -65 --separate-stderr ds-cluster -C c3.tsv "$DATA/eval.tsv"
	[ -z "$output" ]
	[ "$stderr" = "ds-cluster: c3.tsv:1: centroid has dim 3, the records have dim 2" ]
	run -65 --separate-stderr ds-cluster -k 3 -C "$DATA/eval-centroids.tsv" \
	    "$DATA/eval.tsv"
	[ "$stderr" = "ds-cluster: $DATA/eval-centroids.tsv: 2 centroids, not -k 3" ]
}

@test "a missing input is a warning, then exit 66" {
	run -66 --separate-stderr ds-cluster -k 2 nosuch.tsv "$DATA/eval.tsv"
	[ "${#lines[@]}" -eq 6 ]
	[[ "$stderr" == "ds-cluster: nosuch.tsv: "* ]]
	run -66 --separate-stderr ds-cluster -k 2 nosuch.tsv
	[ -z "$output" ]
}

@test "a write error on standard output exits 74" {
	run -74 --separate-stderr sh -c 'ds-cluster -k 2 "$1" > /dev/full' sh \
	    "$DATA/eval.tsv"
	[[ "$stderr" == *"ds-cluster: stdout: No space left on device" ]]
}

@test "duplicate points: clusters stay whole, and k above the distinct points warns" {
	printf '#ds kind=dense dim=2\n' > dup.tsv
	for i in 1 2 3 4; do printf 'a%s\t1 1\nb%s\t5 5\n' $i $i; done >> dup.tsv
	run -0 --separate-stderr ds-cluster -k 2 dup.tsv
	printf '%s\n' "$output" > out
	[ "$(groups out)" = " a1 a2 a3 a4
 b1 b2 b3 b4" ]
	[[ "$stderr" == *"objective 0"$'\n'* ]]
	run -0 --separate-stderr ds-cluster -k 3 dup.tsv
	[ "${#lines[@]}" -eq 8 ]
	[[ "$stderr" == *"ds-cluster: 1 cluster still empty: fewer distinct records than k?" ]]
}

@test "an empty cluster is re-seeded from the farthest record" {
	printf '#ds kind=dense dim=2\nc0\t0 0\nc1\t100 100\n' > far.tsv
	run -0 --separate-stderr ds-cluster -C far.tsv -t 0 "$DATA/eval.tsv"
	[[ "$stderr" == *"ds-cluster: 1 empty cluster re-seeded"* ]]
	[[ "$stderr" == *"sizes 2 4"* || "$stderr" == *"sizes 4 2"* ]]
	[ "${#lines[@]}" -eq 6 ]
}

@test "--eval prints purity, NMI and ARI (checked against scikit-learn)" {
	run -0 --separate-stderr ds-cluster -C "$DATA/eval-centroids.tsv" -e \
	    "$DATA/eval.tsv"
	[ "${lines[0]}" = "p0	0	0.05	a" ]
	[[ "$stderr" == *$'\n'"ds-cluster: 2 classes: purity 0.8333, NMI 0.4787, ARI 0.3243" ]]
}

@test "--eval needs a label on every record (65)" {
	run -65 --separate-stderr ds-cluster -k 2 -e "$DATA/blobs.tsv"
	[ -z "$output" ]
	[ "$stderr" = "ds-cluster: $DATA/blobs.tsv:2: --eval needs a label as the first payload field" ]
}

@test "--silhouette prints the silhouette (checked against scikit-learn)" {
	run -0 --separate-stderr ds-cluster -C "$DATA/eval-centroids.tsv" -S \
	    "$DATA/eval.tsv"
	[[ "$stderr" == *$'\n'"ds-cluster: silhouette 0.9599 (6 of 6 records)" ]]
	[ "${#lines[@]}" -eq 6 ]
	run -0 --separate-stderr ds-cluster -k 1 -S "$DATA/eval.tsv"
	[[ "$stderr" == *$'\n'"ds-cluster: --silhouette: the silhouette needs at least two clusters" ]]
}

@test "-k auto picks k by silhouette and prints the curve" {
	run -0 --separate-stderr ds-cluster -k auto -K 2:5 "$DATA/topics.tsv"
	[ "${#lines[@]}" -eq 30 ]
	run -0 sh -c 'ds-cluster -k auto -K 2:5 "$1" 2>&1 >/dev/null |
	    grep -c "^ds-cluster: k [2-5]: silhouette [0-9.-]*$"' sh \
	    "$DATA/topics.tsv"
	[ "$output" = 4 ]
	run -0 --separate-stderr ds-cluster -k auto -K 2:5 "$DATA/topics.tsv"
	[[ "$stderr" == *$'\n'"ds-cluster: chose k 3"$'\n'"ds-cluster: 30 records, dim 4, k 3,"* ]]
	run -65 --separate-stderr ds-cluster -k auto -K 7:9 "$DATA/eval.tsv"
	[ "$stderr" = "ds-cluster: -k auto: 6 records allow no k in 7:9" ]
}

@test "--describe names each topic's words and nearest records" {
	run -0 --separate-stderr ds-cluster -k 3 -d "$DATA/topics.tsv"
	[ "${#lines[@]}" -eq 30 ]
	[[ "$stderr" =~ "words: credentials"|"words: "[a-z\ ]*" credentials" ]]
	[[ "$stderr" =~ "words: soil tomato garden" ]]
	[[ "$stderr" =~ "words: kernel scheduler threads" ]]
	[ "$(printf '%s\n' "$stderr" | grep -c '^cluster [0-2]: 10 records$')" -eq 3 ]
	[ "$(printf '%s\n' "$stderr" | grep -c '^  doc[0-9]*: ')" -eq 9 ]
}

@test "--plot writes an SVG that headless Chromium renders" {
	command -v chromium || fail "chromium is missing: run scripts/setup"
	run -0 --separate-stderr ds-cluster -k 3 -p plot.svg "$DATA/topics.tsv"
	[ "${#lines[@]}" -eq 30 ]
	[ "$(grep -c '<circle ' plot.svg)" -eq 30 ]
	[ "$(grep -c 'class="centroid"' plot.svg)" -eq 3 ]
	grep -q '<title>doc17</title>' plot.svg
	# An empty page of the same size, to tell a drawing from a blank.
	printf '<svg xmlns="http://www.w3.org/2000/svg" width="900" height="700"><rect width="100%%" height="100%%" fill="white"/></svg>\n' > blank.svg
	for f in plot blank; do
		run chromium --headless --no-sandbox --disable-gpu \
		    --disable-quic --no-first-run \
		    --disable-background-networking \
		    --disable-component-update --disable-sync \
		    --user-data-dir="$(mktemp -d)" --window-size=900,700 \
		    --screenshot="$PWD/$f.png" "file://$PWD/$f.svg"
		[ "$status" -eq 0 ]
		[[ "$output" == *"bytes written to file $PWD/$f.png"* ]]
	done
	# A PNG of 900 x 700 pixels, with much more in it than a blank page.
	[ "$(head -c 8 plot.png | od -An -tx1 | tr -d ' ')" = 89504e470d0a1a0a ]
	[ "$(od -An -tu1 -j16 -N8 plot.png | tr -s ' ')" = " 0 0 3 132 0 0 2 188" ]
	[ "$(wc -c < plot.png)" -gt $(( 3 * $(wc -c < blank.png) )) ]
}

@test "map and reduce over shards with GNU parallel equal one process" {
	command -v parallel || fail "GNU parallel is missing: run scripts/setup"
	head -1 "$DATA/blobs.tsv" > c0.tsv
	sed -n '2,6p' "$DATA/blobs.tsv" >> c0.tsv
	ds-cluster -C c0.tsv -n 4 -t 0 -c single.tsv "$DATA/blobs.tsv" \
	    > /dev/null 2>&1
	tail -n +2 "$DATA/blobs.tsv" > body
	split -n l/3 body shard.
	for s in shard.aa shard.ab shard.ac; do
		{ head -1 "$DATA/blobs.tsv"; cat "$s"; } > "$s.tsv"
	done
	cp c0.tsv cur.tsv
	for i in 1 2 3 4; do
		parallel 'ds-cluster --map -C cur.tsv {} > {}.part' ::: shard.a?.tsv
		ds-cluster --reduce -C cur.tsv shard.a?.tsv.part > next.tsv \
		    2> reduce.err
		mv next.tsv cur.tsv
	done
	[ "$(wc -l < cur.tsv)" -eq 6 ]
	run -0 maxdiff single.tsv cur.tsv
	awk -v d="$output" 'BEGIN { exit !(d <= 1e-5) }'
	run -0 head -1 shard.aa.tsv.part
	[ "$output" = "#ds kind=dense dim=8 model=toy partial=kmeans metric=l2" ]
	[ "$(sed -n 1p reduce.err)" = "ds-cluster: reduce: 400 records, k 5, metric l2" ]
}

@test "--map needs -C, and --reduce refuses other streams" {
	run -64 --separate-stderr ds-cluster --map "$DATA/blobs.tsv"
	[ "$stderr" = "ds-cluster: --map needs the current centroids (--init-centroids)" ]
	[ -z "$output" ]
	run -65 --separate-stderr ds-cluster --reduce "$DATA/blobs.tsv"
	[ "$stderr" = "ds-cluster: $DATA/blobs.tsv: not partial sums from ds-cluster --map (no partial=kmeans)" ]
	[ -z "$output" ]
	run -64 --separate-stderr ds-cluster --map --reduce -C x
	[ "$stderr" = "ds-cluster: choose one of --map, --reduce and --mini-batch" ]
}

@test "--mini-batch clusters in batches read from the files" {
	run -0 --separate-stderr ds-cluster -k 3 -B 12 -n 3 -c mb.tsv \
	    "$DATA/topics.tsv"
	[ "${#lines[@]}" -eq 30 ]
	printf '%s\n' "$output" > out
	[ "$(groups out)" = "$(classes "$DATA/topics.tsv")" ]
	[[ "$stderr" == "ds-cluster: 30 records, dim 4, k 3, metric l2, 3 mini-batch passes of 12"$'\n'* ]]
	[ "$(wc -l < mb.tsv)" -eq 4 ]
	run -64 --separate-stderr ds-cluster -k 3 -B 12 < "$DATA/topics.tsv"
	[[ "$stderr" == "ds-cluster: --mini-batch reads its files more than once"* ]]
	run -64 --separate-stderr ds-cluster -k 3 -B 2 "$DATA/topics.tsv"
	[ "$stderr" = "ds-cluster: --mini-batch 2: smaller than k (3)" ]
	run -64 --separate-stderr ds-cluster -k 3 -B 12 -e "$DATA/topics.tsv"
	[[ "$stderr" == "ds-cluster: --eval, --silhouette, --describe, --plot and --restarts need all records"* ]]
}

@test "binary streams in, binary centroids out" {
	ds-cat -b "$DATA/topics.tsv" > topics.bin
	ds-cluster -k 3 "$DATA/topics.tsv" > tsv.out 2> /dev/null
	run -0 --separate-stderr ds-cluster -k 3 -b -c cent.bin topics.bin
	printf '%s\n' "$output" > bin.out
	cmp tsv.out bin.out
	run -0 ds-cat cent.bin
	[ "${#lines[@]}" -eq 4 ]
	[ "${lines[0]}" = "#ds kind=dense dim=4 model=toy" ]
}

@test "--verbose adds the time spent reading, seeding and per iteration" {
	run -0 --separate-stderr ds-cluster -v -k 3 "$DATA/topics.tsv"
	[ "${#lines[@]}" -eq 30 ]
	[[ "$stderr" =~ $'\n'"ds-cluster: reading "[0-9]+\.[0-9]{3}" s, seeding "[0-9]+\.[0-9]{3}" s, iterations "[0-9]+\.[0-9]{3}" s ("[0-9]+\.[0-9]{2}" ms each)"$ ]]
}

@test "-n 0 with -C only labels the records by the given centroids" {
	run -0 --separate-stderr ds-cluster -C "$DATA/eval-centroids.tsv" -n 0 \
	    -c - "$DATA/eval.tsv"
	[ "${lines[0]}" = "p0	0	0	a" ]
	[ "${lines[2]}" = "p2	1	0	a" ]
	[ "${lines[7]}" = "c0	0 0" ]
	[ "${lines[8]}" = "c1	5 0" ]
	[[ "$stderr" == "ds-cluster: 6 records, dim 2, k 2, metric l2, 0 iterations"$'\n'* ]]
}
