#!/usr/bin/env bats
# ds-chunk: chunking under a token budget, and --count.
bats_require_minimum_version 1.5.0

setup() {
	ROOT="$BATS_TEST_DIRNAME/.."
	PATH="$ROOT/bin:$PATH"
	DATA="$BATS_TEST_DIRNAME/data/chunk"
	TMP="$BATS_TEST_TMPDIR"
}

# The texts of a TSV text stream, unescaped and concatenated.
texts() {
	perl -ne 'next if /^#ds /; chomp; my @f = split /\t/, $_, -1;
	    my $t = $f[-1];
	    $t =~ s/\\(.)/$1 eq "n" ? "\n" : $1 eq "t" ? "\t" :
	        $1 eq "r" ? "\r" : $1/ge;
	    print $t'
}

# Chunk FILE with the options given and check that the chunks give the
# file back and that none is over MAX tokens.
check_file() {
	local max=$1 file=$2
	shift 2
	ds-chunk -m "$max" "$@" "$file" > "$TMP/out.tsv"
	texts < "$TMP/out.tsv" > "$TMP/back"
	cmp "$file" "$TMP/back"
	ds-chunk -c "$TMP/out.tsv" > "$TMP/counts"
	awk -F'\t' -v max="$max" '$2 > max { print; bad = 1 }
	    END { exit bad }' "$TMP/counts"
}

@test "ds-chunk -h prints the usage on stdout" {
	run --separate-stderr ds-chunk -h
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$output" = "usage: ds-chunk [-bcHhOV] [-m max-tokens] [-n min-tokens] [-o overlap] [file ...]" ]
}

@test "ds-chunk -V prints the version" {
	run --separate-stderr ds-chunk -V
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[[ "$output" =~ ^ds-chunk\ [0-9]+\.[0-9]+\.[0-9]+$ ]]
}

@test "a bad option is a usage error (64)" {
	run --separate-stderr ds-chunk -x
	[ "$status" -eq 64 ]
	[ -z "$output" ]
	[ "${lines[0]}" = "" ]
	[[ "$stderr" == *"usage: ds-chunk [-bcHhOV]"* ]]
}

@test "--max-tokens 0 and 8193 are usage errors" {
	run --separate-stderr ds-chunk -m 0
	[ "$status" -eq 64 ]
	[ -z "$output" ]
	[ "$stderr" = "ds-chunk: -m 0: too small" ]
	run --separate-stderr ds-chunk --max-tokens 8193
	[ "$status" -eq 64 ]
	[ -z "$output" ]
	[ "$stderr" = "ds-chunk: -m 8193: too large" ]
}

@test "an overlap over half of --max-tokens is a usage error" {
	run --separate-stderr ds-chunk -m 10 -o 6
	[ "$status" -eq 64 ]
	[ -z "$output" ]
	[ "$stderr" = "ds-chunk: -o 6: the overlap must be at most half of --max-tokens (10)" ]
	run --separate-stderr ds-chunk -m 10 -o 5 "$DATA/zh.md"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
}

@test "a small document is one chunk with the header" {
	printf 'Hello world.\n' > "$TMP/a.txt"
	run --separate-stderr ds-chunk "$TMP/a.txt"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$output" = "#ds kind=text tokenizer=qwen3 max_tokens=512
$TMP/a.txt#1	Hello world.\\n" ]
}

@test "standard input has ids -#N" {
	run --separate-stderr ds-chunk -m 5 < "$DATA/zh.md"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "${lines[1]%%	*}" = "-#1" ]
	[ "${lines[2]%%	*}" = "-#2" ]
}

@test "chunks cut at headings and paragraphs first" {
	printf '# Title\n\nHello world. This is a test.\n\n## Sub\n\nMore text here.\n' > "$TMP/a.md"
	run --separate-stderr ds-chunk -m 8 "$TMP/a.md"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$output" = "#ds kind=text tokenizer=qwen3 max_tokens=8
$TMP/a.md#1	# Title\\n\\n
$TMP/a.md#2	Hello world. This is a test.\\n\\n
$TMP/a.md#3	## Sub\\n\\nMore text here.\\n" ]
}

