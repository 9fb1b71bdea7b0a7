#!/usr/bin/env bash
# All set-up on a fresh machine, idempotent and quick when already done:
#   - .venv at the repository root with custseg installed (editable) and its pinned deps;
#   - Delta Lake's jars resolved once from Maven Central into ~/.cache/custseg (then offline);
#   - with --dev: test extras and Debian's chromium for the browser test of the report.
set -euo pipefail
cd "$(dirname "$0")/.."

dev=0
for arg in "$@"; do
  case "$arg" in
    --dev) dev=1 ;;
    *) echo "usage: scripts/setup.sh [--dev]" >&2; exit 2 ;;
  esac
done

command -v java >/dev/null || { echo "setup: Java 17+ is required (java not on PATH)" >&2; exit 1; }
python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "[setup] creating .venv" >&2
  "$python" -m venv .venv
fi
extras=""
[ "$dev" = 1 ] && extras="[dev]"
stamp=".venv/.custseg-installed${extras}"
if [ ! -f "$stamp" ] || [ setup.py -nt "$stamp" ]; then
  echo "[setup] installing custseg${extras} into .venv" >&2
  .venv/bin/python -m pip install --quiet --upgrade pip >/dev/null
  .venv/bin/python -m pip install --quiet -e ".${extras}"
  touch "$stamp"
fi
echo "[setup] Delta jars (cached in ${CUSTSEG_JAR_CACHE:-~/.cache/custseg})" >&2
mkdir -p .cache
if ! .venv/bin/python -m custseg.layer2_io.spark >.cache/fetch-jars.log 2>&1; then
  cat .cache/fetch-jars.log >&2
  echo "setup: could not fetch Delta's jars from Maven Central (log above)" >&2
  exit 1
fi
if [ "$dev" = 1 ]; then
  bash scripts/install_chromium.sh
fi
echo "[setup] ready" >&2
