# Helpers of bench/log.sh and bench/log-crash.sh (sourced, not run).
# Needs: NG (nixgate binary), HERE (source tree), T (temp dir).
now() { date +%s.%N; }
json() { python3 -c "import json,sys; d=json.loads(sys.argv[1]); print(eval(sys.argv[2], {}, d))" "$1" "$2"; }
build_tools() {
  (cd "$HERE" && CGO_ENABLED=0 go build -o "$T/logload" ./bench/logload)
}
# pg_start: a throw-away PostgreSQL cluster on 127.0.0.1 in $T/pg (as the
# postgres user when root, since initdb refuses root); sets PGURL_BASE.
pg_start() {
  local bin
  bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  [ -x "$bin/initdb" ] || { echo "PostgreSQL is not installed (apt-get install postgresql)"; return 1; }
  mkdir -p "$T/pg"; chmod 711 "$T"
  local as=()
  if [ "$(id -u)" = 0 ]; then chown postgres: "$T/pg"; as=(runuser -u postgres --); fi
  "${as[@]}" "$bin/initdb" -D "$T/pg/data" --auth=trust --username=postgres --encoding=UTF8 --locale=C >/dev/null
  PGPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  "${as[@]}" "$bin/pg_ctl" -D "$T/pg/data" -o "-c listen_addresses=127.0.0.1 -p $PGPORT -k $T/pg -c max_connections=200" -l "$T/pg/log" -w start >/dev/null
  PG_STOP=("${as[@]}" "$bin/pg_ctl" -D "$T/pg/data" -m fast -w stop)
  PGURL_BASE="postgres://postgres@127.0.0.1:$PGPORT"
}
pg_createdb() { "$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)/psql" -q "$PGURL_BASE/postgres?sslmode=disable" -c "CREATE DATABASE $1" >/dev/null; echo "$PGURL_BASE/$1?sslmode=disable"; }
pg_stop() { [ -n "${PG_STOP:-}" ] && "${PG_STOP[@]}" >/dev/null 2>&1 || true; }
# serve DB PORT [ARGS...]: starts nixgate log serve in the background; sets SERVE_PID.
serve() {
  local db=$1 port=$2; shift 2
  "$NG" log serve --db "$db" --key "$T/log.key" --builders "$T/k/builders" --addr "127.0.0.1:$port" "$@" 2>>"$T/serve.log" &
  SERVE_PID=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/checkpoint" >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "the log did not start:"; tail -5 "$T/serve.log"; return 1
}
stop() { [ -n "${SERVE_PID:-}" ] || return 0; kill "$SERVE_PID" 2>/dev/null; wait "$SERVE_PID" 2>/dev/null || true; }