@test "sentences split at CJK sentence ends" {
	printf '这是第一句。这是第二句！这是第三句？' > "$TMP/zh.txt"
	run --separate-stderr ds-chunk -m 6 "$TMP/zh.txt"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$output" = "#ds kind=text tokenizer=qwen3 max_tokens=6
$TMP/zh.txt#1	这是第一句。
$TMP/zh.txt#2	这是第二句！
$TMP/zh.txt#3	这是第三句？" ]
}

@test "--offsets adds start and end; --heading the heading path" {
	printf '# Title\n\nHello world. This is a test.\n\n## Sub\n\nMore text here.\n' > "$TMP/a.md"
	run --separate-stderr ds-chunk -m 8 --offsets --heading "$TMP/a.md"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$output" = "#ds kind=text tokenizer=qwen3 max_tokens=8
$TMP/a.md#1	0	9	Title	# Title\\n\\n
$TMP/a.md#2	9	39	Title	Hello world. This is a test.\\n\\n
$TMP/a.md#3	39	63	Title > Sub	## Sub\\n\\nMore text here.\\n" ]
}

@test "a heading inside fenced code is no heading" {
	printf '# A\n\n```\n# not a heading\n```\n\ntext\n' > "$TMP/f.md"
	run --separate-stderr ds-chunk -m 5 -H "$TMP/f.md"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$(printf '%s\n' "$output" | cut -f2 | sort -u | tr '\n' ,)" = "#ds kind=text tokenizer=qwen3 max_tokens=5,A," ]
}

@test "chunks concatenate back to real documents" {
	for f in "$DATA/zh.md" "$ROOT/docs/tokenizer.md" "$ROOT/lib/tok.c" \
	    "$ROOT/lib/chunk.c" "$ROOT/docs/ds-chunk.1" "$ROOT/Makefile"; do
		for max in 7 64 512; do
			check_file "$max" "$f"
		done
	done
}

@test "chunks concatenate back and fit with --min-tokens" {
	check_file 64 "$ROOT/docs/tokenizer.md" -n 20
	check_file 30 "$DATA/zh.md" -n 10
}

@test "--min-tokens merges small chunks" {
	printf '# One\n\nalpha beta gamma delta epsilon zeta eta theta iota kappa lambda.\n\n# Two\n\nShort.\n\nthe quick brown fox jumps over the lazy dog and then the quick brown fox jumps again and again and again over many more dogs.\n' > "$TMP/m.md"
	run --separate-stderr ds-chunk -m 30 -O "$TMP/m.md"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "${#lines[@]}" -eq 4 ]
	[ "${lines[2]}" = "$TMP/m.md#2	73	88	# Two\n\nShort.\n\n" ]
	run --separate-stderr ds-chunk -m 30 -n 8 -O "$TMP/m.md"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$output" = "#ds kind=text tokenizer=qwen3 max_tokens=30
$TMP/m.md#1	0	88	# One\n\nalpha beta gamma delta epsilon zeta eta theta iota kappa lambda.\n\n# Two\n\nShort.\n\n
$TMP/m.md#2	88	214	the quick brown fox jumps over the lazy dog and then the quick brown fox jumps again and again and again over many more dogs.\n" ]
}

@test "--overlap repeats the end of the chunk before and still fits" {
	ds-chunk -m 64 -o 16 -O "$ROOT/docs/tokenizer.md" > "$TMP/o.tsv"
	ds-chunk -c "$TMP/o.tsv" > "$TMP/counts"
	run awk -F'\t' '$2 > 64' "$TMP/counts"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	# Each chunk starts before the previous one ends, and after it starts.
	run awk -F'\t' '!/^#ds/ { if (NR > 2 && !($2 < end && $2 > start))
	    print "bad", NR; start = $2; end = $3 }' "$TMP/o.tsv"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ "$(wc -l < "$TMP/o.tsv")" -gt 10 ]
}

@test "an empty file gives no chunk" {
	: > "$TMP/empty"
	run --separate-stderr ds-chunk "$TMP/empty"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$output" = "#ds kind=text tokenizer=qwen3 max_tokens=512" ]
}

@test "one 100 KB line without spaces is cut between tokens" {
	perl -e 'srand(7); print join("", map { chr(97 + int(rand(26))) }
	    1..100000), "\n"' > "$TMP/long"
	check_file 512 "$TMP/long"
	[ "$(grep -vc '^#ds' "$TMP/out.tsv")" -gt 50 ]
	ds-chunk -m 100 -o 10 "$TMP/long" | ds-chunk -c > "$TMP/counts"
	run awk -F'\t' '$2 > 100 || $2 < 90' "$TMP/counts"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "a long line of CJK with no sentence end is cut between characters" {
	perl -CO -e 'print chr(0x4E00 + ($_ * 7919) % 20000) for 1..20000' \
	    > "$TMP/cjk"
	check_file 300 "$TMP/cjk"
}

