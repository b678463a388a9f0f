#!/usr/bin/env bash
# npm start [-- --db FILE] [-- --port N]: builds dist/ if a source changed (scripts/build.sh), then
# runs the service as plain Node. exec: signals reach the server itself, which drains on SIGTERM.
set -euo pipefail
bash "$(dirname "$0")/build.sh"
exec node --enable-source-maps "$(dirname "$0")/../dist/api/main.js" "$@"
