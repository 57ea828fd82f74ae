# tests/lib.sh: sourced by every shell test.  TAP output, a scratch
# directory removed at exit, helpers to run a program and check its
# stdout, stderr and exit status, and the loopback replay server.
# shellcheck shell=sh

: "${top_srcdir:?run through make check}" "${top_builddir:?run through make check}"
BIN=$top_builddir/src
FIXTURES=$top_srcdir/tests/fixtures
PATH=$BIN:$PATH
export PATH
# Tests must be reproducible whatever the caller's locale and zone.
LC_ALL=C TZ=UTC
export LC_ALL TZ

T=$(mktemp -d "${TMPDIR:-/tmp}/mdas-test.XXXXXX") || exit 99
_tap_n=0
_tap_failed=0
_server_pid=
cleanup() {
	if [ -n "$_server_pid" ]; then
		kill "$_server_pid" 2>/dev/null
		wait "$_server_pid" 2>/dev/null
	fi
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
cd "$T" || exit 99

plan() { echo "1..$1"; }

ok() {
	_tap_n=$((_tap_n + 1))
	echo "ok $_tap_n - $*"
}

not_ok() {
	_tap_n=$((_tap_n + 1))
	_tap_failed=$((_tap_failed + 1))
	echo "not ok $_tap_n - $*"
}

diag() { printf '%s\n' "$@" | sed 's/^/# /'; }

skip() { _tap_n=$((_tap_n + 1)); echo "ok $_tap_n # SKIP $*"; }

# check DESC COMMAND...: passes when COMMAND succeeds.
check() {
	_d=$1
	shift
	if "$@"; then ok "$_d"; else not_ok "$_d"; fi
}

# is GOT WANT DESC: string equality, with a diff-like diagnostic.
is() {
	if [ "$1" = "$2" ]; then
		ok "$3"
	else
		not_ok "$3"
		diag "got:" "$1" "want:" "$2"
	fi
}

# like GOT PATTERN DESC: grep -E match.
like() {
	if printf '%s\n' "$1" | grep -Eq -- "$2"; then
		ok "$3"
	else
		not_ok "$3"
		diag "got:" "$1" "expected to match: $2"
	fi
}

# run COMMAND...: runs it with stdin from /dev/null unless redirected by
# the caller, leaving $out, $err and $status (stdout and stderr also in
# $T/out and $T/err).
# shellcheck disable=SC2034 # out, err and status are for the caller
run() {
	"$@" >"$T/out" 2>"$T/err"
	status=$?
	out=$(cat "$T/out")
	err=$(cat "$T/err")
}

# Python with the Debian modules (openpyxl): /usr/bin/python3 first,
# because a python3 earlier in PATH may be a private build without them.
python_with() {
	for _py in /usr/bin/python3 python3; do
		if "$_py" -c "import $1" 2>/dev/null; then
			echo "$_py"
			return 0
		fi
	done
	return 1
}

# start_server SCENARIO [ARGS...]: starts the loopback replay server on
# 127.0.0.1 (port 0), waits for its port, and sets SERVER_URL and
# SERVER_LOG.  The server stops itself after --max-lifetime.
start_server() {
	_scenario=$1
	shift
	SERVER_LOG=$T/server.log
	rm -f "$T/server.port"
	"$top_builddir/tests/server/mdas-replay-server" --scenario "$_scenario" \
	    --port-file "$T/server.port" --log "$SERVER_LOG" \
	    --fixtures "$FIXTURES" --max-lifetime 120 "$@" 2>"$T/server.err" &
	_server_pid=$!
	_i=0
	while [ ! -s "$T/server.port" ]; do
		_i=$((_i + 1))
		if [ $_i -gt 200 ] || ! kill -0 "$_server_pid" 2>/dev/null; then
			echo "Bail out! replay server did not start: $(cat "$T/server.err")"
			exit 99
		fi
		sleep 0.05
	done
	SERVER_URL=http://127.0.0.1:$(cat "$T/server.port")
	export SERVER_URL SERVER_LOG
}

stop_server() {
	if [ -n "$_server_pid" ]; then
		kill "$_server_pid" 2>/dev/null
		wait "$_server_pid" 2>/dev/null
		_server_pid=
	fi
}

# done_testing: exit status for the harness.
done_testing() {
	[ "$_tap_failed" -eq 0 ]
}
