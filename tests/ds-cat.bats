#!/usr/bin/env bats
# ds-cat and the record stream it reads and writes (docs/FORMAT.md).

bats_require_minimum_version 1.5.0

setup() {
	load '/usr/lib/bats/bats-support/load'
	load '/usr/lib/bats/bats-assert/load'
	PATH="$BATS_TEST_DIRNAME/../bin:$PATH"
	DATA="$BATS_TEST_DIRNAME/data"
	cd "$BATS_TEST_TMPDIR"
	unset DS_FORMAT
}

@test "ds-cat --help prints the usage on stdout and exits 0" {
	run -0 --separate-stderr ds-cat --help
	assert_output --regexp '^usage: ds-cat '
	[ -z "$stderr" ]
}

@test "ds-cat --version prints the version" {
	run -0 --separate-stderr ds-cat --version
	assert_output --regexp '^ds-cat [0-9]+\.[0-9]+\.[0-9]+$'
	[ -z "$stderr" ]
}

@test "ds-cat with an unknown option is a usage error (64)" {
	run -64 --separate-stderr ds-cat --bogus
	[ -z "$output" ]
	[[ "$stderr" == *"usage: ds-cat "* ]]
}

@test "ds-cat -s without = is a usage error (64)" {
	run -64 --separate-stderr ds-cat -s model "$DATA/dense.tsv"
	[ -z "$output" ]
	[ "$stderr" = "ds-cat: -s model: expected key=value" ]
}

@test "TSV streams of each kind pass through unchanged" {
	for f in dense sparse text; do
		run -0 --separate-stderr ds-cat "$DATA/$f.tsv"
		[ "$output" = "$(cat "$DATA/$f.tsv")" ]
		[ -z "$stderr" ]
	done
}

@test "TSV -> binary -> TSV -> binary is byte-identical" {
	for f in dense sparse text; do
		ds-cat -b "$DATA/$f.tsv" > a.bin
		ds-cat a.bin > b.tsv
		ds-cat -b b.tsv > b.bin
		cmp "$DATA/$f.tsv" b.tsv
		cmp a.bin b.bin
	done
}

@test "every finite float32 bit pattern survives TSV and binary exactly" {
	# 20000 random finite floats, normals and subnormals, as .fvecs.
	python3 - <<'EOF'
import random, struct
random.seed(7)
out = open("in.fvecs", "wb")
for row in range(2000):
    out.write(struct.pack("<i", 10))
    for j in range(10):
        while True:
            bits = random.getrandbits(32)
            if (bits >> 23) & 0xff != 0xff:
                break
        out.write(struct.pack("<I", bits))
EOF
	ds-cat -f fvecs in.fvecs > a.tsv
	ds-cat -b a.tsv | ds-cat | ds-cat -e fvecs > out.fvecs
	cmp in.fvecs out.fvecs
	run -0 ds-cat -i a.tsv
	assert_output --partial "records=2000 "
}

@test "shortest decimals: 0.1 is written 0.1" {
	printf '0.1 0.25 1e-06 -3 100000000 1e+10\n' > v.txt
	run -0 --separate-stderr ds-cat v.txt
	assert_output "#ds kind=dense dim=6
1	0.1 0.25 1e-06 -3 100000000 1e+10"
	[ -z "$stderr" ]
}

@test "the binary form starts with the magic and the header words" {
	ds-cat -b "$DATA/dense.tsv" > a.bin
	run -0 sh -c 'head -c 12 a.bin | od -An -tx1 | tr -s " \n" " "'
	assert_output " 89 44 53 42 0d 0a 1a 0a 01 00 00 00 "
	run -0 --separate-stderr ds-cat -i a.bin
	assert_output "a.bin	format=binary records=3 bytes=$(wc -c < a.bin) kind=dense dim=3 model=toy norm=none"
}

@test "DS_FORMAT=binary switches the default output, -t overrides it" {
	DS_FORMAT=binary ds-cat "$DATA/dense.tsv" > a.bin
	run -0 ds-cat -i a.bin
	assert_output --partial "format=binary records=3"
	run -0 env DS_FORMAT=binary ds-cat -t "$DATA/dense.tsv"
	assert_output "$(cat "$DATA/dense.tsv")"
}

@test "escaped fields keep tabs, newlines and backslashes" {
	ds-cat -b "$DATA/dense.tsv" | ds-cat > out.tsv
	run -0 sed -n 4p out.tsv
	assert_output 'c\twith\\tab	bird\nfly	1 0 -0'
}

