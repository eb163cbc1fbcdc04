#!/usr/bin/env bash
# Builds the image and proves it: it starts against PostgreSQL and Redis on this machine, passes
# the smoke test (built-in sagas against the simulator), runs as non-root under tini with a
# read-only root filesystem, and drains on SIGTERM (a step in flight finishes, exit code 0).
# Slow (minutes): not part of `npm test`.
#
#   deploy/test-image.sh            (root or the docker group; a Docker engine must answer)
#
# Uses its own database (saga_image_test, dropped and made anew) and Redis database index 7 of
# the local server (never flushed: streams are named per run). Containers use the host network.
# Where no image registry is reachable, make the base image first: deploy/base-image.sh.
# To run an engine in a sandbox without one: dockerd --iptables=false --bridge=none --storage-driver=overlay2 (vfs where overlay mounts fail)
set -euo pipefail
cd "$(dirname "$0")/.."

DOCKER="${DOCKER:-docker}"
IMAGE="${IMAGE:-saga-orchestrator:test}"
PG="${PG_URL:-postgres://postgres@127.0.0.1:5432}"
DB=saga_image_test
REDIS_URL="${IMAGE_TEST_REDIS_URL:-redis://127.0.0.1:6379/7}"
API_PORT="${API_PORT:-18008}"
WORKER_PORT="${WORKER_PORT:-18009}"
SIM_PORT="${SIM_PORT:-18900}"
API=saga-image-test-api
WORKER=saga-image-test-worker
WORK="$(mktemp -d)"
SIM_PID=""

