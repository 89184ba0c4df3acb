#!/usr/bin/env bash
# Local single-node OpenSearch (or Elasticsearch, for the engine matrix) for tests and the demo.
#   scripts/opensearch.sh up|down|status|url
# The distribution comes from Maven Central (integ-test-zip: core modules, no plugins, no JDK) and is cached.
# Environment: OPENSEARCH_ENGINE (opensearch, the default, or elasticsearch: the engine matrix),
# OPENSEARCH_VERSION, OPENSEARCH_PORT (default 9200), OPENSEARCH_NAME (default "default"; several
# named nodes may run side by side on different ports), OPENSEARCH_EXTRA_SETTINGS (extra opensearch.yml lines),
# OPENSEARCH_HEAP (default 512m), OPENSEARCH_SECURITY=1 (install the security plugin with its demo TLS
# configuration; HTTPS, admin password from OPENSEARCH_INITIAL_ADMIN_PASSWORD), OPENSEARCH_TRANSPORT_PORT
# (default http port + 100). `down` of a node whose name is not "default" also removes its directory, so test
# runs that name their nodes uniquely leave nothing behind.
set -euo pipefail

# The one place the test node's version is pinned. The security plugin is published on Maven Central for 2.19.4
# but not 2.19.6 (and index management for neither), so a secure node uses the newest version it exists for.
DEFAULT_VERSION=2.19.6
SECURITY_VERSION=2.19.4
SECURITY="${OPENSEARCH_SECURITY:-0}"
if [[ "$SECURITY" == 1 ]]; then DEFAULT_VERSION="$SECURITY_VERSION"; fi
ENGINE="${OPENSEARCH_ENGINE:-opensearch}"
VERSION="${OPENSEARCH_VERSION:-$DEFAULT_VERSION}"
# What differs between the two engines' distributions: Maven group, launcher and config names, and the
# environment variables their launchers read.
case "$ENGINE" in
  opensearch)
    GROUP=org.opensearch.distribution.integ-test-zip
    CONF_FILE=opensearch.yml ENV_CONF=OPENSEARCH_PATH_CONF ENV_OPTS=OPENSEARCH_JAVA_OPTS ENV_JAVA=OPENSEARCH_JAVA_HOME ;;
  elasticsearch)
    GROUP=org.elasticsearch.distribution.integ-test-zip
    CONF_FILE=elasticsearch.yml ENV_CONF=ES_PATH_CONF ENV_OPTS=ES_JAVA_OPTS ENV_JAVA=JAVA_HOME
    if [[ "$SECURITY" == 1 ]]; then echo "opensearch: OPENSEARCH_SECURITY=1 is for OpenSearch only" >&2; exit 2; fi ;;
  *) echo "opensearch: OPENSEARCH_ENGINE must be opensearch or elasticsearch, got $ENGINE" >&2; exit 2 ;;
esac
PORT="${OPENSEARCH_PORT:-9200}"
NAME="${OPENSEARCH_NAME:-default}"
HEAP="${OPENSEARCH_HEAP:-512m}"
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/rdsaudit"
# The node must not run as root, so its files live where an unprivileged user can reach them.
RUNROOT="${RDSAUDIT_OPENSEARCH_HOME:-/var/tmp/rdsaudit-opensearch}"
HOME_DIR="$RUNROOT/$ENGINE-$VERSION"
if [[ "$SECURITY" == 1 ]]; then HOME_DIR="$RUNROOT/opensearch-$VERSION-security"; fi
NODE_DIR="$RUNROOT/nodes/$NAME"
URL="http://127.0.0.1:$PORT"
CURL_AUTH=()
if [[ "$SECURITY" == 1 ]]; then
  URL="https://127.0.0.1:$PORT"
  CURL_AUTH=(-k -u "admin:${OPENSEARCH_INITIAL_ADMIN_PASSWORD:?set OPENSEARCH_INITIAL_ADMIN_PASSWORD for a secure node}")
fi
OS_USER="rdsaudit-os"

log() { printf 'opensearch: %s\n' "$*" >&2; }

answers() { curl -fsS -m 2 "${CURL_AUTH[@]}" "$URL/_cluster/health" >/dev/null 2>&1; }

