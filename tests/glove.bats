#!/usr/bin/env bats
# ds-embed -m glove-100d: the built-in model, its tokenizer and its file.
# Most tests use a 41-word model made from tests/data/glove-tiny.json;
# those marked "real model" need `make data` and are skipped without it.

bats_require_minimum_version 1.5.0

setup_file() {
	export TINY="$BATS_FILE_TMPDIR/tiny"
	mkdir -p "$TINY"
	"$BATS_TEST_DIRNAME/../tools/glove-convert" \
	    "$BATS_TEST_DIRNAME/data/glove-tiny.json" "$TINY/glove-100d.bin"
}

setup() {
	load '/usr/lib/bats/bats-support/load'
	load '/usr/lib/bats/bats-assert/load'
	PATH="$BATS_TEST_DIRNAME/../bin:$BATS_TEST_DIRNAME/../tools:$PATH"
	DATA="$BATS_TEST_DIRNAME/data"
	REAL="$BATS_TEST_DIRNAME/../data/glove-100d.bin"
	cd "$BATS_TEST_TMPDIR"
	unset DS_FORMAT DASHSCOPE_API_KEY
	export DS_DATA_DIR="$TINY"
}

# The vector of one text, as written (TSV body).
vec() {
	printf '%s\n' "$1" | ds-embed -m glove-100d | sed -n '2s/^[^\t]*\t//p'
}

# The cosine of two vectors given as space-separated floats.
cosine() {
	printf '%s\n%s\n' "$1" "$2" | awk '
	NR == 1 { n = split($0, a, " ") }
	NR == 2 { split($0, b, " ")
		for (i = 1; i <= n; i++) {
			d += a[i] * b[i]; x += a[i] * a[i]; y += b[i] * b[i]
		}
		printf "%.6f\n", (x > 0 && y > 0) ? d / sqrt(x * y) : 0 }'
}

# Assert that two texts embed to the same vector, bit for bit.
same() {
	local a b
	a=$(vec "$1")
	b=$(vec "$2")
	[ -n "$a" ]
	if [ "$a" != "$b" ]; then
		echo "\"$1\" and \"$2\" differ" >&2
		return 1
	fi
}

zeros=$(printf '0%.0s ' $(seq 100) | sed 's/ $//')

@test "ds-embed --help prints the usage on stdout and exits 0" {
	run -0 --separate-stderr ds-embed --help
	assert_output --regexp '^usage: ds-embed '
	[ -z "$stderr" ]
}

@test "ds-embed --version prints the version" {
	run -0 --separate-stderr ds-embed --version
	assert_output --regexp '^ds-embed [0-9]+\.[0-9]+\.[0-9]+$'
	[ -z "$stderr" ]
}

@test "ds-embed with an unknown option is a usage error (64)" {
	run -64 --separate-stderr ds-embed --bogus
	[ -z "$output" ]
	[[ "$stderr" == *"usage: ds-embed "* ]]
}

@test "-m glove-100d writes the header and a unit vector per record" {
	run -0 --separate-stderr sh -c \
	    'printf "a\tfood\tThe cat sat.\nthe dog\n" | ds-embed -m glove-100d'
	[ -z "$stderr" ]
	[ "${lines[0]}" = "#ds kind=dense dim=100 model=glove-100d provider=glove norm=l2" ]
	[ "${#lines[@]}" -eq 3 ]
	# id and payload kept; a line with no TAB has its line number as id
	[ "$(printf '%s\n' "${lines[1]}" | cut -f1,2)" = "a	food" ]
	[ "$(printf '%s\n' "${lines[2]}" | cut -f1)" = "2" ]
	for l in "${lines[1]}" "${lines[2]}"; do
		v=$(printf '%s\n' "$l" | awk -F'\t' '{print $NF}')
		[ "$(echo "$v" | wc -w)" -eq 100 ]
		[ "$(cosine "$v" "$v")" = "1.000000" ]
		echo "$v" | awk '{ for (i = 1; i <= NF; i++) s += $i * $i
		    if (s < 0.9999 || s > 1.0001) exit 1 }'
	done
}