@test "text that NFC changes is cut before a base character, never a mark" {
	perl -CO -e 'print "e\x{301}a\x{308}\x{323}q\x{301}\x{300}" x 3000' \
	    > "$TMP/nfc"
	check_file 50 "$TMP/nfc" -O
	run perl -CSD -ne 'next if /^#ds/; chomp; my @f = split /\t/, $_, -1;
	    print "mark at $f[1]\n" if $f[-1] =~ /^\p{Mn}/' "$TMP/out.tsv"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ "$(grep -vc '^#ds' "$TMP/out.tsv")" -gt 100 ]
}

@test "binary garbage is refused with the byte offset (65)" {
	printf 'good text\n\377\376bad' > "$TMP/bin"
	run --separate-stderr ds-chunk "$TMP/bin"
	[ "$status" -eq 65 ]
	[ "$output" = "#ds kind=text tokenizer=qwen3 max_tokens=512" ]
	[ "$stderr" = "ds-chunk: $TMP/bin: byte 10: invalid UTF-8, not text" ]
}

@test "a NUL byte is refused (65)" {
	printf 'ab\0cd' > "$TMP/nul"
	run --separate-stderr ds-chunk "$TMP/nul"
	[ "$status" -eq 65 ]
	[ "$output" = "#ds kind=text tokenizer=qwen3 max_tokens=512" ]
	[ "$stderr" = "ds-chunk: $TMP/nul: byte 2: NUL byte, not text" ]
}

@test "a missing file is reported, the others chunked (66)" {
	printf 'x\n' > "$TMP/x"
	run --separate-stderr ds-chunk "$TMP/nope" "$TMP/x"
	[ "$status" -eq 66 ]
	[ "$output" = "#ds kind=text tokenizer=qwen3 max_tokens=512
$TMP/x#1	x\\n" ]
	[ "$stderr" = "ds-chunk: $TMP/nope: No such file or directory" ]
}

@test "--count prints the tokens of each record" {
	printf '#ds kind=text\na\tHello, my dog is cute\nb\t中文测试。\nc\\td\t<|im_start|>hi<|im_end|>\n' > "$TMP/s.tsv"
	run --separate-stderr ds-chunk --count "$TMP/s.tsv"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$output" = "a	6
b	3
c\\td	3" ]
}

@test "--count refuses a stream that is not text (65)" {
	printf '#ds kind=dense dim=2\na\t1 2\n' > "$TMP/d.tsv"
	run --separate-stderr ds-chunk -c "$TMP/d.tsv"
	[ "$status" -eq 65 ]
	[ -z "$output" ]
	[[ "$stderr" == "ds-chunk: $TMP/d.tsv"* ]]
}

@test "--count on a missing file (66)" {
	run --separate-stderr ds-chunk -c "$TMP/nope"
	[ "$status" -eq 66 ]
	[ -z "$output" ]
	[[ "$stderr" == "ds-chunk: $TMP/nope"* ]]
}

@test "binary output reads back with ds-cat" {
	ds-chunk -b -m 16 "$DATA/zh.md" > "$TMP/b.bin"
	ds-chunk -m 16 "$DATA/zh.md" > "$TMP/t.tsv"
	run --separate-stderr "$ROOT/bin/ds-cat" -t "$TMP/b.bin"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$output" = "$(cat "$TMP/t.tsv")" ]
}

@test "a write error is an I/O error (74)" {
	run --separate-stderr sh -c 'ds-chunk "$1" > /dev/full' sh "$DATA/zh.md"
	[ "$status" -eq 74 ]
	[ -z "$output" ]
	[[ "$stderr" == "ds-chunk: stdout"* ]]
}

@test "a missing tokenizer file is a configuration error (78)" {
	DS_DATA_DIR="$TMP/none" run --separate-stderr ds-chunk "$DATA/zh.md"
	[ "$status" -eq 78 ]
	[ -z "$output" ]
	[ "$stderr" = "ds-chunk: $TMP/none/qwen3-tok.bin: No such file or directory (run make data)" ]
}
