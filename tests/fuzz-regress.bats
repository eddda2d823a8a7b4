#!/usr/bin/env bats
# Bugs the fuzz targets (fuzz/) found, each with the input that showed it,
# where it shows to a user; `make fuzz` replays the raw inputs
# (fuzz/regress/TARGET/) through the targets themselves.

bats_require_minimum_version 1.5.0

setup() {
	load '/usr/lib/bats/bats-support/load'
	load '/usr/lib/bats/bats-assert/load'
	PATH="$BATS_TEST_DIRNAME/../bin:$BATS_TEST_DIRNAME/../tools:$PATH"
	DATA="$BATS_TEST_DIRNAME/data"
	cd "$BATS_TEST_TMPDIR"
	unset DS_FORMAT DASHSCOPE_API_KEY
}

@test "binary stream: an empty first frame is bad data (65), not undefined" {
	# fuzz/regress/fuzz-stream/empty-frame-*: a frame of size 0 before
	# any frame buffer existed did arithmetic on a null pointer.
	{ printf '\211DSB\r\n\032\n\001\0\0\0\013\0\0\0kind=sparse'
	  printf '\0\0\0\0'; } > empty.bin
	run -65 --separate-stderr ds-cat empty.bin
	[ -z "$output" ]
	[ "$stderr" = "ds-cat: empty.bin: frame 1: lengths inside the frame overrun its size" ]
}

@test "TSV stream: a huge dim= is refused, not allocated (65)" {
	# fuzz/regress/fuzz-stream/huge-dim: dim=555555552 made the reader
	# reserve 2.2 GB for the first record before reading its two values.
	# With 300 MB of address space the old reader ran out of memory.
	printf '#ds kind=dense dim=555555552\np0\ta\t\t4.9 0.3\n' > huge.tsv
	if [ "${DS_TEST_LABEL:-}" = sanitize ]; then
		run -65 --separate-stderr ds-cat huge.tsv
	else
		run -65 --separate-stderr sh -c 'ulimit -v 300000; ds-cat huge.tsv'
	fi
	[ -z "$output" ]
	[ "$stderr" = "ds-cat: huge.tsv:2: expected 555555552 floats, found 2" ]
}

@test "built-in model: tiny word vectors give a unit vector, not inf and NaN" {
	# fuzz/regress/fuzz-glove/tiny-norm-*: a sentence vector whose length
	# is below 1e-38 was scaled by 1 / length in float, which overflows:
	# ds-embed wrote "inf nan nan ..." under norm=l2.
	mkdir m
	glove-convert "$DATA/glove-tiny.json" tiny.bin
	/usr/bin/python3 - tiny.bin m/glove-100d.bin <<'PY'
import struct, sys
b = bytearray(open(sys.argv[1], "rb").read())
dim, nwords, vtype = struct.unpack_from("<III", b, 12)
pc, scales, vecs = (struct.unpack_from("<Q", b, o)[0] for o in (80, 88, 96))
assert vtype == 2
for i in range(dim):
    struct.pack_into("<f", b, pc + 4 * i, 0.0)
for w in range(nwords):
    struct.pack_into("<f", b, scales + 4 * w, 1e-40)
    for i in range(dim):
        b[vecs + w * dim + i] = 1 if i == 0 else 0
open(sys.argv[2], "wb").write(b)
PY
	export DS_DATA_DIR="$BATS_TEST_TMPDIR/m"
	run -0 --separate-stderr sh -c 'echo cat | ds-embed -m glove-100d'
	[ -z "$stderr" ]
	[ "${lines[0]}" = "#ds kind=dense dim=100 model=glove-100d provider=glove norm=l2" ]
	[ "${lines[1]}" = "1	1$(printf ' 0%.0s' $(seq 99))" ]
	[ "${#lines[@]}" -eq 2 ]
}

@test "ds-embed: a response whose JSON hides a ':' in an array is refused" {
	# fuzz/regress/fuzz-native/colon-in-array: jsmn took "[{..},: {..}]",
	# making the first object a key; the parser counted one sparse pair
	# but found two, and wrote past its buffer.
	cat > serve.py <<'PY'
import http.server, sys
BODY = (b'{"output": {"embeddings": [{"text_index": 0, "sparse_embedding": '
        b'[{"index": 20, "value": 0.5},: {"index": 10, "value": 0.5}]}]}, '
        b'"usage": {"total_tokens": 1}, "request_id": "r-1"}')
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
open("port", "w").write(str(s.server_address[1]))
s.serve_forever()
PY
	/usr/bin/python3 serve.py 3>&- &
	pid=$!
	for i in $(seq 50); do [ -s port ] && break; sleep 0.1; done
	export DASHSCOPE_API_KEY=sk-test
	run --separate-stderr sh -c "echo hello | ds-embed -C -r 0 -o sparse \
	    -B http://127.0.0.1:$(cat port)/api/v1 -m text-embedding-v4"
	kill $pid
	# Refused as a garbled body (worth a retry: 75 once none are left),
	# where it was read as one pair "20:0.5".
	[ "$status" -eq 75 ]
	[ -z "$output" ]
	[ "${stderr_lines[1]}" = "ds-embed: response is not JSON (malformed); gave up after 1 attempts (id 1)" ]
	[[ "${stderr_lines[0]}" == "ds-embed: 0 records, 1 requests, "* ]]
	[ "${#stderr_lines[@]}" -eq 2 ]
}