@test "without -m and without a key, glove-100d is used with a notice" {
	run -0 --separate-stderr sh -c 'echo cat | ds-embed'
	[ "${lines[0]}" = "#ds kind=dense dim=100 model=glove-100d provider=glove norm=l2" ]
	[ "$stderr" = "ds-embed: no DASHSCOPE_API_KEY: using the built-in model glove-100d" ]
	[ "${lines[1]}" = "1	$(vec cat)" ]
}

@test "--query and --document are recorded in the header" {
	run -0 --separate-stderr sh -c 'echo cat | ds-embed -m glove-100d --query'
	[ "${lines[0]}" = "#ds kind=dense dim=100 model=glove-100d provider=glove norm=l2 text_type=query" ]
	[ -z "$stderr" ]
	run -0 --separate-stderr sh -c 'echo cat | ds-embed -m glove-100d -D'
	[ "${lines[0]}" = "#ds kind=dense dim=100 model=glove-100d provider=glove norm=l2 text_type=document" ]
	[ "${lines[1]}" = "1	$(vec cat)" ]
	[ -z "$stderr" ]
}

@test "binary output reads back as the TSV output" {
	printf 'a\tx\tthe cat\nb\tdog\n' > in.tsv
	ds-embed -m glove-100d -t in.tsv > t.tsv
	ds-embed -m glove-100d -b in.tsv > b.bin
	run -0 --separate-stderr ds-cat b.bin
	[ "$output" = "$(cat t.tsv)" ]
	[ -z "$stderr" ]
	[ "$(head -c 3 b.bin)" != "#ds" ]
}

@test "-d 100 is accepted; any other dimension is refused (64)" {
	run -0 --separate-stderr sh -c 'echo cat | ds-embed -m glove-100d -d 100'
	[ "${lines[1]}" = "1	$(vec cat)" ]
	[ -z "$stderr" ]
	run -64 --separate-stderr ds-embed -m glove-100d -d 1024
	[ -z "$output" ]
	[ "$stderr" = "ds-embed: -d 1024: glove-100d offers only 100" ]
	run -64 --separate-stderr ds-embed -m glove-100d --dimension=x
	[ -z "$output" ]
	[ "$stderr" = "ds-embed: -d x: invalid" ]
}

@test "an unknown model is a usage error naming the known ones (64)" {
	run -64 --separate-stderr ds-embed -m glove-300d
	[ -z "$output" ]
	[[ "$stderr" == "ds-embed: glove-300d: unknown model; known:"*" glove-100d"* ]]
}

@test "tokens: case and punctuation are split off" {
	same "The CAT!" "the cat !"
	same "cat,dog." "cat , dog ."
	same "(cat)" "( cat )"
}

@test "tokens: n't is not, 're are, 'll will; 's goes" {
	same "don't" "do not"
	same "can't" "can not"
	same "won't" "will not"
	same "cats're" "cats are"
	same "dog'll" "dog will"
	same "the cat's" "the cat"
	same "I'd" "would"
}

@test "tokens: typographic apostrophes and quotes" {
	same "don’t" "don't"
	same "“cat”" "“ cat ”"
	run -0 cosine "$(vec '“cat”')" "$(vec '"cat"')"
	[ "$output" != "1.000000" ]
}

@test "tokens: apostrophes outside words and inside names" {
	same "'cat'" "' cat '"
	same "dogs'" "dogs '"
	same "o'neill" "neill"
	same "rock'n'roll" "rock roll"
}

@test "tokens: hyphenated words stay whole when known, else split" {
	same "E-Mail" "e-mail"
	same "cat-dog" "cat dog"
	same "well-known" "well-known"
	run -0 cosine "$(vec well-known)" "$(vec 'well known')"
	[ "$output" != "1.000000" ]
	same "mid-1990s" "mid-1990s"
	same "cat -- dog" "cat - - dog"
}

@test "tokens: periods inside words split them; numbers are unknown" {
	same "www.google.com" "www google com"
	same "cat 1,000 3.5 10:30" "cat"
	same "cat, 1, dog" "cat , , dog"
}

@test "word order does not matter (a bag of words)" {
	run -0 cosine "$(vec 'cat dog hello')" "$(vec 'hello dog cat')"
	[ "$output" = "1.000000" ]
}

