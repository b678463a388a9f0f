#!/usr/bin/env bash
# npm run test:unit: the inner loop. Type-check, lint, then every test that needs no server and
# no browser (pure code and the embedded store over real HTTP), four files at a time (most wait
# on I/O part of the time). It leaves out test/real/ (real Redis, Kafka, Druid, Prometheus,
# Chromium); the tenant-isolation suite, which runs its random operations on real Redis as well;
# the fairness test, which compares latencies and needs the machine to itself; and the
# cluster-mode and demo-feed tests, which run the compiled server (the feed's waits for a closed minute). `npm test` runs them all.
# Property tests run a fifth of their cases here (test/helpers/runs.ts).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm install --no-audit --no-fund
fi
npx tsc --noEmit -p .
bash scripts/lint.sh
mapfile -t files < <(find test -name '*.test.ts' -not -path 'test/real/*' -not -name 'tenant-isolation.test.ts' -not -name 'fairness-under-attack.test.ts' -not -name 'cluster-mode.test.ts' -not -name 'demo-feed.test.ts' | sort)
# Dots while it runs; on Node 20 the dot reporter names no failure, so the spec report is kept
# aside and its failures printed.
report=$(mktemp)
trap 'rm -f "$report"' EXIT
if ! STRATA_TEST_TIER=fast node --import tsx --test --test-concurrency=4 --test-timeout=300000 --test-force-exit \
  --test-reporter=dot --test-reporter-destination=stdout --test-reporter=spec --test-reporter-destination="$report" "${files[@]}"; then
  echo
  sed -n '/failing tests:/,$p' "$report"
  exit 1
fi
