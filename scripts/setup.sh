#!/usr/bin/env bash
# Installs and starts what the tests need that npm cannot install: Debian's Chromium (the
# dashboard's browser test), Redis (the Redis store's tests, which also start redis-servers of
# their own on other ports) and NATS with JetStream (the ingest tests, which also start a
# nats-server of their own to restart), and lua-check (npm run lint checks the Redis scripts). Idempotent: when everything is present it only checks, in well under
# a second. It never skips: when it cannot install, it stops with one line saying what to install.
set -euo pipefail

CHROMIUM="${CHROMIUM_PATH:-/usr/bin/chromium}"
REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}"
NATS_PORT=4222
NATS_STORE=/var/lib/nats-server

say() { printf 'setup: %s\n' "$*"; }
fail() { printf 'setup: %s\n' "$*" >&2; exit 1; }

packages=()
reasons=()
if [ ! -x "$CHROMIUM" ]; then
  packages+=(chromium)
  reasons+=("chromium for the dashboard's browser test")
fi
if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; then
  packages+=(redis-server)
  reasons+=("redis-server for the Redis store's tests")
fi

if ! command -v nats-server >/dev/null 2>&1; then
  packages+=(nats-server)
  reasons+=("nats-server for the NATS ingest tests")
fi

if ! command -v luacheck >/dev/null 2>&1; then
  packages+=(lua-check)
  reasons+=("lua-check for npm run lint's check of the Redis scripts")
fi

if [ "${#packages[@]}" -gt 0 ]; then
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    fail "the tests need ${packages[*]} (Debian packages; Chromium at $CHROMIUM or CHROMIUM_PATH): install them, e.g. sudo apt-get install -y ${packages[*]}, then run the tests again"
  fi
  say "installing from Debian's packages: $(IFS=,; echo "${reasons[*]}" | sed 's/,/, /g')"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
  [ -x "$CHROMIUM" ] || fail "chromium was installed but is not at $CHROMIUM: set CHROMIUM_PATH"
fi

if ! redis-cli -u "$REDIS_URL" ping >/dev/null 2>&1; then
  case "$REDIS_URL" in
    redis://127.0.0.1:6379 | redis://localhost:6379 | redis://127.0.0.1:6379/ | redis://localhost:6379/) ;;
    *) fail "no Redis answers at REDIS_URL=$REDIS_URL: start it, or unset REDIS_URL to use a local one on port 6379" ;;
  esac
  say "starting redis-server on 127.0.0.1:6379 (nothing kept on disk): the Redis store's tests use it"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null
  for _ in $(seq 50); do redis-cli -u "$REDIS_URL" ping >/dev/null 2>&1 && break; sleep 0.1; done
  redis-cli -u "$REDIS_URL" ping >/dev/null 2>&1 || fail "redis-server did not answer on 127.0.0.1:6379"
fi

# NATS with JetStream on 127.0.0.1:4222, as the machine's service list starts it (NATS_URL points
# the tests elsewhere).
if [ -z "${NATS_URL:-}" ] && ! (exec 3<>/dev/tcp/127.0.0.1/$NATS_PORT) 2>/dev/null; then
  say "starting nats-server with JetStream on 127.0.0.1:$NATS_PORT: the ingest tests use it"
  mkdir -p "$NATS_STORE"
  start-stop-daemon --start --oknodo --background --exec "$(command -v nats-server)" -- \
    -a 127.0.0.1 -p "$NATS_PORT" -js -sd "$NATS_STORE"
  for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/$NATS_PORT) 2>/dev/null && break; sleep 0.1; done
  (exec 3<>/dev/tcp/127.0.0.1/$NATS_PORT) 2>/dev/null || fail "nats-server did not answer on 127.0.0.1:$NATS_PORT"
fi