@test "unknown words are ignored; a text of them gets zeros, counted" {
	same "cat zzzq qqqz" "cat"
	run -0 --separate-stderr sh -c \
	    'printf "a\tzzzq\nb\tcat\nc\t\nd\tcafé naïve\n" | ds-embed -m glove-100d'
	[ "${#lines[@]}" -eq 5 ]
	[ "${lines[1]}" = "a	$zeros" ]
	[ "${lines[2]}" = "b	$(vec cat)" ]
	[ "${lines[3]}" = "c	$zeros" ]
	[ "${lines[4]}" = "d	$zeros" ]
	[ "$stderr" = "ds-embed: 3 of 4 texts had no known word" ]
}

@test "--skip-empty drops the texts with no known word" {
	run -0 --separate-stderr sh -c \
	    'printf "a\tzzzq\nb\tcat\nc\t\n" | ds-embed -m glove-100d --skip-empty'
	[ "${#lines[@]}" -eq 2 ]
	[ "${lines[1]}" = "b	$(vec cat)" ]
	[ "$stderr" = "ds-embed: 2 of 3 texts had no known word (skipped)" ]
}

@test "empty input gives the header alone" {
	run -0 --separate-stderr ds-embed -m glove-100d < /dev/null
	[ "$output" = "#ds kind=dense dim=100 model=glove-100d provider=glove norm=l2" ]
	[ -z "$stderr" ]
}

@test "odd bytes: very long words, control characters" {
	long=$(printf 'a%.0s' $(seq 5000))
	printf 'a\t%s cat\nc\tcat\001\002dog\n' "$long" > odd.tsv
	printf 'd\t%s-%s-cat\n' "$long" "$long" >> odd.tsv
	run -0 --separate-stderr ds-embed -m glove-100d odd.tsv
	[ "${#lines[@]}" -eq 4 ]
	[ "${lines[1]}" = "a	$(vec cat)" ]
	[ "${lines[2]}" = "c	$(vec 'cat dog')" ]
	[ "${lines[3]}" = "d	$(vec cat)" ]
	[ -z "$stderr" ]
}

@test "malformed UTF-8 is bad data (65), the records before it written" {
	printf 'a\tcat\nb\t\377\376 cat\n' > bad.tsv
	run -65 --separate-stderr ds-embed -m glove-100d bad.tsv
	[ "${#lines[@]}" -eq 2 ]
	[ "${lines[1]}" = "a	$(vec cat)" ]
	[ "$stderr" = "ds-embed: bad.tsv:2: invalid UTF-8 at byte offset 8" ]
}

@test "a vector stream as input is bad data (65) after the texts before it" {
	printf 'a\tcat\n' > t.tsv
	run -65 --separate-stderr ds-embed -m glove-100d t.tsv "$DATA/dense.tsv"
	[ "${#lines[@]}" -eq 2 ]
	[ "${lines[1]}" = "a	$(vec cat)" ]
	[[ "$stderr" == "ds-embed: "*"dense.tsv"* ]]
}

@test "a missing input file is reported (66) and the others are read" {
	printf 'a\tcat\n' > t.tsv
	run -66 --separate-stderr ds-embed -m glove-100d nothere.tsv t.tsv
	[ "${lines[1]}" = "a	$(vec cat)" ]
	[[ "$stderr" == "ds-embed: nothere.tsv: "* ]]
}

@test "a write error is an I/O error (74)" {
	[ -w /dev/full ] || skip "no /dev/full"
	run -74 --separate-stderr sh -c 'echo cat | ds-embed -m glove-100d > /dev/full'
	[ -z "$output" ]
	[[ "$stderr" == "ds-embed: stdout: "* ]]
}

@test "a missing model file names the file and 'make data' (66)" {
	export DS_DATA_DIR="$BATS_TEST_TMPDIR/none"
	run -66 --separate-stderr ds-embed -m glove-100d < /dev/null
	[ -z "$output" ]
	[ "$stderr" = "ds-embed: $DS_DATA_DIR/glove-100d.bin: No such file or directory (run 'make data' to fetch and convert the glove-100d model)" ]
}

