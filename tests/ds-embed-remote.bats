#!/usr/bin/env bats
# ds-embed against the fake DashScope service (tests/fake-dashscope.py):
# order, batching, retries and failures, the cache, keys, both APIs.

bats_require_minimum_version 1.5.0

KEY=sk-live-7f3a9c1e2b44d0

load fake
FAKE_KEYS="sk-test $KEY"

setup_file() {
	export FAKE="$BATS_FILE_TMPDIR/fake"
	start_fake "$FAKE" --shuffle
	export PORT=$(cat "$FAKE/port")
}

teardown_file() {
	stop_fake "$FAKE"
}

setup() {
	load '/usr/lib/bats/bats-support/load'
	load '/usr/lib/bats/bats-assert/load'
	PATH="$BATS_TEST_DIRNAME/../bin:$PATH"
	cd "$BATS_TEST_TMPDIR"
	use_fake "$KEY"
}

# The log lines of this test's requests, and a Python expression over them
# (a list of dicts named reqs).
requests() {
	tail -n +$((N0 + 1)) "$LOG"
}
logq() {
	requests | python3 -c '
import json, sys
reqs = [json.loads(l) for l in sys.stdin if l.strip()]
print(eval(sys.argv[1]))' "$1"
}

# n text records "idK<TAB>text number K".
texts() {
	awk -v n="$1" -v p="${2:-text number}" \
	    'BEGIN { for (i = 1; i <= n; i++) printf "id%d\t%s %d\n", i, p, i }'
}

summary_re='^ds-embed: [0-9]+ records, [0-9]+ requests, [0-9]+ retries, [0-9]+ cache hits, [0-9]+ cache misses, [0-9]+ duplicates, [0-9]+ tokens(, \$[0-9.]+ at list price)?$'

@test "records come back in input order under shuffling and -j 8" {
	texts 95 >in.tsv
	run -0 --separate-stderr ds-embed -j 8 -d 64 in.tsv
	# A partial batch may leave early when the input is slow to come.
	[[ "$stderr" =~ ^"ds-embed: 95 records, "[0-9]+" requests, 0 retries, 0 cache hits, 95 cache misses, 0 duplicates, 285 tokens, \$0.000020 at list price"$ ]]
	[ "${lines[0]}" = "#ds kind=dense model=text-embedding-v4 provider=dashscope text_type=document dim=64 norm=l2" ]
	printf '%s\n' "$output" >out.tsv
	diff <(cut -f1 in.tsv) <(ids_of out.tsv)
	[ "$(grep -v '^#' out.tsv | awk -F'\t' '{ print split($2, a, " ") }' | sort -u)" = 64 ]
	[ "$(logq 'sum(r["n"] for r in reqs)')" = 95 ]
}

@test "payload fields pass through and a TAB-less line is its own id" {
	printf 'a\tlabel1\tfirst text\nsecond text\n' >in.tsv
	run -0 --separate-stderr ds-embed -d 64 in.tsv
	[[ "$stderr" =~ $summary_re ]]
	[ "$(printf '%s\n' "$output" | sed -n 2p | cut -f1,2)" = "$(printf 'a\tlabel1')" ]
	[ "$(printf '%s\n' "$output" | sed -n 3p | cut -f1)" = 2 ]
}

@test "other words of the input's header are kept" {
	printf '#ds kind=text corpus=faq\na\tfirst text\n' >in.tsv
	run -0 --separate-stderr ds-embed -d 64 in.tsv
	[[ "$stderr" =~ $summary_re ]]
	[ "${lines[0]}" = "#ds kind=dense corpus=faq model=text-embedding-v4 provider=dashscope text_type=document dim=64 norm=l2" ]
	[ "${#lines[@]}" = 2 ]
}

