#!/usr/bin/env bats
# ds-embed's model table (lib/models.c) and --tpm, against the fake
# DashScope service (tests/fake-dashscope.py).

bats_require_minimum_version 1.5.0

load fake
FAKE_KEYS="sk-test"

setup_file() {
	export FAKE="$BATS_FILE_TMPDIR/fake"
	start_fake "$FAKE"
	export PORT=$(cat "$FAKE/port")
}

teardown_file() {
	stop_fake "$FAKE"
}

setup() {
	PATH="$BATS_TEST_DIRNAME/../bin:$PATH"
	cd "$BATS_TEST_TMPDIR"
	use_fake sk-test
}

# The number of this test's requests to the fake of log $1 (default the
# file's fake) for which the Python expression $2 over r is true.
count_reqs() {
	local log=${1:-$LOG} from=1
	[ "$log" = "$LOG" ] && from=$((N0 + 1))
	tail -n +$from "$log" | /usr/bin/python3 -c '
import json, sys
reqs = [json.loads(l) for l in sys.stdin if l.strip()]
print(sum(1 for r in reqs if eval(sys.argv[1])))' "$2"
}

# n records "tK<TAB>x y z p q r s t" of eight one-letter words, distinct
# for n up to 52^3: eight tokens for the Qwen3 tokenizer and the fake
# alike, but fifteen bytes, which four bytes a token makes four.
letters() {
	awk -v n="$1" 'BEGIN {
		a = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		for (i = 0; i < n; i++)
			printf "t%d\t%s %s %s p q r s t\n", i + 1,
			    substr(a, int(i / 2704) % 52 + 1, 1),
			    substr(a, int(i / 52) % 52 + 1, 1),
			    substr(a, i % 52 + 1, 1)
	}'
}

need_tokenizer() {
	[ -f "$BATS_TEST_DIRNAME/../data/qwen3-tok.bin" ] ||
	    skip "no data/qwen3-tok.bin (make data)"
}

@test "each model's default dimension comes from its row" {
	printf 'a\tthe cat sat\n' >in.tsv
	for m in text-embedding-v4:1024 text-embedding-v3:1024 \
	    text-embedding-v2:1536 text-embedding-v1:1536; do
		run -0 --separate-stderr ds-embed -t -m "${m%:*}" in.tsv
		[ "${lines[0]}" = "#ds kind=dense model=${m%:*} provider=dashscope text_type=document dim=${m#*:} norm=l2" ]
		[ "$(printf '%s\n' "${lines[1]}" | cut -f2 | wc -w)" = "${m#*:}" ]
		[[ "$stderr" == "ds-embed: 1 records, 1 requests, 0 retries, 0 cache hits, 1 cache misses, 0 duplicates, 3 tokens"* ]]
	done
	[ "$(count_reqs "" 'r["params"]["dimension"] == {"text-embedding-v4": 1024, "text-embedding-v3": 1024}.get(r["model"], 1536)')" = 4 ]
}

@test "each model's dimensions are checked before anything is sent (64)" {
	printf 'a\tthe cat sat\n' >in.tsv
	run -64 --separate-stderr ds-embed -d 7 -m text-embedding-v3 in.tsv
	[ -z "$output" ]
	[ "$stderr" = "ds-embed: -d 7: text-embedding-v3 takes 1024, 768, 512, 256, 128, 64" ]
	run -64 --separate-stderr ds-embed -d 2048 -m text-embedding-v3 in.tsv
	[ "$stderr" = "ds-embed: -d 2048: text-embedding-v3 takes 1024, 768, 512, 256, 128, 64" ]
	run -64 --separate-stderr ds-embed -d 1024 -m text-embedding-v1 in.tsv
	[ "$stderr" = "ds-embed: -d 1024: text-embedding-v1 takes 1536" ]
	run -64 --separate-stderr ds-embed -d 64 -m glove-100d in.tsv
	[ -z "$output" ]
	[ "$stderr" = "ds-embed: -d 64: glove-100d offers only 100" ]
	[ "$(count_reqs "" 'True')" = 0 ]
}