@test "a model path that is a directory is refused (66)" {
	mkdir -p m/glove-100d.bin
	export DS_DATA_DIR="$BATS_TEST_TMPDIR/m"
	run -66 --separate-stderr ds-embed -m glove-100d < /dev/null
	[ -z "$output" ]
	[[ "$stderr" == "ds-embed: $DS_DATA_DIR/glove-100d.bin: not a regular file (run 'make data'"* ]]
}

# Copy the tiny model into m/ for a test to damage.
damaged() {
	mkdir -p m
	cp "$TINY/glove-100d.bin" m/glove-100d.bin
	export DS_DATA_DIR="$BATS_TEST_TMPDIR/m"
}

# The u32 / u64 at byte offset $1 of the damaged model.
u32() { od -An -t u4 -j "$1" -N 4 m/glove-100d.bin | tr -d ' '; }
u64() { od -An -t u8 -j "$1" -N 8 m/glove-100d.bin | tr -d ' '; }

corrupt() {
	run -65 --separate-stderr ds-embed -m glove-100d < /dev/null
	[ -z "$output" ]
	[ "$stderr" = "ds-embed: $DS_DATA_DIR/glove-100d.bin: $1 (run 'make data' to fetch and convert the glove-100d model)" ]
}

@test "corrupt model: empty, truncated, or one byte too long (65)" {
	damaged
	: > m/glove-100d.bin
	corrupt "too short to be a model file"
	head -c 5000 "$TINY/glove-100d.bin" > m/glove-100d.bin
	corrupt "file size differs from its header (truncated?)"
	cp "$TINY/glove-100d.bin" m/glove-100d.bin
	printf x >> m/glove-100d.bin
	corrupt "file size differs from its header (truncated?)"
}

@test "corrupt model: bad magic, damaged header (65)" {
	damaged
	printf 'X' | dd of=m/glove-100d.bin bs=1 seek=0 conv=notrunc 2>/dev/null
	corrupt "not a model file (bad magic)"
	damaged
	printf '\377' | dd of=m/glove-100d.bin bs=1 seek=16 conv=notrunc 2>/dev/null
	corrupt "header checksum mismatch"
}

@test "corrupt model: header fields out of range, checksum recomputed (65)" {
	damaged
	# Set a u32 or u64 field and fix the FNV-1a 64 checksum after it.
	patch() {
		/usr/bin/python3 - "$1" "$2" "$3" <<'PY'
import struct, sys
off, fmt, val = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
b = bytearray(open("m/glove-100d.bin", "rb").read())
struct.pack_into("<" + fmt, b, off, val)
h = 0xcbf29ce484222325
for c in b[:120]:
    h = ((h ^ c) * 0x100000001b3) & 0xffffffffffffffff
struct.pack_into("<Q", b, 120, h)
open("m/glove-100d.bin", "wb").write(b)
PY
	}
	patch 24 I 1000		# hash slots not a power of two
	corrupt "header counts out of range"
	damaged
	patch 96 Q 99999999	# vectors past the end
	corrupt "a section lies outside the file"
	damaged
	patch 20 I 7		# unknown vector type
	corrupt "header counts out of range"
	damaged
	patch 56 Q 3		# a pool that does not end in NUL
	corrupt "word pool is not terminated"
}

@test "corrupt model: a common component that is not a unit vector (65)" {
	damaged
	off=$(u64 80)
	printf '\0\0\240\100' |
	    dd of=m/glove-100d.bin bs=1 seek="$off" conv=notrunc 2>/dev/null
	corrupt "common component is not a unit vector"
}

@test "corrupt model: a hash table entry out of range is caught (65)" {
	damaged
	off=$(u64 72)
	slots=$(u32 24)
	head -c $((4 * slots)) /dev/zero | tr '\0' '\377' |
	    dd of=m/glove-100d.bin bs=1 seek="$off" conv=notrunc 2>/dev/null
	run -65 --separate-stderr sh -c 'echo cat | ds-embed -m glove-100d'
	[ "${lines[0]}" = "#ds kind=dense dim=100 model=glove-100d provider=glove norm=l2" ]
	[ "${#lines[@]}" -eq 1 ]
	[ "$stderr" = "ds-embed: $DS_DATA_DIR/glove-100d.bin: corrupt model file: a hash table entry points outside the file (run 'make data' to rebuild it)" ]
}

