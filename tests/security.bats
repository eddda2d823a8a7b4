#!/usr/bin/env bats
# What a hostile server or a careless set-up cannot do to a ds-embed user:
# make it buffer without bound, parse without end or wait forever; skip
# TLS verification; lure the key to another host; find the key in argv,
# output, traces, the cache or a core file; read the key or the cache
# because of loose file modes.

bats_require_minimum_version 1.5.0

KEY=sk-sec-4d1f9b27c6e083aa

load fake
FAKE_KEYS="$KEY"

setup_file() {
	export FAKE="$BATS_FILE_TMPDIR/fake"
	export SECOND="$BATS_FILE_TMPDIR/second"
	# Another host for the redirect: 127.0.0.2 is loopback on Linux too.
	start_fake "$SECOND" --host 127.0.0.2
	export PORT2=$(cat "$SECOND/port")
	start_fake "$FAKE" --trickle 30 --redirect-to "http://127.0.0.2:$PORT2"
	export PORT=$(cat "$FAKE/port")
}

teardown_file() {
	stop_fake "$FAKE"
	stop_fake "$SECOND"
}

setup() {
	PATH="$BATS_TEST_DIRNAME/../bin:$PATH"
	cd "$BATS_TEST_TMPDIR"
	use_fake "$KEY"
}

# Requests this test made, as the fake logged them.
sent() {
	tail -n +$((N0 + 1)) "$FAKE/log" | wc -l
}

summary0='ds-embed: 0 records, 1 requests, 0 retries, 0 cache hits, 1 cache misses, 0 duplicates, 0 tokens, $0.000000 at list price'

# Wait until the fake has logged more than $1 requests (at most 10 s).
wait_sent() {
	local i=0
	while [ "$(sent)" -le "$1" ] && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
}

# Give a started ds-embed time to read its key and send its request: the
# fake logs a request only once it is answered, which a trickle is not.
settle() {
	sleep 1
}

@test "an answer announcing more than 64 MB is refused unread (69)" {
	printf 'a\thuge answer @fault:huge:*\n' >in.tsv
	run -69 --separate-stderr ds-embed -d 64 in.tsv
	[ -z "$output" ]
	[ "${stderr_lines[0]}" = "$summary0" ]
	[ "${stderr_lines[1]}" = "ds-embed: response larger than 67108864 bytes refused (id a)" ]
	[ "${#stderr_lines[@]}" = 2 ]
	# Not retried: it would be as large again.
	[ "$(sent)" = 1 ]
}

@test "an answer growing past 64 MB with no length is cut off (69)" {
	printf 'a\thuge stream @fault:hugestream:*\n' >in.tsv
	run -69 --separate-stderr ds-embed -d 64 in.tsv
	[ -z "$output" ]
	[ "${stderr_lines[0]}" = "$summary0" ]
	[ "${stderr_lines[1]}" = "ds-embed: response larger than 67108864 bytes refused (id a)" ]
	[ "${#stderr_lines[@]}" = 2 ]
	[ "$(sent)" = 1 ]
}

@test "JSON nested deeper than any answer needs is refused, quickly" {
	printf 'a\tdeep answer @fault:deep:*\n' >in.tsv
	start=$SECONDS
	run -75 --separate-stderr ds-embed -d 64 -r 0 in.tsv
	[ $((SECONDS - start)) -lt 5 ]
	[ -z "$output" ]
	[ "${stderr_lines[0]}" = "$summary0" ]
	[ "${stderr_lines[1]}" = "ds-embed: response is not JSON (nested too deeply); gave up after 1 attempts (id a)" ]
}

