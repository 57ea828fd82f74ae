#!/bin/sh
# contrib/demo/run-demo.sh: what "make demo" runs.  Starts the loopback
# replay server with the bundled recorded Yahoo and Binance responses,
# runs the full pipeline once against it (the URL overrides in the
# environment point every program there), prints the files written and
# stops the server.  No network is needed.
#
# Usage: run-demo.sh TOP_BUILDDIR TOP_SRCDIR   (absolute paths)
set -u
builddir=${1:?usage: run-demo.sh TOP_BUILDDIR TOP_SRCDIR}
srcdir=${2:?usage: run-demo.sh TOP_BUILDDIR TOP_SRCDIR}
work=$builddir/demo
unset MDAS_CONFIG MDAS_STATE_DIR MDAS_RUN_ID MDAS_LOG_FORMAT MDAS_LOG_LEVEL

rm -rf "$work"
mkdir -p "$work/config" || exit 1
cp "$srcdir/contrib/demo/settings.json" "$work/config/settings.json" || exit 1

"$builddir/tests/server/mdas-replay-server" \
    --scenario "$srcdir/contrib/demo/scenario.json" \
    --fixtures "$srcdir/tests/fixtures" \
    --port-file "$work/server.port" --log "$work/server.log" \
    --max-lifetime 300 &
server=$!
i=0
while [ ! -s "$work/server.port" ]; do
	i=$((i + 1))
	if [ $i -gt 200 ] || ! kill -0 "$server" 2>/dev/null; then
		echo "run-demo.sh: the replay server did not start" >&2
		kill "$server" 2>/dev/null
		exit 1
	fi
	sleep 0.05
done
url=http://127.0.0.1:$(cat "$work/server.port")
echo "demo: replay server at $url (recorded responses from tests/fixtures/)"
echo "demo: running mdas-pipeline --run-once in $work"

(
	cd "$work" &&
	MDAS_YAHOO_BASE_URL=$url MDAS_YAHOO_COOKIE_URL=$url MDAS_BINANCE_BASE_URL=$url \
	    "$builddir/src/mdas-pipeline" --run-once >"$work/written"
)
rc=$?
kill "$server" 2>/dev/null
wait "$server" 2>/dev/null

echo "demo: mdas-pipeline exited with status $rc; files written:"
while IFS= read -r f; do
	printf '  %s/%s\n' "$work" "$f"
done <"$work/written"
if [ -f "$work/data/mdas.sqlite" ]; then
	echo "demo: records stored in $work/data/mdas.sqlite; for example:"
	echo "  sqlite3 $work/data/mdas.sqlite 'SELECT symbol, interval, count(*) FROM bars GROUP BY 1, 2'"
fi
echo "demo: logs in $work/logs/ (mdas.log, errors.log, metrics.ndjson)"
exit $rc
