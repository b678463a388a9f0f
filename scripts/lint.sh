#!/usr/bin/env bash
# npm run lint: the layering rules (.dependency-cruiser.cjs), then Biome's lint rules and
# formatting (biome.json). The test command runs it first, so a change that breaks a rule
# fails in seconds rather than after the suite.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOMS=(api resolvers pipeline events aggregator subscriptions observability auth cache store ingest demo planner catalog config errors schema explorer bench scripts test)
npx --no-install depcruise --config .dependency-cruiser.cjs --output-type err "${ROOMS[@]}"
# Lint rules and formatting at once; `npx biome check --write .` applies the formatter's fixes.
npx --no-install biome check --error-on-warnings .
