#!/usr/bin/env bats
# Hostile data files: a tokenizer, built-in model or statistics file that
# is truncated, oversized or crafted (offsets outside the file, counts
# whose sizes overflow) is refused with a message naming it, before
# anything it claims is allocated.  The files are made by hand here.

bats_require_minimum_version 1.5.0

setup() {
	load '/usr/lib/bats/bats-support/load'
	load '/usr/lib/bats/bats-assert/load'
	PATH="$BATS_TEST_DIRNAME/../bin:$BATS_TEST_DIRNAME/../tools:$PATH"
	DATA="$BATS_TEST_DIRNAME/data"
	cd "$BATS_TEST_TMPDIR"
	unset DS_FORMAT DASHSCOPE_API_KEY
	mkdir d
	export DS_DATA_DIR="$BATS_TEST_TMPDIR/d"
}

# Run CMD with at most 300 MB of address space, so that an allocation
# sized by a crafted count fails (not under ASan, which reserves more).
small() {
	if [ "${DS_TEST_LABEL:-}" = sanitize ]; then
		"$@"
	else
		(ulimit -v 300000 && "$@")
	fi
}

# Write d/qwen3-tok.bin: a small tokenizer in the layout of lib/tok.h
# (256 byte tokens, "th", "the", one added token), then apply the python
# statements given to b (the file), h (its header fields: version,
# nvocab, nmerges, nadded, nbytes, sum) and set sum=None to recompute it.
tokfile() {
	/usr/bin/python3 - "$1" <<'PY'
import struct, sys
vocab = [bytes([i]) for i in range(256)] + [b"th", b"the", b"<|x|>"]
merges = [(116, 104, 256), (256, 101, 257)]
added = [258]
off = [0]
for t in vocab:
    off.append(off[-1] + len(t))
body = bytearray(struct.pack("<%dI" % len(off), *off))
for m in merges:
    body += struct.pack("<3I", *m)
body += struct.pack("<%dI" % len(added), *added) + b"".join(vocab)
h = {"version": 1, "nvocab": len(vocab), "nmerges": len(merges),
     "nadded": len(added), "nbytes": off[-1], "sum": None}
b = body
exec(sys.argv[1])
if h["sum"] is None:
    s = 0x811C9DC5
    for x in b:
        s = ((s ^ x) * 0x01000193) & 0xFFFFFFFF
    h["sum"] = s
head = b"dstok\0\0\1" + struct.pack("<6I", h["version"], h["nvocab"],
    h["nmerges"], h["nadded"], h["nbytes"], h["sum"])
open("d/qwen3-tok.bin", "wb").write(head + bytes(b))
PY
}

# ds-chunk refuses d/qwen3-tok.bin with message $1 (78), and so does
# ds-sparse (65).
tok_refused() {
	echo "some text" > in.txt
	run -78 --separate-stderr small ds-chunk in.txt
	[ -z "$output" ]
	[ "$stderr" = "ds-chunk: $DS_DATA_DIR/qwen3-tok.bin: $1" ]
	printf 'a\tsome text\n' > in.tsv
	run -65 --separate-stderr small ds-sparse in.tsv
	[ -z "$output" ]
	[ "$stderr" = "ds-sparse: $DS_DATA_DIR/qwen3-tok.bin: $1" ]
}

@test "tokenizer file: the hand-made one loads (the tests below start from it)" {
	tokfile ''
	printf 'the\n' > in.txt
	run -0 --separate-stderr ds-chunk in.txt
	[ -z "$stderr" ]
	[ "${lines[1]}" = "in.txt#1	the\\n" ]
}

@test "tokenizer file: truncated, or with trailing bytes (78, 65)" {
	tokfile ''
	head -c 1000 d/qwen3-tok.bin > t && mv t d/qwen3-tok.bin
	tok_refused "truncated tokenizer file"
	tokfile ''
	printf 'x' >> d/qwen3-tok.bin
	tok_refused "tokenizer file has trailing bytes"
	printf 'dstok' > d/qwen3-tok.bin
	tok_refused "not a tokenizer file (bad magic)"
}

