#!/usr/bin/env bash
# `make run`: create the store and load the default directory on first
# start, then serve. Settings come from the environment (see README).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=build/pravesh
data="${PRAVESH_DATA_DIR:-./pravesh-data}"
db="${PRAVESH_DB:-sqlite:$data/pravesh.db}"
dbfile="${db#sqlite:}"
mkdir -p "$data"
chmod 700 "$data"
if [ ! -e "$dbfile" ]; then
  echo "First start: creating the store and loading the default directory"
  "$bin" migrate
  "$bin" orgs load data/orgs.csv
  "$bin" positions load data/positions.csv
fi
exec "$bin" serve --bootstrap-admin "${PRAVESH_BOOTSTRAP_ADMIN:-admin}"
