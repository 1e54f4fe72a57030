#!/usr/bin/env bash
# The README's install command into a fresh virtual environment, then
# `import flashcore` from another directory with no environment variables.
#   bash tests/python/install_test.sh PYTHON BUILD_DIR
set -euo pipefail
python=$1
build=$2
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$python" -m venv --system-site-packages "$work/venv"
# The README's command (pip from the environment, no network, no isolation).
FLASHCORE_BUILD_DIR="$build" "$work/venv/bin/python" -m pip install -q --no-build-isolation \
  --no-deps --no-index "$root/python" >"$work/pip.log" 2>&1 || { cat "$work/pip.log"; exit 1; }
cd /
env -i PATH=/usr/bin:/bin "$work/venv/bin/python" - <<'PY'
import os
import flashcore
from flashcore import _C
where = os.path.dirname(flashcore.__file__)
assert "site-packages" in where, where
assert os.path.exists(os.path.join(where, "libflashcore.so")), os.listdir(where)
print("installed flashcore", flashcore.version(), "at", where)
print(flashcore.status_string(0))
PY
