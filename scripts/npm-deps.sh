#!/usr/bin/env bash
# Installs the test harness's npm packages (package-lock.json) when they are
# missing or out of date. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
stamp=node_modules/.pravesh-lock
if [ -f "$stamp" ] && cmp -s package-lock.json "$stamp"; then
  exit 0
fi
echo "npm-deps: installing test packages" >&2
npm ci --no-audit --no-fund --loglevel=error >&2
cp package-lock.json "$stamp"