@test "a line with no TAB is a body whose id is its line number" {
	printf 'hello world\n\nthird line\n' > plain.txt
	run -0 --separate-stderr ds-cat plain.txt
	assert_output "#ds kind=text
1	hello world
2	
3	third line"
	[ -z "$stderr" ]
}

@test "CRLF line ends are taken as LF" {
	printf 'a\t1 2\r\nb\t3 4\r\n' > crlf.tsv
	run -0 ds-cat crlf.tsv
	assert_output "#ds kind=dense dim=2
a	1 2
b	3 4"
}

@test "streams concatenate, TSV and binary, with headers checked" {
	ds-cat -b "$DATA/dense.tsv" > a.bin
	run -0 --separate-stderr ds-cat "$DATA/dense.tsv" a.bin
	[ "${#lines[@]}" -eq 7 ]
	[ "${lines[0]}" = "#ds kind=dense dim=3 model=toy norm=none" ]
	[ -z "$stderr" ]
	# A concatenation made by cat(1) reads as one stream too.
	cat a.bin a.bin > two.bin
	run -0 ds-cat -i two.bin
	assert_output --partial "records=6 "
	cat "$DATA/dense.tsv" "$DATA/dense.tsv" > two.tsv
	run -0 ds-cat -i two.tsv
	assert_output --partial "records=6 "
}

@test "streams from different models are refused (65)" {
	sed 's/model=toy/model=other/' "$DATA/dense.tsv" > other.tsv
	run -65 --separate-stderr ds-cat "$DATA/dense.tsv" other.tsv
	[ "$stderr" = "ds-cat: other.tsv: model=other does not match model=toy (from $DATA/dense.tsv)" ]
	cat "$DATA/dense.tsv" other.tsv > both.tsv
	run -65 --separate-stderr ds-cat both.tsv
	[ "$stderr" = "ds-cat: both.tsv:5: header disagrees with the first: model=other does not match model=toy" ]
}

@test "a dense stream and a text stream are refused together (65)" {
	run -65 --separate-stderr ds-cat "$DATA/dense.tsv" "$DATA/text.tsv"
	[[ "$stderr" == *"text.tsv: kind=text does not match kind=dense"* ]]
}

@test "a missing file warns, exits 66, and the others are still copied" {
	run -66 --separate-stderr ds-cat nothere.tsv "$DATA/dense.tsv"
	[ "$stderr" = "ds-cat: nothere.tsv: No such file or directory" ]
	[ "${#lines[@]}" -eq 4 ]
}

@test "empty input is a valid stream of zero records" {
	run -0 --separate-stderr ds-cat /dev/null
	[ -z "$output" ]
	[ -z "$stderr" ]
	run -0 ds-cat -i /dev/null
	assert_output "/dev/null	format=tsv records=0 bytes=0"
}

@test "wrong number of floats is refused with file and line (65)" {
	printf '#ds kind=dense dim=3\na\t1 2 3\nb\t1 2\n' > bad.tsv
	run -65 --separate-stderr ds-cat bad.tsv
	[ "$stderr" = "ds-cat: bad.tsv:3: expected 3 floats, found 2" ]
}

@test "rows of different lengths without a header are refused (65)" {
	printf '1 2 3\n4 5\n' > bad.tsv
	run -65 --separate-stderr ds-cat bad.tsv
	[ "$stderr" = "ds-cat: bad.tsv:2: expected 3 floats, found 2" ]
}

@test "a word that is not a number is refused (65)" {
	printf '#ds kind=dense\na\t1 2x 3\n' > bad.tsv
	run -65 --separate-stderr ds-cat bad.tsv
	[ "$stderr" = "ds-cat: bad.tsv:2: value 2 is not a number: '2x'" ]
}

@test "NaN and Inf are refused unless -a allows them (65)" {
	printf 'a\t1 nan 3\n' > nan.tsv
	run -65 --separate-stderr ds-cat nan.tsv
	[ "$stderr" = "ds-cat: nan.tsv:1: value 2 is not finite (nan)" ]
	printf 'a\t1 2 -inf\n' > inf.tsv
	run -65 --separate-stderr ds-cat inf.tsv
	[ "$stderr" = "ds-cat: inf.tsv:1: value 3 is not finite (-inf)" ]
	run -0 --separate-stderr ds-cat -a nan.tsv
	assert_output "#ds kind=dense dim=3
a	1 nan 3"
	# The binary form is checked the same way.
	ds-cat -a -b nan.tsv > nan.bin
	run -65 --separate-stderr ds-cat nan.bin
	[ "$stderr" = "ds-cat: nan.bin: frame 1: value 2 is not finite" ]
}