@test "the depth limit is 32: one level more is refused, not one less" {
	printf 'a\tdeep answer @fault:deep:*\n' >in.tsv
	# The answer's own two objects, then the arrays: 2 + 30 = 32.
	start_fake d30 --deep 30
	run -65 --separate-stderr ds-embed -C -d 64 -r 0 \
	    -B "http://127.0.0.1:$(cat d30/port)" in.tsv
	stop_fake d30
	[ -z "$output" ]
	[ "${stderr_lines[1]}" = "ds-embed: response has an embedding without a valid text_index (id a)" ]
	start_fake d31 --deep 31
	run -75 --separate-stderr ds-embed -C -d 64 -r 0 \
	    -B "http://127.0.0.1:$(cat d31/port)" in.tsv
	stop_fake d31
	[ -z "$output" ]
	[ "${stderr_lines[1]}" = "ds-embed: response is not JSON (nested too deeply); gave up after 1 attempts (id a)" ]
}

@test "a server trickling bytes is abandoned at -T, and so is the retry" {
	printf 'a\ttrickled answer @fault:trickle:*\n' >in.tsv
	start=$SECONDS
	run -75 --separate-stderr ds-embed -d 64 -T 1 -r 1 -w 0 in.tsv
	# The fake goes on for 30 s; two attempts of 1 s each.
	[ $((SECONDS - start)) -lt 10 ]
	[ -z "$output" ]
	[[ "${stderr_lines[1]}" =~ ^"ds-embed: Operation timed out after "1[0-9]{3}" milliseconds with "[0-9]+" bytes received; gave up after 2 attempts (id a)"$ ]]
}

# A self-signed certificate for localhost, made for the test.
make_cert() {
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost \
	    -addext subjectAltName=DNS:localhost -keyout tls.key \
	    -out tls.pem 2>/dev/null
}

@test "TLS: a self-signed server is refused at once (69), even with CA variables set" {
	make_cert
	start_fake tls --tls-cert tls.pem --tls-key tls.key
	base=https://localhost:$(cat tls/port)/api/v1
	printf 'a\tover tls\n' >in.tsv
	# libcurl is given its CA bundle explicitly: these change nothing.
	run -69 --separate-stderr env SSL_CERT_FILE=tls.pem \
	    CURL_CA_BUNDLE=tls.pem ds-embed -d 64 -B "$base" in.tsv
	stop_fake tls
	[ -z "$output" ]
	[ "${stderr_lines[1]}" = "ds-embed: $base: SSL certificate problem: self-signed certificate (id a)" ]
	# A certificate does not get better: one try only.
	[[ "${stderr_lines[0]}" == *" 1 requests, 0 retries,"* ]]
	[ ! -s tls/log ]
}

@test "TLS: -a names the CA to trust; the host name is still checked" {
	make_cert
	start_fake tls --tls-cert tls.pem --tls-key tls.key
	tport=$(cat tls/port)
	printf 'a\tover tls\n' >in.tsv
	run -0 --separate-stderr ds-embed -d 64 -a tls.pem \
	    -B "https://localhost:$tport/api/v1" in.tsv
	[ "${#lines[@]}" = 2 ]
	[[ "${lines[1]}" == "a	"* ]]
	[[ "$stderr" == "ds-embed: 1 records, 1 requests,"* ]]
	[ "$(wc -l <tls/log)" = 1 ]
	# The same certificate names localhost, not 127.0.0.1.
	run -69 --separate-stderr ds-embed -C -d 64 --ca-file=tls.pem \
	    -B "https://127.0.0.1:$tport/api/v1" in.tsv
	stop_fake tls
	[ -z "$output" ]
	[ "${stderr_lines[1]}" = "ds-embed: https://127.0.0.1:$tport/api/v1: SSL: no alternative certificate subject name matches target host name '127.0.0.1' (id a)" ]
	[ "$(wc -l <tls/log)" = 1 ]
	run -78 --separate-stderr ds-embed -d 64 -a missing.pem \
	    -B "https://localhost:$tport/api/v1" in.tsv
	[ -z "$output" ]
	[ "$stderr" = "ds-embed: -a missing.pem: No such file or directory" ]
}