@test "the same text gets the same vector, a different text another" {
	printf 'a\tsame words\nb\tother words\nc\tsame words\n' >in.tsv
	run -0 --separate-stderr ds-embed -d 64 --no-cache in.tsv
	[[ "$stderr" == *" 1 duplicates,"* ]]
	[ "$(printf '%s\n' "$output" | sed -n 2p | cut -f2)" = "$(printf '%s\n' "$output" | sed -n 4p | cut -f2)" ]
	[ "$(printf '%s\n' "$output" | sed -n 2p | cut -f2)" != "$(printf '%s\n' "$output" | sed -n 3p | cut -f2)" ]
	# Sent once.
	[ "$(logq 'sum(r["n"] for r in reqs)')" = 2 ]
}

@test "every number arrives as the float nearest the service's decimal" {
	texts 12 >in.tsv
	run -0 --separate-stderr ds-embed -d 1024 --no-cache in.tsv
	[[ "$stderr" =~ $summary_re ]]
	printf '%s\n' "$output" >out.tsv
	# The fake's own vectors, its JSON text rounded exactly to float32
	# (ties to even), against what ds-embed wrote: all 12 * 1024 equal.
	run -0 python3 -c '
import importlib.util, json, struct, sys
from fractions import Fraction
spec = importlib.util.spec_from_file_location("fake", sys.argv[1])
fake = importlib.util.module_from_spec(spec)
spec.loader.exec_module(fake)
def bits(x):
    return struct.unpack("<I", struct.pack("<f", x))[0]
def f32(b):
    return struct.unpack("<f", struct.pack("<I", b))[0]
def nearest(text):
    q = Fraction(text)
    b = bits(float(text)) & 0x7fffffff
    best = None
    for c in (max(b - 1, 0), b, b + 1):
        v = f32(c | (0x80000000 if q < 0 else 0))
        d = abs(Fraction(v) - q)
        if best is None or d < best[0] or (d == best[0] and c % 2 == 0):
            best = (d, v)
    return best[1]
texts = {l.split("\t")[0]: l.rstrip("\n").split("\t")[1] for l in open("in.tsv")}
same = n = 0
for line in open("out.tsv"):
    if line.startswith("#"):
        continue
    rid, vec = line.rstrip("\n").split("\t")
    want = fake.vector("text-embedding-v4", 1024, "document", None, texts[rid])
    got = [float(x) for x in vec.split(" ")]
    for w, g in zip(want, got):
        n += 1
        same += bits(nearest(json.dumps(w))) == bits(g)
print(same, n)' "$BATS_TEST_DIRNAME/fake-dashscope.py"
	[ "$output" = "12288 12288" ]
}

@test "an answer that comes a few bytes at a time reads the same" {
	# The first request with the mark gets its answer in pieces of 1 to
	# 13 bytes (numbers cut anywhere); asked again, it comes in one piece.
	texts 3 >in.tsv
	sed -i '1s/$/ @fault:dribble:1/' in.tsv
	run -0 --separate-stderr ds-embed --no-cache -d 64 in.tsv
	[[ "$stderr" =~ $summary_re ]]
	printf '%s\n' "$output" >pieces.tsv
	run -0 --separate-stderr ds-embed --no-cache -d 64 in.tsv
	printf '%s\n' "$output" >whole.tsv
	[ "$(logq '[r["fault"] for r in reqs]')" = "['dribble', None]" ]
	cmp pieces.tsv whole.tsv
	diff <(cut -f1 in.tsv) <(ids_of pieces.tsv)
	[ "$(grep -v '^#' pieces.tsv | awk -F'\t' '{ print split($2, a, " ") }' | sort -u)" = 64 ]
}

@test "batches never exceed the model's limit (10 for v4, 25 for v2)" {
	texts 57 >in.tsv
	run -0 --separate-stderr ds-embed -d 64 in.tsv
	[[ "$stderr" =~ $summary_re ]]
	[ "${#lines[@]}" = 58 ]
	[ "$(logq 'max(r["n"] for r in reqs)')" = 10 ]
	N0=$(wc -l <"$LOG")
	run -0 --separate-stderr ds-embed -m text-embedding-v2 in.tsv
	[[ "$stderr" =~ $summary_re ]]
	[ "${#lines[@]}" = 58 ]
	[ "$(logq 'max(r["n"] for r in reqs)')" = 25 ]
	[ "$(logq 'len(reqs)')" = 3 ]
}