@test "a sparse body with unsorted or duplicate indexes is refused (65)" {
	printf '#ds kind=sparse\na\t1:0.5 9:1 4:2\n' > bad.tsv
	run -65 --separate-stderr ds-cat bad.tsv
	[ "$stderr" = "ds-cat: bad.tsv:2: index 4 after 9: indexes must ascend" ]
	printf '#ds kind=sparse\na\t1:0.5 1:1\n' > dup.tsv
	run -65 --separate-stderr ds-cat dup.tsv
	[ "$stderr" = "ds-cat: dup.tsv:2: duplicate index 1" ]
	printf '#ds kind=sparse\na\t1:0.5 x:1\n' > word.tsv
	run -65 --separate-stderr ds-cat word.tsv
	[ "$stderr" = "ds-cat: word.tsv:2: pair 2 is not index:value: 'x:1'" ]
}

@test "a truncated binary frame is refused with its number (65)" {
	ds-cat -b "$DATA/dense.tsv" > a.bin
	head -c $(($(wc -c < a.bin) - 5)) a.bin > cut.bin
	run -65 --separate-stderr ds-cat cut.bin
	[ "$stderr" = "ds-cat: cut.bin: frame 3: truncated frame" ]
	[ "${#lines[@]}" -eq 3 ]
}

@test "a frame whose lengths overrun it is refused (65)" {
	ds-cat -b "$DATA/dense.tsv" > a.bin
	# Claim an id of 255 bytes in the first frame.
	hlen=$(od -An -tu4 -j12 -N4 a.bin | tr -d ' ')
	off=$((16 + hlen + 4))
	printf '\377' | dd of=a.bin bs=1 seek=$off conv=notrunc status=none
	run -65 --separate-stderr ds-cat a.bin
	[ "$stderr" = "ds-cat: a.bin: frame 1: lengths inside the frame overrun its size" ]
}

@test "a binary stream with a bad magic or version is refused (65)" {
	ds-cat -b "$DATA/dense.tsv" > a.bin
	printf '\211DSX' | dd of=magic.bin status=none
	tail -c +5 a.bin >> magic.bin
	run -65 --separate-stderr ds-cat magic.bin
	[ "$stderr" = "ds-cat: magic.bin: bad magic: not a ds binary stream" ]
	cp a.bin version.bin
	printf '\002' | dd of=version.bin bs=1 seek=8 conv=notrunc status=none
	run -65 --separate-stderr ds-cat version.bin
	[ "$stderr" = "ds-cat: version.bin: unsupported binary version 2 (this reads 1)" ]
}

@test "a header that disagrees with the records is refused (65)" {
	printf '#ds kind=dense dim=4\na\t1 2 3\n' > bad.tsv
	run -65 --separate-stderr ds-cat bad.tsv
	[ "$stderr" = "ds-cat: bad.tsv:2: expected 4 floats, found 3" ]
	printf '#ds kind=sparse dim=10\na\t3:1 12:2\n' > bad.tsv
	run -65 --separate-stderr ds-cat bad.tsv
	[ "$stderr" = "ds-cat: bad.tsv:2: index 12 out of range (dim=10)" ]
	printf '#ds kind=dense\na\thello\n' > bad.tsv
	run -65 --separate-stderr ds-cat bad.tsv
	[ "$stderr" = "ds-cat: bad.tsv:2: value 1 is not a number: 'hello'" ]
}

@test "a malformed header is refused (65)" {
	printf '#ds kind=dense dim\na\t1\n' > bad.tsv
	run -65 --separate-stderr ds-cat bad.tsv
	[ "$stderr" = "ds-cat: bad.tsv:1: header word 'dim' is not key=value" ]
	printf '#ds kind=vectors\n' > bad.tsv
	run -65 --separate-stderr ds-cat bad.tsv
	[ "$stderr" = "ds-cat: bad.tsv:1: header: kind must be text, dense or sparse, not 'vectors'" ]
	printf '#ds dim=0\n' > bad.tsv
	run -65 --separate-stderr ds-cat bad.tsv
	[ "$stderr" = "ds-cat: bad.tsv:1: header: dim must be a positive integer, not '0'" ]
}

