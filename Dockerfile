# syntax=docker/dockerfile:1
# RedisProxy container image (BuildKit, the default builder of current Docker).
#   docker build -t redisproxy .
#   docker run --rm -p 9999:9999 -p 127.0.0.1:9100:9100 -e REDISPROXY_ADDR=redis.internal:6379 redisproxy
# Configured by REDISPROXY_* variables (every flag has one; see docs/configuration.md).
# No container runtime is available where this project is developed: test/packaging/dockerfile.test.ts
# runs this file's build and start steps in a scratch directory instead (see the README, "Docker").

# ── build: dev dependencies, TypeScript → dist/ ──
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: "prepare" would compile before the sources are copied.
# The npm cache is a cache mount: reused between builds, never part of a layer.
RUN --mount=type=cache,target=/root/.npm npm ci --ignore-scripts
COPY tsconfig.json ./
COPY src ./src
RUN npm run build

# ── run: production dependencies and dist/ only ──
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --ignore-scripts
COPY --from=build /app/dist ./dist
# the official image's unprivileged user (uid 1000)
USER node
# Inside a container the proxy must listen on every interface to be reachable; outside
# one the default --bind stays loopback. The admin listener has no authentication:
# publish its port only to a private network (e.g. -p 127.0.0.1:9100:9100).
ENV REDISPROXY_BIND=0.0.0.0 \
    REDISPROXY_PORT=9999 \
    REDISPROXY_ADMIN_BIND=0.0.0.0 \
    REDISPROXY_ADMIN_PORT=9100 \
    REDISPROXY_ADDR=redis:6379 \
    REDISPROXY_LOG_FORMAT=json
EXPOSE 9999 9100
# /readyz with Node's own fetch: no curl in the image
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.REDISPROXY_ADMIN_PORT||'9100')+'/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# node is PID 1 and handles SIGTERM itself: stop accepting, drain for --shutdown-grace
# seconds (10 by default), exit 0. Give `docker stop` longer than that: --time 20.
STOPSIGNAL SIGTERM
CMD ["node", "dist/cli.js"]
