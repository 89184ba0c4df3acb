#!/usr/bin/env bash
# A private MariaDB server with the server_audit plugin, for tests that read the real plugin's lines.
#   scripts/mariadb.sh install        apt-get install mariadb-server and sysbench (Debian's packages) when missing
#   scripts/mariadb.sh up [DIR]       start a server in DIR (default: a new directory under $RUNROOT); prints
#                                     dir=, port=, socket=, audit_dir=, pid= lines (shell-readable)
#   scripts/mariadb.sh down DIR       stop the server of DIR and remove DIR
# Each server has its own data directory (mariadb-install-db), socket, pid file and a free TCP port on 127.0.0.1,
# so two test runs on one host never share anything. As root it runs as the package's unprivileged `mysql` user.
# Environment: MARIADB_AUDIT_ROTATE_SIZE (bytes, default 65536), MARIADB_AUDIT_ROTATIONS (default 9),
# MARIADB_AUDIT_EVENTS (default CONNECT,QUERY,TABLE), MARIADB_QUERY_LOG_LIMIT (default 1024, as on RDS).
set -euo pipefail

RUNROOT="${RDSAUDIT_MARIADB_HOME:-/var/tmp/rdsaudit-mariadb}"
PLUGIN_DIRS=(/usr/lib/mysql/plugin /usr/lib/x86_64-linux-gnu/mariadb19/plugin /usr/lib/aarch64-linux-gnu/mariadb19/plugin)

log() { printf 'mariadb: %s\n' "$*" >&2; }

plugin_path() {
  local d
  for d in "${PLUGIN_DIRS[@]}"; do [[ -f "$d/server_audit.so" ]] && { echo "$d/server_audit.so"; return 0; }; done
  return 1
}

installed() { command -v mariadbd >/dev/null && command -v mariadb-install-db >/dev/null && plugin_path >/dev/null \
  && command -v sysbench >/dev/null; }

install() {
  installed && return 0
  # Debian's mariadb-server ships server_audit.so itself; the package's own service is not started (policy-rc.d
  # in containers, and our servers never use it anyway).
  "$(dirname "$0")/apt-install.sh" --no-install-recommends mariadb-server mariadb-client sysbench \
    || exit 1  # apt-install.sh said why
  plugin_path >/dev/null || { log "server_audit.so not found in ${PLUGIN_DIRS[*]} after installing mariadb-server"; exit 1; }
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

ping_server() { mariadb-admin --no-defaults --protocol=socket --socket="$1" -uroot ping >/dev/null 2>&1; }

up() {
  installed || { log "MariaDB is not installed (make mariadb)"; exit 1; }
  local dir="${1:-}"
  if [[ -z "$dir" ]]; then mkdir -p "$RUNROOT"; chmod 755 "$RUNROOT"; dir="$(mktemp -d "$RUNROOT/run.XXXXXX")"; fi
  mkdir -p "$dir"/{data,audit,tmp}
  local port user_opt=() owner
  port="$(free_port)"
  owner="$(id -un)"
  if [[ "$(id -u)" == 0 ]]; then owner=mysql; user_opt=(--user=mysql); fi
  chmod 755 "$dir"
  cat >"$dir/my.cnf" <<EOF
[mariadbd]
datadir=$dir/data
socket=$dir/mysqld.sock
pid-file=$dir/mysqld.pid
log-error=$dir/error.log
tmpdir=$dir/tmp
port=$port
bind-address=127.0.0.1
skip-name-resolve
skip-log-bin
performance_schema=OFF
innodb_buffer_pool_size=32M
innodb_log_file_size=16M
max_connections=200
character-set-server=utf8mb4
EOF
  chown -R "$owner" "$dir"
  if ! mariadb-install-db --defaults-file="$dir/my.cnf" "${user_opt[@]}" --auth-root-authentication-method=normal \
      --skip-test-db >"$dir/install.log" 2>&1; then
    cat "$dir/install.log" >&2; log "mariadb-install-db failed in $dir"; exit 1
  fi
  # The plugin's settings only on the server's command line, so the bootstrap above writes no audit lines.
  local audit=(--plugin-load-add=server_audit --server-audit=FORCE_PLUS_PERMANENT --server-audit-logging=ON
    --server-audit-output-type=file --server-audit-events="${MARIADB_AUDIT_EVENTS:-CONNECT,QUERY,TABLE}"
    --server-audit-file-path="$dir/audit/server_audit.log"
    --server-audit-file-rotate-size="${MARIADB_AUDIT_ROTATE_SIZE:-65536}"
    --server-audit-file-rotations="${MARIADB_AUDIT_ROTATIONS:-9}"
    --server-audit-query-log-limit="${MARIADB_QUERY_LOG_LIMIT:-1024}")
  # setsid: the server outlives this script (the caller stops it with `down`) and ignores the caller's signals.
  # TZ=UTC: the plugin writes the server's local time, and RDS runs its servers in UTC (rdsaudit reads it so).
  TZ=UTC setsid mariadbd --defaults-file="$dir/my.cnf" "${user_opt[@]}" "${audit[@]}" </dev/null >>"$dir/error.log" 2>&1 &
  local deadline=$((SECONDS + 60))
  until ping_server "$dir/mysqld.sock"; do
    if (( SECONDS > deadline )) || ! kill -0 $! 2>/dev/null; then
      tail -n 30 "$dir/error.log" >&2; log "server in $dir did not start"; exit 1
    fi
    sleep 0.2
  done
  printf 'dir=%s\nport=%s\nsocket=%s\naudit_dir=%s\npid=%s\n' "$dir" "$port" "$dir/mysqld.sock" "$dir/audit" "$(cat "$dir/mysqld.pid")"
}

down() {
  local dir="${1:?usage: scripts/mariadb.sh down DIR}"
  [[ -f "$dir/my.cnf" ]] || { log "$dir is not a server directory"; exit 1; }
  if [[ -f "$dir/mysqld.pid" ]]; then
    local pid; pid="$(cat "$dir/mysqld.pid")"
    mariadb-admin --no-defaults --protocol=socket --socket="$dir/mysqld.sock" -uroot shutdown >/dev/null 2>&1 \
      || kill "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + 60))
    while kill -0 "$pid" 2>/dev/null; do
      (( SECONDS > deadline )) && { kill -9 "$pid" 2>/dev/null || true; break; }
      sleep 0.2
    done
  fi
  rm -rf "$dir"
}

case "${1:-}" in
  install) install ;;
  up) up "${2:-}" ;;
  down) down "${2:-}" ;;
  *) echo "usage: scripts/mariadb.sh install|up [DIR]|down DIR" >&2; exit 2 ;;
esac
