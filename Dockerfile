# saga-orchestrator: one image for `saga serve` (default), `saga worker` and `saga migrate`.
#   docker build -t saga-orchestrator .
#   docker run -p 8008:8008 -e DATABASE_URL=… -e REDIS_URL=… saga-orchestrator            # API
#   docker run -e DATABASE_URL=… saga-orchestrator worker                                  # worker
#   docker run -e DATABASE_URL=… saga-orchestrator migrate                                 # migrations
# See docs/deploy.md.

ARG NODE_IMAGE=node:20-bookworm-slim

# ---- build: dev dependencies, TypeScript -> dist/ -------------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/copy-migrations.mjs scripts/
COPY src src
RUN npm run build

# ---- production dependencies only ------------------------------------------------------------
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

# ---- runtime -----------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
# tini: PID 1 forwards SIGTERM to node and reaps children, so `docker stop` drains cleanly.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*
WORKDIR /app
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8008 \
    WORKER_PORT=8009 \
    SAGA_DATA_DIR=/data
COPY --from=deps /app/node_modules node_modules
COPY --from=build /app/dist dist
COPY package.json ./
COPY definitions definitions
COPY deploy/healthcheck.mjs deploy/healthcheck.mjs
# Embedded PGlite (no DATABASE_URL) writes here; with PostgreSQL nothing is written at all.
RUN mkdir -p /data && chown node:node /data
USER node
EXPOSE 8008 8009
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "deploy/healthcheck.mjs"]
ENTRYPOINT ["/usr/bin/tini", "--", "node", "dist/cli/main.js"]
CMD ["serve"]
# Last, so that a new revision or date does not invalidate the cached layers above.
ARG NODE_IMAGE
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="saga-orchestrator" \
      org.opencontainers.image.description="Durable SAGA orchestrator: HTTP API, workers and migrations" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.base.name="${NODE_IMAGE}"
