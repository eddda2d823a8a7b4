#!/usr/bin/env bats
# The Qwen3 tokenizer against the reference ids, and the loader against
# bad tokenizer files.  The corpus and its ids were made by
# tests/tok-corpus.py and tests/tok-ref.js (see docs/tokenizer.md).
bats_require_minimum_version 1.5.0

setup() {
	ROOT="$BATS_TEST_DIRNAME/.."
	PATH="$ROOT/tests:$PATH"
	DATA="$BATS_TEST_DIRNAME/data/tok"
	TMP="$BATS_TEST_TMPDIR"
}

# Append a text to the corpus file c.txt, with its length in bytes.
corpus() {
	printf '%s\n%s\n' "$(printf '%s' "$1" | wc -c)" "$1" >> "$TMP/c.txt"
}

@test "token ids equal the reference on the fixture corpus" {
	gzip -dc "$DATA/corpus.txt.gz" > "$TMP/corpus.txt"
	gzip -dc "$DATA/ids.txt.gz" > "$TMP/ids.txt"
	run --separate-stderr tok-ids "$TMP/corpus.txt"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	printf '%s\n' "$output" > "$TMP/got.txt"
	[ "$(wc -l < "$TMP/ids.txt")" -ge 2000 ]
	[ "$(wc -c < "$TMP/corpus.txt")" -ge 1000000 ]
	cmp "$TMP/got.txt" "$TMP/ids.txt"
}

@test "ids of known texts" {
	corpus "Hello, my dog is cute"
	corpus "I'm here, you'RE there"
	corpus "<|im_start|>hi<|im_end|>"
	corpus "中文测试。"
	run --separate-stderr tok-ids "$TMP/c.txt"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$output" = "9707 11 847 5562 374 18838
40 2776 1588 11 498 94153 1052
151644 6023 151645
104811 81705 1773" ]
}

@test "offsets point at the first byte of each token" {
	corpus "Hello, wor"
	corpus "cafe$(printf '\314\201') x"
	run --separate-stderr tok-ids -o "$TMP/c.txt"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$output" = "9707:0 11:5 4099:6
924:0 58858:2 856:6" ]
}

@test "ids give back their tokens' bytes" {
	corpus "Hello, world <think>"
	corpus "中文 é"
	run --separate-stderr tok-ids -t "$TMP/c.txt"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$output" = 'Hello|,| world| |*<think>
\xE4\xB8\xAD\xE6\x96\x87| \xC3\xA9' ]
}

@test "invalid UTF-8 encodes as U+FFFD, one per maximal subpart" {
	printf '3\na\377b\n' > "$TMP/c.txt"
	printf '2\na\357\n' >> "$TMP/c.txt"
	printf '5\na\357\277\275b\n' >> "$TMP/c.txt"
	run --separate-stderr tok-ids "$TMP/c.txt"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$output" = "64 5691 65
64 5691
64 5691 65" ]
}

@test "a missing tokenizer file is a configuration error (78)" {
	corpus "x"
	DS_DATA_DIR="$TMP/none" run --separate-stderr tok-ids "$TMP/c.txt"
	[ "$status" -eq 78 ]
	[ -z "$output" ]
	[ "$stderr" = "tok-ids: $TMP/none/qwen3-tok.bin: No such file or directory" ]
}

@test "a truncated tokenizer file is refused" {
	corpus "x"
	mkdir "$TMP/d"
	head -c 100000 "$ROOT/data/qwen3-tok.bin" > "$TMP/d/qwen3-tok.bin"
	DS_DATA_DIR="$TMP/d" run --separate-stderr tok-ids "$TMP/c.txt"
	[ "$status" -eq 78 ]
	[ -z "$output" ]
	[ "$stderr" = "tok-ids: $TMP/d/qwen3-tok.bin: truncated tokenizer file" ]
}

@test "a file shorter than the header is refused" {
	corpus "x"
	mkdir "$TMP/d"
	printf 'dstok' > "$TMP/d/qwen3-tok.bin"
	DS_DATA_DIR="$TMP/d" run --separate-stderr tok-ids "$TMP/c.txt"
	[ "$status" -eq 78 ]
	[ -z "$output" ]
	[ "$stderr" = "tok-ids: $TMP/d/qwen3-tok.bin: not a tokenizer file (bad magic)" ]
}

@test "a corrupted byte is caught by the checksum" {
	corpus "x"
	mkdir "$TMP/d"
	cp "$ROOT/data/qwen3-tok.bin" "$TMP/d/qwen3-tok.bin"
	printf '\377' | dd of="$TMP/d/qwen3-tok.bin" bs=1 seek=5000 conv=notrunc \
	    2>/dev/null
	DS_DATA_DIR="$TMP/d" run --separate-stderr tok-ids "$TMP/c.txt"
	[ "$status" -eq 78 ]
	[ -z "$output" ]
	[ "$stderr" = "tok-ids: $TMP/d/qwen3-tok.bin: checksum mismatch (corrupt file)" ]
}

@test "a crafted file with a consistent checksum but bad offsets is refused" {
	corpus "x"
	mkdir "$TMP/d"
	/usr/bin/python3 - "$ROOT/data/qwen3-tok.bin" "$TMP/d/qwen3-tok.bin" <<'PY'
import struct, sys
b = bytearray(open(sys.argv[1], "rb").read())
struct.pack_into("<I", b, 32 + 4 * 10, 0xFFFFFF00)
h = 0x811C9DC5
for x in b[32:]:
    h = ((h ^ x) * 0x01000193) & 0xFFFFFFFF
struct.pack_into("<I", b, 28, h)
open(sys.argv[2], "wb").write(b)
PY
	DS_DATA_DIR="$TMP/d" run --separate-stderr tok-ids "$TMP/c.txt"
	[ "$status" -eq 78 ]
	[ -z "$output" ]
	[ "$stderr" = "tok-ids: $TMP/d/qwen3-tok.bin: token offsets not ascending" ]
}