maven_zip() {  # group:artifact:version → cached zip path
  local coords="$1" file="$CACHE/$(echo "$1" | cut -d: -f2)-$(echo "$1" | cut -d: -f3).zip"
  if [[ ! -s "$file" ]]; then
    mkdir -p "$CACHE"
    mvn -q -B dependency:copy "-Dartifact=$coords:zip" "-DoutputDirectory=$CACHE" >&2
  fi
  echo "$file"
}

fetch() {
  local zip="$CACHE/$ENGINE-$VERSION.zip"
  if [[ ! -s "$zip" ]]; then
    mkdir -p "$CACHE"
    log "downloading $ENGINE $VERSION (integ-test-zip) through Maven"
    mvn -q -B dependency:copy "-Dartifact=$GROUP:$ENGINE:$VERSION:zip" "-DoutputDirectory=$CACHE" >&2
  fi
  if [[ ! -x "$HOME_DIR/bin/$ENGINE" || ( "$SECURITY" == 1 && ! -d "$HOME_DIR/plugins/opensearch-security" ) ]]; then
    mkdir -p "$RUNROOT"
    local tmp; tmp="$(mktemp -d "$RUNROOT/unpack.XXXXXX")"
    # python's zipfile rather than unzip, which a fresh machine may lack; it drops the exec bits.
    python3 -m zipfile -e "$zip" "$tmp"
    chmod -R a+rX "$tmp"
    chmod +x "$tmp/$ENGINE-$VERSION"/bin/*
    rm -rf "$HOME_DIR"
    mv "$tmp/$ENGINE-$VERSION" "$HOME_DIR"
    rmdir "$tmp"
    if [[ "$SECURITY" == 1 ]]; then install_security; fi
  fi
}

install_security() {
  local plugin; plugin="$(maven_zip "org.opensearch.plugin:opensearch-security:$VERSION.0")"
  local jh; jh="$(java_home)"
  OPENSEARCH_JAVA_HOME="$jh" "$HOME_DIR/bin/opensearch-plugin" install --batch "file://$plugin" \
    >"$HOME_DIR/plugin-install.log" 2>&1 || { cat "$HOME_DIR/plugin-install.log" >&2; exit 1; }
  chmod +x "$HOME_DIR/plugins/opensearch-security/tools/"*.sh
  # Demo TLS certificates and settings, written into the distribution's config (copied to each node below).
  OPENSEARCH_JAVA_HOME="$jh" JAVA_HOME="$jh" \
    "$HOME_DIR/plugins/opensearch-security/tools/install_demo_configuration.sh" -y -i -s >"$HOME_DIR/demo-config.log" 2>&1
}

security_settings() {
  # the block the demo installer appended to the distribution's opensearch.yml
  sed -n '/Start OpenSearch Security Demo Configuration/,/End OpenSearch Security Demo Configuration/p' \
    "$HOME_DIR/config/opensearch.yml" | grep -v -E '^(network.host|discovery.type|node.max_local_storage_nodes):'
}

run_as() {
  if [[ "$(id -u)" == 0 ]]; then
    id "$OS_USER" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$OS_USER"
    chown -R "$OS_USER" "$NODE_DIR"
    chmod 755 "$RUNROOT" "$RUNROOT/nodes"
    runuser -u "$OS_USER" -- "$@"
  else
    "$@"
  fi
}

java_home() {
  if [[ -n "${OPENSEARCH_JAVA_HOME:-}" ]]; then echo "$OPENSEARCH_JAVA_HOME"; return; fi
  if [[ -n "${JAVA_HOME:-}" ]]; then echo "$JAVA_HOME"; return; fi
  dirname "$(dirname "$(readlink -f "$(command -v java)")")"
}

up() {
  if answers; then return 0; fi
  command -v java >/dev/null || [[ -n "${JAVA_HOME:-}${OPENSEARCH_JAVA_HOME:-}" ]] || { log "java not found"; exit 1; }
  fetch
  rm -rf "$NODE_DIR"
  mkdir -p "$NODE_DIR/data" "$NODE_DIR/logs" "$NODE_DIR/config"
  cp -r "$HOME_DIR/config/." "$NODE_DIR/config/"
  # the security plugin reads its own config and certificates relative to the node's config folder
  if [[ "$SECURITY" == 1 ]]; then cp -r "$HOME_DIR/config/opensearch-security" "$NODE_DIR/config/" 2>/dev/null || true; fi
  # jvm.options names gc.log and heap dumps relative to the install; keep them with this node instead.
  # Old Elasticsearch names CMS flags that Java 14+ refuses to start with; `8-13:` limits them to the JVMs that
  # have them (a no-op where the distribution already says so).
  sed -i -e "s#file=logs/#file=$NODE_DIR/logs/#" -e "s#HeapDumpPath=data#HeapDumpPath=$NODE_DIR/data#" \
    -e "s#ErrorFile=logs/#ErrorFile=$NODE_DIR/logs/#" \
    -E -e 's#^(-XX:(\+UseConcMarkSweepGC|CMSInitiatingOccupancyFraction|\+UseCMSInitiatingOccupancyOnly))#8-13:\1#' \
    "$NODE_DIR/config/jvm.options"
  # Elasticsearch 6 names the transport port setting differently.
  local transport_key=transport.port
  if [[ "$ENGINE" == elasticsearch && "$VERSION" == 6.* ]]; then transport_key=transport.tcp.port; fi
  cat > "$NODE_DIR/config/$CONF_FILE" <<YML
cluster.name: rdsaudit-$NAME
node.name: $NAME
network.host: 127.0.0.1
http.port: $PORT
$transport_key: ${OPENSEARCH_TRANSPORT_PORT:-$((PORT + 100))}
discovery.type: single-node
path.data: $NODE_DIR/data
path.logs: $NODE_DIR/logs
# A nearly full disk must not silently turn indices read-only during tests.
cluster.routing.allocation.disk.threshold_enabled: false
${OPENSEARCH_EXTRA_SETTINGS:-}
YML
  if [[ "$SECURITY" == 1 ]]; then security_settings >> "$NODE_DIR/config/opensearch.yml"; fi
  local jh; jh="$(java_home)"
  run_as env "$ENV_JAVA=$jh" "$ENV_CONF=$NODE_DIR/config" "$ENV_OPTS=-Xms$HEAP -Xmx$HEAP" \
    "$HOME_DIR/bin/$ENGINE" -d -p "$NODE_DIR/pid" >"$NODE_DIR/stdout.log" 2>&1 || {
      log "failed to start; see $NODE_DIR/logs"; tail -n 30 "$NODE_DIR/stdout.log" >&2 || true; exit 1; }
  # Polled four times a second (the node is used the moment it answers) within the same bounds as ever: 180 s for
  # the node to answer, 30 s for its launcher to write the pid file.
  local started=$SECONDS
  while (( SECONDS - started < 180 )); do
    if answers; then
      curl -fsS -m 30 "${CURL_AUTH[@]}" "$URL/_cluster/health?wait_for_status=yellow&timeout=30s" >/dev/null
      return 0
    fi
    if [[ -f "$NODE_DIR/pid" ]]; then
      kill -0 "$(cat "$NODE_DIR/pid")" 2>/dev/null || break
    elif (( SECONDS - started > 30 )); then
      break
    fi
    sleep 0.25
  done
  log "node did not answer on $URL; last log lines:"
  tail -n 40 "$NODE_DIR/logs/rdsaudit-$NAME.log" >&2 2>/dev/null || tail -n 40 "$NODE_DIR/stdout.log" >&2 || true
  exit 1
}

down() {
  local pidfile="$NODE_DIR/pid"
  if [[ ! -f "$pidfile" ]]; then
    if [[ "$NAME" != default ]]; then rm -rf "$NODE_DIR"; fi
    return 0
  fi
  local pid; pid="$(cat "$pidfile")"
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
  if [[ "$NAME" != default ]]; then rm -rf "$NODE_DIR"; fi
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) if answers; then echo "up $URL"; else echo "down $URL"; exit 1; fi ;;
  url) echo "$URL" ;;
  *) echo "usage: $0 up|down|status|url" >&2; exit 2 ;;
esac