@test "-n above the model's limit is a usage error (64), nothing sent" {
	texts 3 >in.tsv
	run -64 --separate-stderr ds-embed -n 11 in.tsv
	[ -z "$output" ]
	[ "$stderr" = "ds-embed: -n 11: text-embedding-v4 takes at most 10 texts a request" ]
	[ "$(logq 'len(reqs)')" = 0 ]
}

@test "a dimension the model lacks is refused before any request (64)" {
	texts 3 >in.tsv
	run -64 --separate-stderr ds-embed -d 100 in.tsv
	[ -z "$output" ]
	[ "$stderr" = "ds-embed: -d 100: text-embedding-v4 takes 2048, 1536, 1024, 768, 512, 256, 128, 64" ]
	run -64 --separate-stderr ds-embed -m text-embedding-v2 -d 1024 in.tsv
	[ -z "$output" ]
	[ "$stderr" = "ds-embed: -d 1024: text-embedding-v2 takes 1536" ]
	[ "$(logq 'len(reqs)')" = 0 ]
}

@test "an unknown model is refused with the known ones (64)" {
	texts 3 >in.tsv
	run -64 --separate-stderr ds-embed -m text-embedding-v9 in.tsv
	[ -z "$output" ]
	[ "$stderr" = "ds-embed: text-embedding-v9: unknown model; known: glove-100d text-embedding-v4 text-embedding-v3 text-embedding-v2 text-embedding-v1" ]
	[ "$(logq 'len(reqs)')" = 0 ]
}

@test "no API key is a configuration error (78), nothing sent" {
	texts 3 >in.tsv
	unset DASHSCOPE_API_KEY
	run -78 --separate-stderr ds-embed -m text-embedding-v4 in.tsv
	[ -z "$output" ]
	[ "$stderr" = "ds-embed: no API key: set DASHSCOPE_API_KEY or use -k FILE" ]
	[ "$(logq 'len(reqs)')" = 0 ]
}

@test "the key goes in the Authorization header and nowhere else" {
	texts 12 >in.tsv
	printf 'x\tflaky @fault:500\n' >>in.tsv
	run -0 --separate-stderr ds-embed -v -w 0.01 -d 64 in.tsv
	[[ "$stderr" == *"Authorization: Bearer <redacted>"* ]]
	[[ "$stderr" == *"HTTP 500 InternalError"*"retrying in"* ]]
	[[ "$stderr" != *"$KEY"* ]]
	[[ "$output" != *"$KEY"* ]]
	[ "${#lines[@]}" = 14 ]
	[ "$(logq 'sorted(set(r["headers"]["Authorization"] for r in reqs))')" = "['Bearer $KEY']" ]
	! grep -q "$KEY" cache/ds/embed.sqlite*
	run -77 --separate-stderr env DASHSCOPE_API_KEY=sk-wrong-3141 \
	    ds-embed -v -d 64 --no-cache in.tsv
	[ -z "$output" ]
	[[ "$stderr" != *sk-wrong-3141* ]]
}

@test "a key file works and its key stays out of the output" {
	texts 3 >in.tsv
	printf '%s\n' "$KEY" >key
	chmod 600 key
	unset DASHSCOPE_API_KEY
	run -0 --separate-stderr ds-embed -k key -d 64 in.tsv
	[[ "$stderr" =~ $summary_re ]]
	[ "${#lines[@]}" = 4 ]
	[[ "$output" != *"$KEY"* ]]
	printf '\n' >empty-key
	run -78 --separate-stderr ds-embed -k empty-key -d 64 in.tsv
	[ -z "$output" ]
	[ "$stderr" = "ds-embed: empty-key: no API key in the file" ]
}

@test "a refused key stops at once with 77 and says which host" {
	texts 3 >in.tsv
	run -77 --separate-stderr env DASHSCOPE_API_KEY=sk-wrong ds-embed -d 64 in.tsv
	[ -z "$output" ]
	[[ "${stderr_lines[1]}" =~ ^"ds-embed: HTTP 401 InvalidApiKey: Invalid API-key provided. (request_id ".*"); keys belong to one region: is http://127.0.0.1:$PORT/api/v1 the right host? (ids id1 id2 id3)"$ ]]
	[ "$(logq 'len(reqs)')" = 1 ]
}