@test "tokenizer file: larger than 256 MiB is refused before it is read" {
	# A sparse file: no disk space, and nothing of it is read.
	truncate -s 300M d/qwen3-tok.bin
	tok_refused "too large for a tokenizer file"
}

@test "tokenizer file: counts whose sizes wrap 32 bits are refused" {
	# 4 * (nvocab + 1) and 12 * nmerges wrap to the true sizes modulo
	# 2^32: summed in 32 bits, the file would look complete, and the
	# loader would allocate a flag per token (1 GiB).
	tokfile 'h["nvocab"] += 1 << 30'
	tok_refused "truncated tokenizer file"
	tokfile 'h["nmerges"] += 1 << 30'
	tok_refused "truncated tokenizer file"
	tokfile 'h["nvocab"] = 0xFFFFFFFF; h["nadded"] = 0xFFFFFFFF'
	tok_refused "truncated tokenizer file"
	tokfile 'h["nvocab"] = 100'
	tok_refused "tokenizer file has trailing bytes"
}

@test "tokenizer file: offsets and ids outside the file, checksum right" {
	# The last offset past the bytes; one offset far out (not ascending).
	tokfile 'struct.pack_into("<I", b, 4 * 259, 0xFFFFFFF0)'
	tok_refused "token offsets out of range"
	tokfile 'struct.pack_into("<I", b, 4 * 10, 0xFFFFFFF0)'
	tok_refused "token offsets not ascending"
	# A merge naming an id past the vocabulary; an added id past it.
	tokfile 'struct.pack_into("<I", b, 4 * 260 + 4, 1 << 31)'
	tok_refused "merge 0 is bad"
	tokfile 'struct.pack_into("<I", b, 4 * 260 + 24, 259)'
	tok_refused "bad added token"
	tokfile 'h["version"] = 2'
	tok_refused "unsupported tokenizer file version"
	tokfile 'struct.pack_into("<I", b, 4 * 300, 7); h["sum"] = 1'
	tok_refused "checksum mismatch (corrupt file)"
}

# Write d/glove-100d.bin from the test model with header fields set
# (python statements on b, the file; the checksum is recomputed after).
model() {
	glove-convert "$DATA/glove-tiny.json" tiny.bin
	/usr/bin/python3 - "$1" <<'PY'
import struct, sys
b = bytearray(open("tiny.bin", "rb").read())
exec(sys.argv[1])
h = 0xcbf29ce484222325
for c in b[:120]:
    h = ((h ^ c) * 0x100000001b3) & 0xffffffffffffffff
struct.pack_into("<Q", b, 120, h)
open("d/glove-100d.bin", "wb").write(b)
PY
}

model_refused() {
	run -65 --separate-stderr small sh -c 'echo cat | ds-embed -m glove-100d'
	[ -z "$output" ]
	[ "$stderr" = "ds-embed: $DS_DATA_DIR/glove-100d.bin: $1 (run 'make data' to fetch and convert the glove-100d model)" ]
}

@test "model file: section offsets outside the file, or wrapping 2^64 (65)" {
	model 'struct.pack_into("<Q", b, 96, (1 << 64) - 16)'
	model_refused "a section lies outside the file"
	model 'struct.pack_into("<Q", b, 48, (1 << 64) - 1)'
	model_refused "a section lies outside the file"
	model 'struct.pack_into("<Q", b, 64, 8)'	# inside the header
	model_refused "a section lies outside the file"
	model 'struct.pack_into("<Q", b, 72, len(b) - 4)'
	model_refused "a section lies outside the file"
}

@test "model file: counts that would size more than the file (65)" {
	# nwords * dim bytes of vectors: 2^31 * 4096 is far past the file.
	model 'struct.pack_into("<III", b, 12, 4096, 0x7fffffff, 2);
struct.pack_into("<I", b, 24, 1 << 31)'
	model_refused "a section lies outside the file"
	model 'struct.pack_into("<I", b, 16, 0xFFFFFFFF)'
	model_refused "header counts out of range"
	model 'struct.pack_into("<I", b, 12, 1 << 20)'
	model_refused "header counts out of range"
	model 'struct.pack_into("<Q", b, 104, 1 << 40)'
	model_refused "file size differs from its header (truncated?)"
}

