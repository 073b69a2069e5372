#!/usr/bin/env bash
# Installs the Debian packages Pravesh needs to build, run and test, only
# those that are missing. Idempotent; needs root (or sudo) when anything is
# missing. Usage: scripts/install-deps.sh [build|test|bench]
set -euo pipefail
want="${1:-build}"

build_pkgs=(build-essential pkg-config libmicrohttpd-dev libjansson-dev
  libsodium-dev libsqlite3-dev sqlite3 libpq-dev libcurl4-gnutls-dev libcsv-dev
  libzip-dev libexpat1-dev libxlsxwriter-dev libiddawc-dev librhonabwy-dev
  libgnutls28-dev)
test_pkgs=(libcmocka-dev curl python3 nodejs npm chromium fonts-lohit-deva
  clang libclang-rt-14-dev postgresql postgresql-client nginx-light)
bench_pkgs=(wrk time bc python3 sqlite3 gnuplot-nox postgresql-contrib linux-perf)

pkgs=("${build_pkgs[@]}")
case "$want" in
  test) pkgs+=("${test_pkgs[@]}") ;;
  bench) pkgs+=("${test_pkgs[@]}" "${bench_pkgs[@]}") ;;
esac

missing=()
for p in "${pkgs[@]}"; do
  # nodejs/npm may come from elsewhere (a preinstalled toolchain): accept the command.
  case "$p" in
    nodejs) command -v node >/dev/null 2>&1 && continue ;;
    npm) command -v npm >/dev/null 2>&1 && continue ;;
  esac
  st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [ "$st" = "installed" ] || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "install-deps: installing ${missing[*]}" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