@test "403 is not retried and exits 77" {
	printf 'a\tone\nb\tforbidden @fault:403\n' >in.tsv
	run -77 --separate-stderr ds-embed -d 64 -n 1 -j 1 in.tsv
	[ "${#lines[@]}" = 2 ]
	[[ "${stderr_lines[1]}" == "ds-embed: HTTP 403 AccessDenied.Unpurchased: Access to model denied."*"(id b)" ]]
	[ "$(logq 'len(reqs)')" = 2 ]
}

@test "each transient fault is retried and nothing is lost or doubled" {
	texts 40 >in.tsv
	# One fault a batch of three, so that each is met once.
	for f in 429rate 429quota 500 502 503 504 408 trunc garble reset short; do
		printf 'f-%s\tfaulty text @fault:%s\n' "$f" "$f" >>in.tsv
		texts 2 "after $f" >>in.tsv
	done
	run -0 --separate-stderr ds-embed -w 0.01 -n 3 -j 4 -d 64 in.tsv
	[[ "$stderr" =~ $summary_re ]]
	# libcurl itself resends once when a reused connection is reset.
	[[ "$stderr" == *" 1"[01]" retries,"* ]]
	printf '%s\n' "$output" >out.tsv
	diff <(cut -f1 in.tsv) <(ids_of out.tsv)
	[ "$(logq 'sorted(set(r["fault"] for r in reqs if r["fault"]))')" = "['408', '429quota', '429rate', '500', '502', '503', '504', 'garble', 'reset', 'short', 'trunc']" ]
}

@test "a reply slower than -T is abandoned and retried" {
	slow="$BATS_TEST_TMPDIR/slow"
	start_fake "$slow" --slow 1.5
	printf 'a\tone\nb\tslow one @fault:slow\n' >in.tsv
	run -0 --separate-stderr env DASHSCOPE_HTTP_BASE_URL=http://127.0.0.1:$(cat "$slow/port")/api/v1 \
	    ds-embed -T 1 -w 0.01 -d 64 in.tsv
	[[ "$stderr" == *" 1 retries,"* ]]
	[ "${#lines[@]}" = 3 ]
	sleep 1
	stop_fake "$slow"
	[ "$(grep -c '"status": 200' "$slow/log")" = 1 ]
	[ "$(grep -c '"fault": "slow"' "$slow/log")" = 1 ]
}

@test "Retry-After is honoured" {
	printf 'a\tpatience @fault:429after\n' >in.tsv
	start=$(date +%s%N)
	run -0 --separate-stderr ds-embed -w 0.01 -d 64 in.tsv
	end=$(date +%s%N)
	[[ "$stderr" == *" 1 retries,"* ]]
	[ "${#lines[@]}" = 2 ]
	[ $(( (end - start) / 1000000 )) -ge 1000 ]
}

@test "exhausted retries exit 75 after writing every record before the batch" {
	texts 10 >in.tsv
	printf 'bad\talways failing @fault:500:*\n' >>in.tsv
	texts 5 later >>in.tsv
	run -75 --separate-stderr ds-embed -j 1 -r 2 -w 0.01 -d 64 in.tsv
	[ "${#lines[@]}" = 11 ]
	printf '%s\n' "$output" >out.tsv
	diff <(head -n 10 in.tsv | cut -f1) <(ids_of out.tsv)
	[[ "${stderr_lines[1]}" =~ ^"ds-embed: HTTP 500 InternalError: An internal error has occured".*"; gave up after 3 attempts (ids bad id1 id2 id3 id4 id5)"$ ]]
}

@test "a refused text in a batch is found and named; 65 for bad input" {
	texts 4 >in.tsv
	printf 'bad\tblocked @fault:400:*\n' >>in.tsv
	texts 3 after >>in.tsv
	run -65 --separate-stderr ds-embed -j 1 -d 64 in.tsv
	printf '%s\n' "$output" >out.tsv
	diff <(head -n 4 in.tsv | cut -f1) <(ids_of out.tsv)
	[[ "${stderr_lines[1]}" =~ ^"ds-embed: HTTP 400 DataInspectionFailed: Input or output data may contain inappropriate content. (request_id ".*") (id bad)"$ ]]
}

