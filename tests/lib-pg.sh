# tests/lib-pg.sh: a throwaway PostgreSQL server for one test.
#
# Sourced after tests/lib.sh by the PostgreSQL tests.  With no server
# binaries on the machine the test is skipped (TAP "1..0 # SKIP"); CI
# installs postgresql-15, so there it always runs.
#
#   pg_start [tcp]  initdb (first call only) and start the server in its
#                   own directory, listening on a Unix socket there and,
#                   with "tcp", also on 127.0.0.1 at a free port (for
#                   password authentication: pg_hba asks scram-sha-256
#                   on TCP, trusts the socket).  Exports PGHOST, PGPORT,
#                   PGUSER (postgres, a superuser), PGDATABASE (postgres);
#                   sets PG_TCP_PORT with "tcp".
#   pg_stop [MODE]  pg_ctl stop -m MODE (fast by default); pg_start again
#                   restarts the same cluster.
#   pgq ARGS...     psql without .psqlrc, unaligned, tuples only,
#                   stopping at the first error.
#
# Every test has its own cluster directory and socket, and TCP ports are
# found free at start, so tests run in parallel.  As root the server runs
# as the postgres user (PostgreSQL refuses root).  The server is stopped
# at exit; should the test be killed outright, the postmaster notices its
# directory is gone within a minute and shuts itself down.
# shellcheck shell=sh

pg_find_bindir() {
	for _d in "${MDAS_PG_BINDIR:-}" /usr/lib/postgresql/15/bin; do
		if [ -n "$_d" ] && [ -x "$_d/initdb" ] && [ -x "$_d/pg_ctl" ] &&
		    [ -x "$_d/postgres" ] && [ -x "$_d/psql" ]; then
			echo "$_d"
			return 0
		fi
	done
	return 1
}

PG_BINDIR=$(pg_find_bindir) || {
	echo "1..0 # SKIP no PostgreSQL server binaries (install postgresql-15)"
	exit 0
}

# as_pg COMMAND...: runs COMMAND as the server's owner.
if [ "$(id -u)" -eq 0 ]; then
	id postgres >/dev/null 2>&1 || {
		echo "Bail out! running as root and there is no postgres user to run the server"
		exit 99
	}
	as_pg() { runuser -u postgres -- "$@"; }
else
	as_pg() { "$@"; }
fi

# The cluster's directory: beside $T when the server's user can reach
# it, else in /tmp; short, because a socket path has at most 107 bytes.
_pg_mkdir() {
	for _base in "${TMPDIR:-/tmp}" /tmp; do
		_dir=$(mktemp -d "$_base/mdas-pg.XXXXXX") || continue
		if [ "$(id -u)" -eq 0 ]; then
			chown postgres:postgres "$_dir" || { rm -rf "$_dir"; continue; }
		fi
		if [ ${#_dir} -lt 80 ] && as_pg test -w "$_dir"; then
			echo "$_dir"
			return 0
		fi
		rm -rf "$_dir"
	done
	return 1
}

PGDIR=$(_pg_mkdir) || { echo "Bail out! no directory the PostgreSQL server can use"; exit 99; }
PG_DATA=$PGDIR/data
PG_LOG=$PGDIR/server.log
PG_TCP_PORT=

pg_cleanup() {
	if [ -f "$PG_DATA/postmaster.pid" ]; then
		_pid=$(head -1 "$PG_DATA/postmaster.pid")
		(cd / && as_pg "$PG_BINDIR/pg_ctl" stop -D "$PG_DATA" -m fast -w -t 20) \
		    >/dev/null 2>&1 || kill -9 "$_pid" 2>/dev/null
	fi
	rm -rf "$PGDIR"
}
trap 'pg_cleanup; cleanup' EXIT

# A random unprivileged port; pg_start tries another when it is taken.
_pg_port() {
	echo $((20000 + $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 40000))
}

_pg_initdb() {
	(cd / && as_pg "$PG_BINDIR/initdb" -D "$PG_DATA" -A trust -U postgres \
	    -E UTF8 --locale=C --no-sync) >"$PGDIR/initdb.log" 2>&1 || {
		echo "Bail out! initdb failed: $(tail -5 "$PGDIR/initdb.log")"
		exit 99
	}
	# Speed over durability: the cluster lives for one test.
	cat >>"$PG_DATA/postgresql.conf" <<EOF
unix_socket_directories = '$PGDIR'
listen_addresses = ''
port = 5432
fsync = off
synchronous_commit = off
full_page_writes = off
shared_buffers = ${PG_SHARED_BUFFERS:-16MB}
max_connections = 20
max_wal_size = 1GB
max_parallel_workers_per_gather = 0
log_min_messages = warning
log_line_prefix = '%m [%p] '
EOF
	cat >"$PG_DATA/pg_hba.conf" <<EOF
local all all trust
host all all 127.0.0.1/32 scram-sha-256
EOF
}

pg_start() {
	[ -f "$PG_DATA/PG_VERSION" ] || _pg_initdb
	_tries=0
	while :; do
		_tries=$((_tries + 1))
		if [ "${1:-}" = tcp ]; then
			PG_TCP_PORT=${PG_TCP_PORT:-$(_pg_port)}
			_opts="-c listen_addresses=127.0.0.1 -c port=$PG_TCP_PORT"
			PGPORT=$PG_TCP_PORT
		else
			_opts=
			PGPORT=5432
		fi
		_seen=$( (wc -l <"$PG_LOG") 2>/dev/null || echo 0)
		if (cd / && as_pg "$PG_BINDIR/pg_ctl" start -D "$PG_DATA" -l "$PG_LOG" \
		    -w -t 60 ${_opts:+-o "$_opts"}) >"$PGDIR/pg_ctl.out" 2>&1; then
			break
		fi
		if [ "${1:-}" = tcp ] && [ $_tries -lt 10 ] &&
		    tail -n +$((_seen + 1)) "$PG_LOG" | grep -q 'could not bind\|could not create any TCP/IP'; then
			PG_TCP_PORT=
			continue
		fi
		echo "Bail out! PostgreSQL did not start: $(tail -5 "$PG_LOG")"
		exit 99
	done
	unset PGPASSWORD PGPASSFILE PGSERVICE PGSERVICEFILE PGOPTIONS PGHOSTADDR \
	    PGSSLMODE PGAPPNAME PGCONNECT_TIMEOUT PGTARGETSESSIONATTRS
	PGHOST=$PGDIR PGUSER=postgres PGDATABASE=postgres
	export PGHOST PGPORT PGUSER PGDATABASE
}

pg_stop() {
	(cd / && as_pg "$PG_BINDIR/pg_ctl" stop -D "$PG_DATA" -m "${1:-fast}" -w -t 60) \
	    >"$PGDIR/pg_ctl.out" 2>&1 || {
		echo "Bail out! PostgreSQL did not stop: $(cat "$PGDIR/pg_ctl.out")"
		exit 99
	}
}

pgq() { "$PG_BINDIR/psql" -X -q -A -t -v ON_ERROR_STOP=1 "$@"; }
