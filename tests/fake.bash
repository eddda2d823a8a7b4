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