@test "--on-error skip reports the failed ids, goes on, and exits 1" {
	texts 4 >in.tsv
	printf 'bad\tblocked @fault:400:*\n' >>in.tsv
	texts 3 after >>in.tsv
	run -1 --separate-stderr ds-embed -e skip -j 1 -d 64 in.tsv
	printf '%s\n' "$output" >out.tsv
	diff <(grep -v '^bad' in.tsv | cut -f1) <(ids_of out.tsv)
	[[ "${stderr_lines[0]}" =~ ^"ds-embed: skipped bad: HTTP 400 DataInspectionFailed: ".*$ ]]
	[ "${stderr_lines[2]}" = "ds-embed: 1 records failed and were skipped" ]
}

@test "a vector of the wrong dimension is refused at once (65)" {
	printf 'a\tshort vector @fault:wrongdim\n' >in.tsv
	run -65 --separate-stderr ds-embed -d 64 in.tsv
	[ -z "$output" ]
	[ "${stderr_lines[1]}" = "ds-embed: response has 3 dimensions for text 0, expected 64 (id a)" ]
	[ "$(logq 'len(reqs)')" = 1 ]
}

@test "an unreachable service exits 69 after the retries" {
	texts 2 >in.tsv
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' >freeport
	run -69 --separate-stderr env DASHSCOPE_HTTP_BASE_URL=http://127.0.0.1:$(cat freeport)/api/v1 \
	    ds-embed -r 2 -w 0.01 -d 64 in.tsv
	[ -z "$output" ]
	[[ "${stderr_lines[1]}" == *"gave up after 3 attempts (ids id1 id2)" ]]
}

@test "an empty text is refused with its id (65); --skip-empty drops it" {
	printf 'a\tone\nb\t\nc\tthree\n' >in.tsv
	run -65 --separate-stderr ds-embed -d 64 in.tsv
	[ "${#lines[@]}" = 2 ]
	[ "${stderr_lines[1]}" = "ds-embed: in.tsv:2: empty text, id b (--skip-empty drops such records)" ]
	run -0 --separate-stderr ds-embed -E -d 64 in.tsv
	[ "${#lines[@]}" = 3 ]
	[ "${stderr_lines[1]}" = "ds-embed: 1 empty texts skipped" ]
	[ "$(logq 'sum(t == "" for r in reqs for t in r.get("texts", []))')" = 0 ]
}

@test "a rerun is served from the cache with no request at all" {
	texts 30 >in.tsv
	run -0 --separate-stderr ds-embed -d 64 in.tsv
	printf '%s\n' "$output" >first.tsv
	[[ "$stderr" == *" 0 cache hits, 30 cache misses,"* ]]
	[ "$(stat -c %a cache/ds/embed.sqlite)" = 600 ]
	N0=$(wc -l <"$LOG")
	run -0 --separate-stderr ds-embed -d 64 in.tsv
	[ "$stderr" = "ds-embed: 30 records, 0 requests, 0 retries, 30 cache hits, 0 cache misses, 0 duplicates, 0 tokens, \$0.000000 at list price" ]
	diff first.tsv <(printf '%s\n' "$output")
	[ "$(logq 'len(reqs)')" = 0 ]
	# Another dimension is another space: nothing reused.
	run -0 --separate-stderr ds-embed -d 128 in.tsv
	[[ "$stderr" == *" 0 cache hits, 30 cache misses,"* ]]
}

