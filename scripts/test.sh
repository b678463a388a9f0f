#!/usr/bin/env bash
# The whole test suite: install (first run), type-check, then every test file.
set -euo pipefail
cd "$(dirname "$0")/.."
# `npm install`, not `npm ci`: npm 11 rejects this lock file for lacking other platforms'
# optional DuckDB bindings, though it installs from it exactly.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm install --no-audit --no-fund
fi
npx tsc --noEmit -p .
mapfile -t files < <(find test -name '*.test.ts' | sort)
node --import tsx --test --test-reporter=spec "${files[@]}"