@test "no option turns certificate checks off" {
	printf 'a\ttext\n' >in.tsv
	for opt in --insecure --no-verify --ssl-no-revoke; do
		run -64 --separate-stderr ds-embed "$opt" in.tsv
		[ -z "$output" ]
		[[ "${stderr_lines[0]}" == "ds-embed: unrecognized option '$opt'" ]]
	done
}

@test "a redirect is not followed: the key never reaches the other host (69)" {
	n2=$(wc -l <"$SECOND/log")
	printf 'a\tredirected @fault:redirect:*\n' >in.tsv
	run -69 --separate-stderr ds-embed -d 64 in.tsv
	[ -z "$output" ]
	[ "${stderr_lines[1]}" = "ds-embed: HTTP 307: redirect to http://127.0.0.2:$PORT2/api/v1/services/embeddings/text-embedding/text-embedding not followed (id a)" ]
	[ "$(sent)" = 1 ]
	# The other listener saw nothing at all, so not the key either.
	[ "$(wc -l <"$SECOND/log")" = "$n2" ]
	! grep -q "$KEY" "$SECOND/log"
	# The same for the OpenAI-compatible API.
	run -69 --separate-stderr env OPENAI_API_KEY=$KEY ds-embed -A openai \
	    -m text-embedding-v4 -B "http://127.0.0.1:$PORT/compatible-mode/v1" \
	    -C in.tsv
	[ -z "$output" ]
	[[ "${stderr_lines[1]}" == "ds-embed: HTTP 307: redirect to http://127.0.0.2:$PORT2/"*" not followed (id a)" ]]
	[ "$(wc -l <"$SECOND/log")" = "$n2" ]
}

@test "the key is in no output, trace or error, even one the server echoes" {
	printf 'a\tfirst text\nb\tsecond text\n' >in.tsv
	run -0 --separate-stderr ds-embed -v -d 64 in.tsv
	[ "${#lines[@]}" = 3 ]
	[[ "$stderr" == *"ds-embed:   Authorization: Bearer <redacted>"* ]]
	[[ "$output" != *"$KEY"* ]]
	[[ "$stderr" != *"$KEY"* ]]
	# The fake sees it, so it was sent.
	[ "$(tail -n 1 "$FAKE/log" | grep -c "Bearer $KEY")" = 1 ]
	printf 'a\techo the key @fault:echo:*\n' >in.tsv
	run -77 --separate-stderr ds-embed -v -d 64 in.tsv
	[ -z "$output" ]
	[[ "$stderr" == *"HTTP 401 InvalidApiKey: Invalid API-key: Bearer <redacted> (request_id "* ]]
	[[ "$stderr" != *"$KEY"* ]]
}

@test "the key is not in the cache database" {
	printf 'a\tcached text one\nb\tcached text two\n' >in.tsv
	run -0 --separate-stderr ds-embed -d 64 -c db.sqlite in.tsv
	[ "${#lines[@]}" = 3 ]
	[[ "$stderr" == "ds-embed: 2 records, 1 requests,"* ]]
	rows=$(sqlite3 db.sqlite 'SELECT space, CAST(text AS TEXT) FROM embedding')
	dump=$(sqlite3 db.sqlite .dump)
	# The texts are there, in the rows and the file: the search works.
	[[ "$rows" == *"cached text one"* ]]
	grep -aq "cached text two" db.sqlite
	[[ "$rows" != *"$KEY"* ]]
	[[ "$dump" != *"$KEY"* ]]
	! grep -aq "$KEY" db.sqlite*
	! grep -aq "${KEY#sk-}" db.sqlite*
}