@test "a run killed halfway is finished by a rerun that asks only for the rest" {
	slow="$BATS_TEST_TMPDIR/slow"
	start_fake "$slow" --latency 150
	base=http://127.0.0.1:$(cat "$slow/port")/api/v1
	texts 200 >in.tsv
	DASHSCOPE_HTTP_BASE_URL=$base ds-embed -j 1 -d 64 in.tsv >part.tsv 2>/dev/null 3>&- &
	pid=$!
	# Kill it once some answers are committed, well before the end.
	count='import sqlite3, sys
try:
    print(sqlite3.connect(sys.argv[1]).execute("select count(*) from embedding").fetchone()[0])
except sqlite3.Error:
    print(0)'
	i=0
	while [ "$(python3 -c "$count" cache/ds/embed.sqlite 2>/dev/null || echo 0)" -lt 10 ] &&
	    [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	kill -9 "$pid"
	wait "$pid" || true
	cached=$(python3 -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute("select count(*) from embedding").fetchone()[0])' cache/ds/embed.sqlite)
	[ "$cached" -gt 0 ]
	[ "$cached" -lt 200 ]
	n1=$(wc -l <"$slow/log")
	run -0 --separate-stderr env DASHSCOPE_HTTP_BASE_URL=$base ds-embed -j 4 -d 64 in.tsv
	stop_fake "$slow"
	[[ "$stderr" == *" $cached cache hits, $((200 - cached)) cache misses,"* ]]
	printf '%s\n' "$output" >out.tsv
	diff <(cut -f1 in.tsv) <(ids_of out.tsv)
	# The second run asked for exactly the texts the first did not keep.
	sent=$(tail -n +$((n1 + 1)) "$slow/log" | python3 -c '
import json, sys
print(sum(json.loads(l)["n"] for l in sys.stdin))')
	[ "$sent" = $((200 - cached)) ]
}

@test "the OpenAI-compatible API: path, body, key and order" {
	texts 23 >in.tsv
	unset DASHSCOPE_API_KEY
	export OPENAI_API_KEY=$KEY
	run -0 --separate-stderr ds-embed -A openai \
	    -B http://127.0.0.1:$PORT/compatible-mode/v1 -m text-embedding-v3 \
	    -d 256 -j 3 in.tsv
	[[ "$stderr" =~ $summary_re ]]
	[ "${lines[0]}" = "#ds kind=dense model=text-embedding-v3 provider=openai dim=256 norm=l2" ]
	printf '%s\n' "$output" >out.tsv
	diff <(cut -f1 in.tsv) <(ids_of out.tsv)
	[ "$(logq 'sorted(set(r["path"] for r in reqs))')" = "['/compatible-mode/v1/embeddings']" ]
	[ "$(logq 'sorted(set(json.dumps(r["params"], sort_keys=True) for r in reqs))')" = "['{\"dimensions\": 256, \"encoding_format\": \"float\"}']" ]
	[ "$(logq 'max(r["n"] for r in reqs)')" = 10 ]
}

@test "the OpenAI-compatible API reports its own error envelope" {
	texts 2 >in.tsv
	export OPENAI_API_KEY=sk-nope
	run -77 --separate-stderr ds-embed -A openai \
	    -B http://127.0.0.1:$PORT/compatible-mode/v1 -d 64 in.tsv
	[ -z "$output" ]
	[[ "${stderr_lines[1]}" == "ds-embed: HTTP 401 invalid_api_key: Incorrect API key provided. (request_id "* ]]
}

@test "dense+sparse: dense on stdout, sparse in its own file and space" {
	printf 'a\tthe cat sat\nb\ton the mat the end\n' >in.tsv
	run -0 --separate-stderr ds-embed -o dense+sparse -s sparse.tsv -d 64 in.tsv
	[[ "$stderr" =~ $summary_re ]]
	[ "${lines[0]}" = "#ds kind=dense model=text-embedding-v4 provider=dashscope text_type=document dim=64 norm=l2" ]
	[ "${#lines[@]}" = 3 ]
	[ "$(head -n 1 sparse.tsv)" = "#ds kind=sparse model=text-embedding-v4 provider=dashscope text_type=document" ]
	[ "$(sed -n 2p sparse.tsv | cut -f2 | wc -w)" = 3 ]
	[ "$(sed -n 3p sparse.tsv | cut -f2 | wc -w)" = 4 ]
	# Indexes ascending.
	sed -n '2,$p' sparse.tsv | cut -f2 | tr ' ' '\n' | cut -d: -f1 >idx
	for r in 1 2; do
		sed -n "$((r + 1))p" sparse.tsv | cut -f2 | tr ' ' '\n' | cut -d: -f1 >one
		sort -n -c one
	done
	[ "$(logq 'sorted(set(r["params"]["output_type"] for r in reqs))')" = "['dense&sparse']" ]
}

@test "-o sparse alone, and the options that need a sparse model" {
	printf 'a\tthe cat sat\n' >in.tsv
	run -0 --separate-stderr ds-embed -o sparse in.tsv
	[[ "$stderr" =~ $summary_re ]]
	[ "${lines[0]}" = "#ds kind=sparse model=text-embedding-v4 provider=dashscope text_type=document" ]
	run -64 --separate-stderr ds-embed -o sparse -m text-embedding-v2 in.tsv
	[ -z "$output" ]
	[ "$stderr" = "ds-embed: -o sparse: text-embedding-v2 has no sparse vectors" ]
	run -64 --separate-stderr ds-embed -o dense+sparse in.tsv
	[ -z "$output" ]
	[ "$stderr" = "ds-embed: -o dense+sparse needs -s FILE for the sparse records" ]
}

@test "--instruct is sent as parameters.instruct with text_type query" {
	printf 'q\twhat is a cat\n' >in.tsv
	run -0 --separate-stderr ds-embed -I "Given a question, find answers" -d 64 in.tsv
	[[ "$stderr" =~ $summary_re ]]
	[ "${lines[0]}" = '#ds kind=dense model=text-embedding-v4 provider=dashscope text_type=query instruct=Given\sa\squestion,\sfind\sanswers dim=64 norm=l2' ]
	[ "$(logq 'reqs[0]["params"]["instruct"] + "|" + reqs[0]["params"]["text_type"]')" = "Given a question, find answers|query" ]
	run -64 --separate-stderr ds-embed -I x -m text-embedding-v3 in.tsv
	[ -z "$output" ]
	[ "$stderr" = "ds-embed: -I: text-embedding-v3 takes no instruction" ]
}

@test "--query and --document set text_type and change the vectors" {
	printf 'q\twhat is a cat\n' >in.tsv
	run -0 --separate-stderr ds-embed -q -d 64 in.tsv
	[[ "$stderr" =~ $summary_re ]]
	q=$(printf '%s\n' "$output" | sed -n 2p)
	run -0 --separate-stderr ds-embed -D -d 64 in.tsv
	[[ "$stderr" =~ $summary_re ]]
	d=$(printf '%s\n' "$output" | sed -n 2p)
	[ "$q" != "$d" ]
	[ "$(logq '[r["params"]["text_type"] for r in reqs]')" = "['query', 'document']" ]
}

@test "the service's rate window is outlasted without a lost record" {
	lim="$BATS_TEST_TMPDIR/lim"
	start_fake "$lim" --rpm 4 --window 1
	texts 12 >in.tsv
	run -0 --separate-stderr env DASHSCOPE_HTTP_BASE_URL=http://127.0.0.1:$(cat "$lim/port")/api/v1 \
	    ds-embed -n 1 -j 4 -w 0.2 -d 64 in.tsv
	stop_fake "$lim"
	[[ "$stderr" =~ $summary_re ]]
	printf '%s\n' "$output" >out.tsv
	diff <(cut -f1 in.tsv) <(ids_of out.tsv)
	[ "$(grep -c '"status": 429' "$lim/log")" -gt 0 ]
}

@test "--rpm keeps the client under the service's window" {
	lim="$BATS_TEST_TMPDIR/lim"
	start_fake "$lim" --rpm 12 --window 1
	texts 20 >in.tsv
	run -0 --separate-stderr env DASHSCOPE_HTTP_BASE_URL=http://127.0.0.1:$(cat "$lim/port")/api/v1 \
	    ds-embed -R 300 -n 1 -j 8 -d 64 in.tsv
	stop_fake "$lim"
	[[ "$stderr" == *" 0 retries,"* ]]
	[ "${#lines[@]}" = 21 ]
	[ "$(grep -c '"status": 429' "$lim/log")" = 0 ]
}

@test "a write error on stdout exits 74" {
	texts 3 >in.tsv
	run -74 --separate-stderr sh -c 'ds-embed -d 64 in.tsv >/dev/full'
	[ -z "$output" ]
	[[ "$stderr" == *"ds-embed: stdout: No space left on device"* ]]
}

@test "a missing input file is 66, after the others are done" {
	texts 2 >in.tsv
	run -66 --separate-stderr ds-embed -d 64 nosuch.tsv in.tsv
	[ "${#lines[@]}" = 3 ]
	[ "${stderr_lines[0]}" = "ds-embed: nosuch.tsv: No such file or directory" ]
}

@test "--progress draws a line on stderr" {
	texts 5 >in.tsv
	run -0 --separate-stderr ds-embed -p -d 64 in.tsv
	[ "${#lines[@]}" = 6 ]
	[[ "$stderr" == *"ds-embed: 5 records, "*" tokens, "*"/s"* ]]
}

@test "bad option values are usage errors (64)" {
	run -64 --separate-stderr ds-embed -j 0
	[ -z "$output" ]
	[ "$stderr" = "ds-embed: -j 0: too small" ]
	run -64 --separate-stderr ds-embed -e maybe
	[ "$stderr" = "ds-embed: -e maybe: expected stop or skip" ]
	run -64 --separate-stderr ds-embed -A grpc
	[ "$stderr" = "ds-embed: -A grpc: expected dashscope or openai" ]
	run -64 --separate-stderr ds-embed -B ftp://x
	[ "$stderr" = "ds-embed: ftp://x: the base URL must start with http:// or https://" ]
}

@test "--dry-run counts tokens with the Qwen3 tokenizer and sends nothing" {
	[ -f "$BATS_TEST_DIRNAME/../data/qwen3-tok.bin" ] || skip "no data/qwen3-tok.bin (make data)"
	unset DASHSCOPE_API_KEY
	printf 'a\thello world\nb\tthe quick brown fox\nc\thello world\n' >in.tsv
	run -0 --separate-stderr ds-embed -x in.tsv
	[ "$output" = "3 texts, 0 cache hits, 3 to send in 1 requests, 8 tokens, \$0.000001 at list price" ]
	[ -z "$stderr" ]
	[ "$(logq 'len(reqs)')" = 0 ]
}

@test "--dry-run lists the texts over the model's token limit (65)" {
	[ -f "$BATS_TEST_DIRNAME/../data/qwen3-tok.bin" ] || skip "no data/qwen3-tok.bin (make data)"
	awk 'BEGIN { printf "long\t"; for (i = 0; i < 3000; i++) printf " word"; printf "\nshort\tfine\n" }' >in.tsv
	run -65 --separate-stderr ds-embed -x -m text-embedding-v2 --no-cache in.tsv
	[ "$output" = "2 texts, 0 cache hits, 2 to send in 1 requests, 3001 tokens" ]
	[ "${stderr_lines[0]}" = "ds-embed: in.tsv:1: id long has 3000 tokens, over text-embedding-v2's 2048" ]
	[ "${stderr_lines[1]}" = "ds-embed: 1 texts over the limit of 2048 tokens" ]
	[ "$(logq 'len(reqs)')" = 0 ]
}

@test "--dry-run takes the cache's hits off" {
	[ -f "$BATS_TEST_DIRNAME/../data/qwen3-tok.bin" ] || skip "no data/qwen3-tok.bin (make data)"
	texts 12 >in.tsv
	run -0 --separate-stderr ds-embed -d 64 in.tsv
	[ "${#lines[@]}" = 13 ]
	texts 15 >in.tsv
	N0=$(wc -l <"$LOG")
	run -0 --separate-stderr ds-embed -x -d 64 in.tsv
	[[ "$output" == "15 texts, 12 cache hits, 3 to send in 1 requests, "*" tokens, \$"*" at list price" ]]
	[ -z "$stderr" ]
	[ "$(logq 'len(reqs)')" = 0 ]
}
