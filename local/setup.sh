#!/usr/bin/env bash
# Idempotent setup shared by `npm start`, `npm test` and `npm run bench`.
# Every step checks first, so a machine that is already set up finishes in seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[setup] %s\n' "$*" >&2; }

# 1. Debian packages (the contract's list). Only installed when something is missing.
need_apt=()
[ -x /usr/lib/postgresql/15/bin/postgres ] || need_apt+=(postgresql-15)
[ -f /usr/share/postgresql/15/extension/pgtap.control ] || need_apt+=(postgresql-15-pgtap)
[ -f /usr/share/postgresql/15/extension/pg_cron.control ] || need_apt+=(postgresql-15-cron)
command -v pg_prove >/dev/null 2>&1 || need_apt+=(libtap-parser-sourcehandler-pgtap-perl)
# plpgsql_check: what `supabase db lint` runs (npm test's schema checks).
[ -f /usr/share/postgresql/15/extension/plpgsql_check.control ] || need_apt+=(postgresql-15-plpgsql-check)
# The console's browser tests drive Debian's Chromium with playwright-core (no browser download).
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
if ((${#need_apt[@]})); then
  log "installing Debian packages: ${need_apt[*]}"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

# 2. npm packages: Deno, anvil and solc all come from here. Reinstall only when the lock changed.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ] \
  || [ ! -x node_modules/.bin/deno ]; then
  log "npm ci"
  # A registry mirror without the other platforms' optional binaries (as here) makes `npm ci`
  # refuse the lock file; `npm install` then installs exactly the locked versions and leaves the
  # lock file unchanged.
  if ! npm ci --no-audit --no-fund --loglevel=error >/dev/null 2>&1; then
    log "npm ci refused the lock file; installing the locked versions with npm install"
    npm install --no-audit --no-fund --loglevel=error >/dev/null
  fi
  touch node_modules/.package-lock.json
fi

# 3. Contracts, compiled with solc-js into the git-ignored build/ folder when a source is newer.
if [ ! -f build/PropertyToken.json ] || [ -n "$(find contracts local/compile-contracts.mjs -newer build/PropertyToken.json -print -quit)" ]; then
  log "compiling contracts"
  node local/compile-contracts.mjs
fi