log() { printf '[test-image] %s\n' "$*"; }
die() { log "FAILED: $*"; exit 1; }
cleanup() {
  "$DOCKER" rm -f "$API" "$WORKER" >/dev/null 2>&1 || true
  [[ -n "$SIM_PID" ]] && kill "$SIM_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

"$DOCKER" info >/dev/null 2>&1 || die "no Docker engine answers ($DOCKER info); start one, e.g.:
  dockerd --iptables=false --ip6tables=false --bridge=none --storage-driver=overlay2 &"
psql "$PG/postgres" -tAc 'SELECT 1' >/dev/null || die "PostgreSQL does not answer at $PG"
[[ "$(redis-cli -u "$REDIS_URL" ping)" == PONG ]] || die "Redis does not answer at $REDIS_URL"

BASE="$(sed -n 's/^ARG NODE_IMAGE=//p' Dockerfile)"
if ! "$DOCKER" image inspect "$BASE" >/dev/null 2>&1; then
  log "base image $BASE is missing: trying to pull it, else making it from Debian packages"
  "$DOCKER" pull "$BASE" >/dev/null 2>&1 || DOCKER="$DOCKER" deploy/base-image.sh "$BASE"
fi

log "building $IMAGE"
started=$(date +%s)
DOCKER_BUILDKIT=0 "$DOCKER" build --network=host -q -t "$IMAGE" \
  --build-arg REVISION="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" \
  --build-arg CREATED="$(date -u +%Y-%m-%dT%H:%M:%SZ)" . >/dev/null || die "docker build failed"
size=$("$DOCKER" image inspect -f '{{.Size}}' "$IMAGE")
base_size=$("$DOCKER" image inspect -f '{{.Size}}' "$BASE")
log "built in $(( $(date +%s) - started )) s: $((size / 1000000)) MB ($(( (size - base_size) / 1000000 )) MB over $BASE)"
[[ "$("$DOCKER" image inspect -f '{{.Config.User}}' "$IMAGE")" == node ]] || die "the image does not run as user node"
[[ "$("$DOCKER" image inspect -f '{{json .Config.Healthcheck}}' "$IMAGE")" == *healthcheck.mjs* ]] || die "no HEALTHCHECK"
[[ "$("$DOCKER" image inspect -f '{{index .Config.Labels "org.opencontainers.image.title"}}' "$IMAGE")" == saga-orchestrator ]] || die "no OCI labels"

if command -v docker-compose >/dev/null || "$DOCKER" compose version >/dev/null 2>&1; then
  compose() { if "$DOCKER" compose version >/dev/null 2>&1; then "$DOCKER" compose "$@"; else docker-compose "$@"; fi; }
  mkdir -p "$WORK/compose/deploy/compose/secrets"
  for s in postgres_password redis_password database_url redis_url api_key grafana_admin_password; do
    echo x > "$WORK/compose/deploy/compose/secrets/$s"
  done
  for f in docker-compose.yml docker-compose.minimal.yml; do
    cp "$f" "$WORK/compose/"
    (cd "$WORK/compose" && compose -f "$f" config -q) || die "compose config rejects $f"
  done
  log "compose files accepted by $(compose version --short 2>/dev/null || echo compose)"
else
  log "no docker compose here: compose files are checked by test/deploy/compose.test.ts only"
fi

log "database $DB (made anew), Redis $REDIS_URL"
psql "$PG/postgres" -q -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
DATABASE_URL="$PG/$DB"
AIRTABLE_TOKEN="image-test-$RANDOM$RANDOM"
API_KEY="image-test-key-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
mkdir -p "$WORK/secrets"
printf '%s' "$API_KEY" > "$WORK/secrets/api_key"
printf '%s' "$DATABASE_URL" > "$WORK/secrets/database_url"
chmod 644 "$WORK/secrets/"*

log "simulator of the downstream services on 127.0.0.1:$SIM_PORT"
node --import tsx scripts/simulator.ts --port "$SIM_PORT" --airtable-token "$AIRTABLE_TOKEN" > "$WORK/sim.log" 2>&1 &
SIM_PID=$!
for _ in $(seq 1 120); do grep -q USER_SERVICE_URL "$WORK/sim.log" && break; sleep 0.5; done
grep -q USER_SERVICE_URL "$WORK/sim.log" || die "the simulator did not start: $(cat "$WORK/sim.log")"

# Settings of every container: secrets as files, the rest as variables; locked down as in prod.
run() { # name, extra args…
  local name="$1"; shift
  "$DOCKER" run -d --name "$name" --network=host --read-only --tmpfs /tmp \
    --cap-drop ALL --security-opt no-new-privileges \
    -v "$WORK/secrets:/run/secrets:ro" \
    -e DATABASE_URL_FILE=/run/secrets/database_url -e API_KEY_FILE=/run/secrets/api_key \
    -e REDIS_URL="$REDIS_URL" -e REQUIRE_API_KEY=true -e LOG_LEVEL=info \
    -e HOST=127.0.0.1 -e PORT="$API_PORT" -e WORKER_PORT="$WORKER_PORT" \
    -e SAGA_SHUTDOWN_GRACE_SECONDS=30 -e AIRTABLE_TOKEN="$AIRTABLE_TOKEN" \
    $(sed -n 's/^\([A-Z_]*_URL\)=\(.*\)$/-e \1=\2/p' "$WORK/sim.log") \
    "$@" >/dev/null
}

log "saga migrate"
out="$("$DOCKER" run --rm --network=host -v "$WORK/secrets:/run/secrets:ro" \
  -e DATABASE_URL_FILE=/run/secrets/database_url "$IMAGE" migrate 2>&1)" || die "saga migrate failed: $out"
[[ "$out" == *"migrated PostgreSQL"* ]] || die "saga migrate said: $out"

log "saga serve (port $API_PORT) and saga worker (probes on $WORKER_PORT)"
run "$API" "$IMAGE"
run "$WORKER" "$IMAGE" worker
wait_http() { # url, what
  for _ in $(seq 1 240); do curl -sf -o /dev/null --max-time 5 "$1" && return 0; sleep 0.5; done
  "$DOCKER" logs "$API" 2>&1 | tail -20; "$DOCKER" logs "$WORKER" 2>&1 | tail -20
  die "$2 not ready: $1"
}
wait_http "http://127.0.0.1:$API_PORT/health/ready" "the API"
wait_http "http://127.0.0.1:$WORKER_PORT/health/ready" "the worker"
logs="$("$DOCKER" logs "$API" 2>&1)"
[[ "$logs" == *'"store: PostgreSQL at 127.0.0.1:5432/saga_image_test"'* ]] \
  || die "the API's start-up log does not name its store"
[[ "$logs" == *'"bus: Redis Streams at 127.0.0.1:6379/7"'* ]] || die "the API's start-up log does not name its bus"
[[ "$(curl -sf "http://127.0.0.1:$WORKER_PORT/metrics")" == *saga_started_total* ]] || die "worker /metrics"

[[ "$("$DOCKER" exec "$API" id -u)" != 0 ]] || die "the API runs as root"
[[ "$("$DOCKER" exec "$API" cat /proc/1/comm)" == tini ]] || die "PID 1 is not tini"
"$DOCKER" exec "$API" sh -c 'touch /data/x' 2>/dev/null && die "the root filesystem is writable"
log "non-root (uid $("$DOCKER" exec "$API" id -u)), PID 1 tini, read-only root filesystem"

log "waiting for Docker's HEALTHCHECK to report healthy"
for _ in $(seq 1 90); do
  [[ "$("$DOCKER" inspect -f '{{.State.Health.Status}}' "$API")" == healthy ]] && break; sleep 1
done
[[ "$("$DOCKER" inspect -f '{{.State.Health.Status}}' "$API")" == healthy ]] || die "HEALTHCHECK never healthy"

log "smoke test"
SMOKE_SAGAS="user_onboarding airtable_integration workflow_execution demo_order" \
  scripts/smoke.sh "http://127.0.0.1:$API_PORT" "$API_KEY" | tee "$WORK/smoke.log"
grep -q ' 0 failed' "$WORK/smoke.log" || die "the smoke test failed"

log "SIGTERM drain: stop the worker, start a slow saga on the API, stop the API mid-step"
"$DOCKER" stop -t 60 "$WORKER" >/dev/null
[[ "$("$DOCKER" inspect -f '{{.State.ExitCode}}' "$WORKER")" == 0 ]] || die "the worker did not exit 0"
[[ "$("$DOCKER" logs "$WORKER" 2>&1)" == *"saga worker drained and stopped"* ]] || die "the worker did not drain"
saga=$(curl -sf -H "X-API-Key: $API_KEY" -H 'content-type: application/json' \
  -d '{"saga_type":"demo_order","input":{"order_id":"drain","step_ms":6000}}' \
  "http://127.0.0.1:$API_PORT/sagas/start" | grep -o '"saga_id":"[^"]*"' | cut -d'"' -f4)
[[ -n "$saga" ]] || die "could not start the slow saga"
q() { psql "$DATABASE_URL" -tAc "$1"; }
for _ in $(seq 1 100); do
  [[ "$(q "SELECT count(*) FROM saga_events WHERE saga_id='$saga' AND type='StepStarted'")" -ge 1 ]] && break
  sleep 0.2
done
stop_started=$(date +%s)
"$DOCKER" stop -t 60 "$API" >/dev/null
took=$(( $(date +%s) - stop_started ))
code=$("$DOCKER" inspect -f '{{.State.ExitCode}}' "$API")
[[ "$("$DOCKER" logs "$API" 2>&1)" == *"received SIGTERM"* ]] || die "the API did not see SIGTERM"
[[ "$code" == 0 ]] || die "the API exited $code after SIGTERM"
completed=$(q "SELECT count(*) FROM saga_events WHERE saga_id='$saga' AND type='StepCompleted'")
failed=$(q "SELECT count(*) FROM saga_events WHERE saga_id='$saga' AND type IN ('StepFailed','SagaCompensationStarted','SagaFailed')")
status=$(q "SELECT status FROM saga_instances WHERE id='$saga'")
[[ "$completed" -ge 1 && "$failed" == 0 ]] || die "drain: $completed steps completed, $failed failures"
log "drained in ${took} s: exit 0, the step in flight completed, saga left '$status' for the next worker"

log "PASSED: image $IMAGE ($((size / 1000000)) MB)"