@test "model file: word offsets outside the pool are caught on use (65)" {
	model 'o = struct.unpack_from("<Q", b, 64)[0]
n = struct.unpack_from("<I", b, 16)[0]
struct.pack_into("<%dI" % n, b, o, *[0xFFFFFFF0] * n)'
	run -65 --separate-stderr sh -c 'echo cat | ds-embed -m glove-100d'
	[ "$output" = "#ds kind=dense dim=100 model=glove-100d provider=glove norm=l2" ]
	[ "$stderr" = "ds-embed: $DS_DATA_DIR/glove-100d.bin: corrupt model file: a hash table entry points outside the file (run 'make data' to rebuild it)" ]
}

# ds-sparse -q refuses stats with message $1 (65).
stats_refused() {
	printf 'q\tthe cat\n' > q.tsv
	run -65 --separate-stderr small ds-sparse -T words -q -s stats q.tsv
	[ -z "$output" ]
	[ "$stderr" = "ds-sparse: $1" ]
}

@test "statistics file: truncated in the header or in a line (65)" {
	printf 'a\tthe cat\nb\tthe dog\n' > docs.tsv
	ds-sparse -T words -s good docs.tsv > /dev/null
	head -c 30 good > stats
	stats_refused "stats:1: malformed header: expected version, terms, space, docs, tokens"
	head -n 2 good > stats
	sed -n 3p good | cut -c1-5 >> stats
	stats_refused "stats:3: expected index<TAB>df"
}

@test "statistics file: an overlong line is refused before it is read whole" {
	{ printf '#ds-bm25 version=1 terms=words space=2147483648 docs=1 tokens=1\n'
	  printf '5\t1\t'; head -c 2000 /dev/zero | tr '\0' x; echo; } > stats
	stats_refused "stats:2: line longer than 1088 bytes"
	# A 1 GiB line (a sparse file) with 300 MB of address space.
	: > stats
	truncate -s 1G stats
	stats_refused "stats:1: line longer than 1088 bytes"
}

@test "statistics file: counts that overflow, NUL bytes (65)" {
	h='#ds-bm25 version=1 terms=words space=2147483648'
	printf '%s docs=18446744073709551616 tokens=1\n' "$h" > stats
	stats_refused "stats:1: malformed header: expected version, terms, space, docs, tokens"
	printf '%s docs=2 tokens=9\n18446744073709551616\t1\n' "$h" > stats
	stats_refused "stats:2: expected index<TAB>df"
	printf '%s docs=2 tokens=9\n4294967296\t1\n' "$h" > stats
	stats_refused "stats:2: index 4294967296 out of range"
	printf '%s docs=2 tokens=9\n7\t18446744073709551615\n' "$h" > stats
	stats_refused "stats:2: df 18446744073709551615 out of range (docs=2)"
	printf '%s docs=2 tokens=9\n7\t1\0junk\n' "$h" > stats
	stats_refused "stats:2: NUL byte"
}

@test "statistics file: a word longer than 1024 bytes is not saved" {
	w=$(head -c 1100 /dev/zero | tr '\0' w)
	printf 'a\t%s cat\n' "$w" > docs.tsv
	run -0 --separate-stderr ds-sparse -T words -s stats docs.tsv
	[ -z "$stderr" ]
	run -0 --separate-stderr awk -F '\t' 'NR > 1 { print NF }' stats
	[ -z "$stderr" ]
	[ "$(echo "$output" | sort | tr '\n' ' ')" = "2 3 " ]
	printf 'q\tcat\n' > q.tsv
	run -0 --separate-stderr ds-sparse -T words -q -s stats q.tsv
	[ -z "$stderr" ]
	[ "${#lines[@]}" -eq 2 ]
}
