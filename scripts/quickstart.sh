#!/usr/bin/env bash
# Quick start on a fresh Debian/Ubuntu machine with Node 20:
# installs redis-server/redis-cli if missing, installs dependencies and builds (the first time,
# and again only when package-lock.json or src/ changed), and runs the proxy on port 9999. --spawn-redis starts a private redis-server when nothing listens at --addr
# (localhost:6379 by default). Extra arguments go to the proxy, e.g. --port 7000.
set -euo pipefail

cd "$(dirname "$0")/.."

if ! command -v node >/dev/null 2>&1; then
  echo "quickstart: node is not installed; install Node.js 20 or newer first" >&2
  exit 1
fi
node_major="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$node_major" -lt 20 ]; then
  echo "quickstart: node $(node --version) is too old; Node.js 20 or newer is needed" >&2
  exit 1
fi

missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v redis-cli >/dev/null 2>&1 || missing+=(redis-tools)
if [ "${#missing[@]}" -gt 0 ]; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "quickstart: please install ${missing[*]} (no apt-get here)" >&2
    exit 1
  fi
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  echo "quickstart: installing ${missing[*]}"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
fi

# Install once: npm ci again only when the lock file changed since the last install
# (npm writes node_modules/.package-lock.json at each install).
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "quickstart: installing dependencies (npm ci)"
  npm ci --no-audit --no-fund --ignore-scripts
  rm -f dist/cli.js   # built below, from these dependencies
fi
# Build only when a source (or a folder of them: a file added or removed) is newer than the last build.
if [ ! -f dist/cli.js ] || [ -n "$(find src tsconfig.json -newer dist/cli.js -print -quit)" ]; then
  echo "quickstart: building dist/"
  npm run --silent build
fi

exec node dist/cli.js --spawn-redis "$@"