@test "each model's batch limit is the default and the most -n takes (64)" {
	printf 'a\tthe cat sat\n' >in.tsv
	for m in text-embedding-v4:10 text-embedding-v3:10 \
	    text-embedding-v2:25 text-embedding-v1:25; do
		run -64 --separate-stderr ds-embed -m "${m%:*}" \
		    -n $((${m#*:} + 1)) in.tsv
		[ -z "$output" ]
		[ "$stderr" = "ds-embed: -n $((${m#*:} + 1)): ${m%:*} takes at most ${m#*:} texts a request" ]
	done
	[ "$(count_reqs "" 'True')" = 0 ]
	awk 'BEGIN { for (i = 1; i <= 30; i++) printf "id%d\tword %d\n", i, i }' >in.tsv
	run -0 --separate-stderr ds-embed -m text-embedding-v3 -d 64 in.tsv
	[ "${#lines[@]}" = 31 ]
	run -0 --separate-stderr ds-embed -m text-embedding-v2 --no-cache in.tsv
	[ "${#lines[@]}" = 31 ]
	[[ "$stderr" == "ds-embed: 30 records, 2 requests, 0 retries,"* ]]
	[ "$(count_reqs "" 'r["model"] == "text-embedding-v3" and r["n"] == 10')" = 3 ]
	[ "$(count_reqs "" 'r["model"] == "text-embedding-v2" and r["n"] == 25')" = 1 ]
	[ "$(count_reqs "" 'r["model"] == "text-embedding-v2" and r["n"] > 25')" = 0 ]
}

@test "sparse vectors and instructions only where the row offers them (64)" {
	need_tokenizer
	printf 'a\tthe cat sat\n' >in.tsv
	for m in text-embedding-v4 text-embedding-v3; do
		run -0 --separate-stderr ds-embed -x -o sparse -m $m in.tsv
		[ "$output" = "1 texts, 0 cache hits, 1 to send in 1 requests, 3 tokens, \$0.000000 at list price" ]
		[ -z "$stderr" ]
	done
	for m in text-embedding-v2 text-embedding-v1; do
		run -64 --separate-stderr ds-embed -x -o sparse -m $m in.tsv
		[ -z "$output" ]
		[ "$stderr" = "ds-embed: -o sparse: $m has no sparse vectors" ]
	done
	run -0 --separate-stderr ds-embed -x -I "find answers" in.tsv
	[ "$output" = "1 texts, 0 cache hits, 1 to send in 1 requests, 3 tokens, \$0.000000 at list price" ]
	[ -z "$stderr" ]
	for m in text-embedding-v3 text-embedding-v2 text-embedding-v1; do
		run -64 --separate-stderr ds-embed -x -I x -m $m in.tsv
		[ -z "$output" ]
		[ "$stderr" = "ds-embed: -I: $m takes no instruction" ]
	done
	run -64 --separate-stderr ds-embed -I x -m glove-100d in.tsv
	[ -z "$output" ]
	[ "$stderr" = "ds-embed: -I: glove-100d is computed here: no instruction" ]
	[ "$(count_reqs "" 'True')" = 0 ]
}

@test "--dry-run prices and limits tokens by each model's row" {
	need_tokenizer
	letters 1000 >in.tsv
	run -0 --separate-stderr ds-embed -x -m text-embedding-v3 --no-cache in.tsv
	[ "$output" = "1000 texts, 0 cache hits, 1000 to send in 100 requests, 8000 tokens, \$0.000560 at list price" ]
	[ -z "$stderr" ]
	# No list price known for v1: no cost.
	run -0 --separate-stderr ds-embed -x -m text-embedding-v1 --no-cache in.tsv
	[ "$output" = "1000 texts, 0 cache hits, 1000 to send in 40 requests, 8000 tokens" ]
	[ -z "$stderr" ]
	awk 'BEGIN { printf "long\t"; for (i = 0; i < 8193; i++) printf " word"
	    printf "\nfits\t"; for (i = 0; i < 8192; i++) printf " word"
	    printf "\n" }' >long.tsv
	run -65 --separate-stderr ds-embed -x --no-cache long.tsv
	[ "$output" = "2 texts, 0 cache hits, 2 to send in 1 requests, 16385 tokens, \$0.001147 at list price" ]
	[ "${stderr_lines[0]}" = "ds-embed: long.tsv:1: id long has 8193 tokens, over text-embedding-v4's 8192" ]
	[ "${stderr_lines[1]}" = "ds-embed: 1 texts over the limit of 8192 tokens" ]
	[ "${#stderr_lines[@]}" = 2 ]
	[ "$(count_reqs "" 'True')" = 0 ]
}

@test "--tpm charges each request its texts' Qwen3 tokens" {
	need_tokenizer
	letters 30 >in.tsv
	run -0 --separate-stderr ds-embed -v -j 1 -K 1000000 -d 64 in.tsv
	[ "${#lines[@]}" = 31 ]
	diff <(cut -f1 in.tsv) <(printf '%s\n' "$output" | ids_of /dev/stdin)
	# Eight tokens a text, ten texts a request: what the service counted.
	[ "$(printf '%s\n' "$stderr" | grep -c '^ds-embed:   --tpm: ')" = 3 ]
	[ "$(printf '%s\n' "$stderr" | grep -c '^ds-embed:   --tpm: 80 tokens$')" = 3 ]
	[[ "${stderr_lines[-1]}" == "ds-embed: 30 records, 3 requests, 0 retries, 0 cache hits, 30 cache misses, 0 duplicates, 240 tokens, \$0.000017 at list price" ]]
	[[ "$stderr" != *"four bytes a token"* ]]
	# Without -K nothing is counted, so nothing is traced.
	run -0 --separate-stderr ds-embed -v -j 1 -d 64 --no-cache in.tsv
	[ "${#lines[@]}" = 31 ]
	[[ "$stderr" != *"--tpm"* ]]
}

@test "--tpm without the tokenizer estimates four bytes a token, noted under -v" {
	mkdir nodata
	letters 30 >in.tsv
	run -0 --separate-stderr env DS_DATA_DIR="$PWD/nodata" \
	    ds-embed -v -j 1 -K 1000000 -d 64 in.tsv
	[ "${#lines[@]}" = 31 ]
	[ "${stderr_lines[0]}" = "ds-embed: $PWD/nodata/qwen3-tok.bin: No such file or directory: --tpm counts four bytes a token (run 'make data' to fetch the Qwen3 tokenizer)" ]
	[ "$(printf '%s\n' "$stderr" | grep -c 'four bytes a token')" = 1 ]
	[ "$(printf '%s\n' "$stderr" | grep -c '^ds-embed:   --tpm: 40 tokens$')" = 3 ]
	# Without -v the run is as quiet as ever.
	run -0 --separate-stderr env DS_DATA_DIR="$PWD/nodata" \
	    ds-embed -K 1000000 -d 64 --no-cache in.tsv
	[ "${#lines[@]}" = 31 ]
	[ "$stderr" = "ds-embed: 30 records, 3 requests, 0 retries, 0 cache hits, 30 cache misses, 0 duplicates, 240 tokens, \$0.000017 at list price" ]
	# A damaged tokenizer file is an error, as for --dry-run (65).
	printf 'not a tokenizer\n' >nodata/qwen3-tok.bin
	run -65 --separate-stderr env DS_DATA_DIR="$PWD/nodata" \
	    ds-embed -K 1000000 -d 64 --no-cache in.tsv
	[ -z "$output" ]
	[[ "$stderr" == "ds-embed: $PWD/nodata/qwen3-tok.bin: "*" (run 'make data' to fetch the Qwen3 tokenizer)" ]]
}

@test "--tpm keeps the service's token window from refusing a request" {
	need_tokenizer
	# The service takes 560 tokens in any 2 seconds.  At -K 7200 (120
	# tokens a second, a second's worth at once) ds-embed sends at most
	# 360 in 2 seconds when it counts right, room for a late request or
	# two on a busy machine; at four bytes a token it counts half and
	# sends all 640 within 2 seconds.
	lim="$BATS_TEST_TMPDIR/lim"
	start_fake "$lim" --tpm 560 --window 2
	letters 80 >in.tsv
	run -0 --separate-stderr env \
	    DASHSCOPE_HTTP_BASE_URL=http://127.0.0.1:$(cat "$lim/port")/api/v1 \
	    ds-embed -K 7200 -w 0.1 -d 64 in.tsv
	[ "${#lines[@]}" = 81 ]
	diff <(cut -f1 in.tsv) <(printf '%s\n' "$output" | ids_of /dev/stdin)
	[ "$stderr" = "ds-embed: 80 records, 8 requests, 0 retries, 0 cache hits, 80 cache misses, 0 duplicates, 640 tokens, \$0.000045 at list price" ]
	[ "$(count_reqs "$lim/log" 'True')" = 8 ]
	[ "$(count_reqs "$lim/log" 'r.get("fault") is not None')" = 0 ]

	# The same run counting four bytes a token meets the window.
	mkdir nodata
	run -0 --separate-stderr env DS_DATA_DIR="$PWD/nodata" \
	    DASHSCOPE_HTTP_BASE_URL=http://127.0.0.1:$(cat "$lim/port")/api/v1 \
	    ds-embed -K 7200 -w 0.1 -d 64 --no-cache in.tsv
	stop_fake "$lim"
	[ "${#lines[@]}" = 81 ]
	diff <(cut -f1 in.tsv) <(printf '%s\n' "$output" | ids_of /dev/stdin)
	[[ "$stderr" =~ ^"ds-embed: 80 records, "[0-9]+" requests, "[1-9][0-9]*" retries, 0 cache hits, 80 cache misses, 0 duplicates, 640 tokens, \$0.000045 at list price"$ ]]
	[ "$(count_reqs "$lim/log" 'r.get("fault") == "429quota"')" -gt 0 ]
}
