#!/usr/bin/env bash
# The whole test suite: install (first run), type-check, start the real servers
# the tests name (Redis, Kafka, Druid) on loopback, run every test file, stop the servers.
set -euo pipefail
cd "$(dirname "$0")/.."
# `npm install`, not `npm ci`: npm 11 rejects this lock file for lacking other platforms'
# optional DuckDB bindings, though it installs from it exactly.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm install --no-audit --no-fund
fi
npx tsc --noEmit -p .
# The layering rules and the linter, in seconds, before any server starts.
bash scripts/lint.sh
# Once, before the tests that run `npm start` (which would otherwise compile it on first use).
bash scripts/build.sh

stop_services() {
  scripts/druid.sh stop || true
  scripts/kafka.sh stop || true
  scripts/redis.sh stop || true
}
trap stop_services EXIT
scripts/redis.sh start
scripts/kafka.sh start
scripts/druid.sh start
export "$(scripts/redis.sh env)" "$(scripts/kafka.sh env)"
eval "$(scripts/druid.sh env)"
export DRUID_URL DRUID_COORDINATOR_URL

mapfile -t files < <(find test -name '*.test.ts' | sort)
# One file at a time: fault tests stop and restart the shared broker.
node --import tsx --test --test-concurrency=1 --test-timeout=600000 --test-force-exit --test-reporter=spec "${files[@]}"