@test "invalid UTF-8 is refused with its byte offset (65)" {
	printf '#ds kind=text\nok\tfine\nbad\tcaf\303\n' > bad.tsv
	run -65 --separate-stderr ds-cat bad.tsv
	[ "$stderr" = "ds-cat: bad.tsv:3: invalid UTF-8 at byte offset 29" ]
	printf 'ab\300\257\n' > overlong.txt
	run -65 --separate-stderr ds-cat overlong.txt
	[ "$stderr" = "ds-cat: overlong.txt:1: invalid UTF-8 at byte offset 2" ]
}

@test "a 100 MB line is read whole, not truncated" {
	head -c 100000000 /dev/zero | tr '\0' a > big.txt
	printf '\n' >> big.txt
	ds-cat big.txt > big.tsv
	run -0 wc -c big.tsv
	assert_output "$((100000001 + 14 + 2)) big.tsv"
	run -0 sh -c 'ds-cat -b big.tsv | ds-cat | cmp - big.tsv && echo same'
	assert_output same
}

@test ".npy files: import, export byte-identical to NumPy's, float64 read" {
	run -0 --separate-stderr ds-cat -f npy "$DATA/small.npy"
	assert_output "#ds kind=dense dim=3
1	0.1 0.2 0.3
2	-1 2.5 3e-07"
	ds-cat -f npy "$DATA/small.npy" | ds-cat -e npy > out.npy
	cmp out.npy "$DATA/small.npy"
	run -0 ds-cat -f npy "$DATA/small64.npy"
	assert_output "#ds kind=dense dim=2
1	0.5 1.5
2	2 3"
}

@test ".npy and .fvecs: malformed files are refused (65)" {
	printf 'not numpy at all' > bad.npy
	run -65 --separate-stderr ds-cat -f npy bad.npy
	[ "$stderr" = "ds-cat: bad.npy: not a .npy file (bad magic)" ]
	head -c 140 "$DATA/small.npy" > cut.npy
	run -65 --separate-stderr ds-cat -f npy cut.npy
	[ "$stderr" = "ds-cat: cut.npy: truncated .npy data" ]
	ds-cat -e fvecs "$DATA/dense.tsv" | head -c 30 > cut.fvecs
	run -65 --separate-stderr ds-cat -f fvecs cut.fvecs
	[ "$stderr" = "ds-cat: cut.fvecs: truncated .fvecs row" ]
}

@test "-e refuses a text stream (65)" {
	run -65 --separate-stderr ds-cat -e npy "$DATA/text.tsv"
	[ "$stderr" = "ds-cat: $DATA/text.tsv: -e needs dense vectors, not a text stream" ]
}

@test "-s adds header words, e.g. to name imported vectors" {
	run -0 sh -c "ds-cat -e fvecs '$DATA/dense.tsv' | ds-cat -f fvecs -s model=toy -s 'note=two words'"
	[ "${lines[0]}" = '#ds kind=dense dim=3 model=toy note=two\swords' ]
	run -0 sh -c "ds-cat -e fvecs '$DATA/dense.tsv' | ds-cat -f fvecs -s 'note=two words' | ds-cat -b | ds-cat -i"
	assert_output --partial 'note=two words'
}

@test "ds-cat | head ends quietly (SIGPIPE)" {
	seq 1 200000 | sed 's/^/x\t/' > many.tsv
	run -0 --separate-stderr bash -c 'ds-cat many.tsv | head -n 2; echo "status ${PIPESTATUS[0]}"'
	assert_output "#ds kind=dense dim=1
x	1
status 141"
	[ -z "$stderr" ]
}

@test "a write error on stdout exits 74" {
	[ -w /dev/full ] || skip "no /dev/full"
	run -74 --separate-stderr sh -c "ds-cat '$DATA/dense.tsv' > /dev/full"
	[ "$stderr" = "ds-cat: stdout: No space left on device" ]
}

@test "empty sparse vectors and empty texts go through the binary form" {
	printf '#ds kind=sparse\na\t\nb\t1:2\n' > s.tsv
	run -0 sh -c 'ds-cat -b s.tsv | ds-cat'
	assert_output "$(cat s.tsv)"
	printf '#ds kind=text\na\t\nb\tx\n' > t.tsv
	run -0 sh -c 'ds-cat -b t.tsv | ds-cat'
	assert_output "$(cat t.tsv)"
}
