# The fake DashScope service (tests/fake-dashscope.py) for the BATS files
# that run ds-embed against it: `load fake`, and set FAKE_KEYS to the keys
# the service accepts, separated by spaces.

# Start a fake service; its port goes to $1/port, its log to $1/log, and
# the remaining arguments to the service.
start_fake() {
	local dir=$1 k
	local keys=()
	shift
	for k in $FAKE_KEYS; do
		keys+=(--key "$k")
	done
	mkdir -p "$dir"
	python3 "$BATS_TEST_DIRNAME/fake-dashscope.py" "${keys[@]}" \
	    --port-file "$dir/port" --log "$dir/log" --idle 120 \
	    --parent $$ "$@" >/dev/null 2>"$dir/err" 3>&- &
	echo $! >"$dir/pid"
	local i=0
	while [ ! -s "$dir/port" ] && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ -s "$dir/port" ]
	touch "$dir/log"
}

stop_fake() {
	kill "$(cat "$1/pid")" 2>/dev/null || true
}

# Point ds-embed at the file's fake ($FAKE, listening on $PORT) with the
# key $1, a cache of the test's own and no stray settings.  LOG is the
# fake's log and N0 its lines before this test, so that the test's own
# requests are the lines after N0.
use_fake() {
	unset DS_FORMAT OPENAI_API_KEY DS_DATA_DIR
	export DASHSCOPE_API_KEY=$1
	export DASHSCOPE_HTTP_BASE_URL=http://127.0.0.1:$PORT/api/v1
	export XDG_CACHE_HOME=$BATS_TEST_TMPDIR/cache
	LOG=$FAKE/log
	N0=$(wc -l <"$LOG")
}

# The ids of the records of stream $1, in order, without its header.
ids_of() {
	grep -v '^#' "$1" | cut -f1
}