@test "the key is not in the command line, and its page is not dumped" {
	printf '%s\n' "$KEY" >key
	chmod 600 key
	unset DASHSCOPE_API_KEY
	printf 'a\tlong wait @fault:trickle:*\n' >in.tsv
	ds-embed -k key -d 64 -C -T 20 -r 0 in.tsv >out 2>err 3>&- &
	pid=$!
	settle
	tr '\0' ' ' </proc/$pid/cmdline >cmdline
	# The page holding the key: 4 kB with VmFlags dd (not dumped).
	awk '/^Size:/{ size = $2 } /^VmFlags:.* dd/{ print size }' \
	    /proc/$pid/smaps >dd
	kill $pid
	wait $pid || true
	[ "$(cat cmdline)" = "ds-embed -k key -d 64 -C -T 20 -r 0 in.tsv " ]
	grep -qx 4 dd
	[ ! -s out ]
	[ ! -s err ]
}

@test "a ds-embed holding a key writes no core file with it" {
	# Only meaningful where a crash writes a core file here.
	case $(cat /proc/sys/kernel/core_pattern) in
	"|"*) skip "core files go to a pipe: $(cat /proc/sys/kernel/core_pattern)" ;;
	esac
	ulimit -c unlimited
	mkdir control && (cd control && sh -c 'kill -SEGV $$') || true
	[ -n "$(ls control)" ] || skip "this system writes no core files"
	printf 'a\tlong wait @fault:trickle:*\n' >in.tsv
	mkdir crash
	cd crash
	ds-embed -d 64 -C -T 20 -r 0 ../in.tsv >out 2>err 3>&- &
	pid=$!
	settle
	# SIGABRT dumps core by default, and no sanitizer catches it (a
	# background job of a script ignores SIGQUIT).
	kill -ABRT $pid
	status=0
	wait $pid || status=$?
	[ "$status" = 134 ]
	[ ! -s out ]
	# Nothing but what the test wrote.
	[ "$(ls | sort | tr '\n' ' ')" = "err out " ]
	! grep -rqa "$KEY" .
}

@test "a key file others can read is warned about, like ssh; 0600 is quiet" {
	printf 'a\tmode text\n' >in.tsv
	printf '%s\n' "$KEY" >key
	unset DASHSCOPE_API_KEY
	chmod 644 key
	run -0 --separate-stderr ds-embed -k key -d 64 in.tsv
	[ "${#lines[@]}" = 2 ]
	[ "${stderr_lines[0]}" = "ds-embed: key: mode 0644 lets everyone read the API key; chmod 600 it" ]
	[[ "${stderr_lines[1]}" == "ds-embed: 1 records,"* ]]
	chmod 640 key
	run -0 --separate-stderr ds-embed -k key -d 64 in.tsv
	[ "${#lines[@]}" = 2 ]
	[ "${stderr_lines[0]}" = "ds-embed: key: mode 0640 lets its group read the API key; chmod 600 it" ]
	chmod 600 key
	run -0 --separate-stderr ds-embed -k key -d 64 in.tsv
	[ "${#lines[@]}" = 2 ]
	[ "${#stderr_lines[@]}" = 1 ]
	[[ "$stderr" == "ds-embed: 1 records,"* ]]
}

@test "the cache database, its -wal and -shm are mode 0600 under umask 000" {
	umask 000
	printf 'a\tfirst\n' >in.tsv
	printf 'b\tlong wait @fault:trickle:*\n' >>in.tsv
	ds-embed -d 64 -n 1 -j 1 -T 20 -r 0 -c new/dir/db.sqlite in.tsv \
	    >out 2>err 3>&- &
	pid=$!
	wait_sent 0
	settle
	modes=$(stat -c '%n %a' new new/dir new/dir/db.sqlite \
	    new/dir/db.sqlite-wal new/dir/db.sqlite-shm)
	kill $pid
	wait $pid || true
	[ "$modes" = "new 700
new/dir 700
new/dir/db.sqlite 600
new/dir/db.sqlite-wal 600
new/dir/db.sqlite-shm 600" ]
	[ "$(stat -c %a new/dir/db.sqlite)" = 600 ]
	[ ! -s err ]
}