@test "a model of another dimension is refused (65)" {
	mkdir -p m
	/usr/bin/python3 - "$DATA/glove-tiny.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["dimensions"] = 3
d["vectors"] = {w: v[:3] + [sum(x * x for x in v[:3]) ** 0.5, v[101]]
    for w, v in d["vectors"].items()}
json.dump(d, open("three.json", "w"))
PY
	glove-convert three.json m/glove-100d.bin
	export DS_DATA_DIR="$BATS_TEST_TMPDIR/m"
	run -65 --separate-stderr ds-embed -m glove-100d < /dev/null
	[ -z "$output" ]
	[ "$stderr" = "ds-embed: $DS_DATA_DIR/glove-100d.bin: has 3 dimensions, not 100 (run 'make data' to rebuild it)" ]
}

@test "glove-convert refuses malformed JSON with the byte offset (65)" {
	printf '{"dimensions":100,"size":1,"words":["a"],"vectors":{"a":[1,2' > bad.json
	run -65 --separate-stderr glove-convert bad.json out.bin
	[ -z "$output" ]
	[ "$stderr" = "glove-convert: bad.json:1: byte 60: expected ','" ]
	[ ! -e out.bin ]
	printf '{"dimensions":2,"size":2,"words":["a","a"],"vectors":{}}' > dup.json
	run -65 --separate-stderr glove-convert dup.json out.bin
	[ "$stderr" = 'glove-convert: word 2: "a" appears twice' ]
	run -66 --separate-stderr glove-convert nothere.json out.bin
	[ "$stderr" = "glove-convert: nothere.json: No such file or directory" ]
}

@test "real model: related texts are closer than unrelated ones" {
	[ -f "$REAL" ] || skip "no data/glove-100d.bin (make data)"
	export DS_DATA_DIR="$(dirname "$REAL")"
	a=$(vec "The cat sat on the mat.")
	b=$(vec "A dog was lying on the rug.")
	c=$(vec "Stock markets fell sharply after the central bank raised rates.")
	ab=$(cosine "$a" "$b")
	ac=$(cosine "$a" "$c")
	run -0 awk -v ab="$ab" -v ac="$ac" 'BEGIN { print (ab > ac + 0.2) ? "closer" : "not closer" }'
	[ "$output" = "closer" ]
}

@test "real model: the tokenizer finds GloVe's words" {
	[ -f "$REAL" ] || skip "no data/glove-100d.bin (make data)"
	export DS_DATA_DIR="$(dirname "$REAL")"
	run -0 --separate-stderr sh -c \
	    'printf "a\tWell-known e-mail state-of-the-art\nb\tI O\n" | ds-embed -m glove-100d -E'
	[ "${#lines[@]}" -eq 2 ]
	[ "$(printf '%s\n' "${lines[1]}" | cut -f1)" = "a" ]
	[ "$stderr" = "ds-embed: 1 of 2 texts had no known word (skipped)" ]
}

@test "scripts/fortunes-corpus: one record per fortune, labelled by file" {
	mkdir -p f
	printf 'A cat\n\tsat.\n%%\nback\\slash\n%%\n' > f/pets
	printf 'Beam me up.\n' > f/startrek
	FORTUNES_DIR=f FORTUNES_TOPICS="pets startrek" \
	    run -0 --separate-stderr "$BATS_TEST_DIRNAME/../scripts/fortunes-corpus"
	[ "$output" = "pets-1	pets	A cat sat.
pets-2	pets	back\\\\slash
startrek-1	startrek	Beam me up." ]
	[ -z "$stderr" ]
	FORTUNES_DIR=f FORTUNES_TOPICS="pets law" \
	    run -66 --separate-stderr "$BATS_TEST_DIRNAME/../scripts/fortunes-corpus"
	[ -z "$output" ]
	[ "$stderr" = "scripts/fortunes-corpus: f/law: missing (apt-get install fortunes, or run scripts/setup)" ]
}
