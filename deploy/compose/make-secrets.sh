#!/usr/bin/env bash
# Writes the compose stack's secrets as files in deploy/compose/secrets/ (git-ignored), random
# unless they exist already. The containers read them from /run/secrets; none is in an
# environment variable or in docker-compose.yml.
set -euo pipefail
DIR="$(cd "$(dirname "$0")" && pwd)/secrets"
mkdir -p "$DIR"; chmod 700 "$DIR"
rand() { head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
put() { [[ -s "$DIR/$1" ]] || { printf '%s' "$2" > "$DIR/$1"; chmod 600 "$DIR/$1"; echo "wrote secrets/$1"; }; }
put postgres_password "$(rand)"
put redis_password "$(rand)"
put api_key "$(rand)"
put grafana_admin_password "$(rand)"
put database_url "postgresql://saga:$(cat "$DIR/postgres_password")@postgres:5432/saga"
put redis_url "redis://:$(cat "$DIR/redis_password")@redis:6379"
echo "API key: $(cat "$DIR/api_key")  (send it as X-API-Key)"
