#!/usr/bin/env bash
# Set up a fresh machine for building and testing the book. Idempotent; run by `make`.
#   - a virtual environment in .venv with requirements.txt and gencore (editable);
#   - MathJax into book/_static (scripts/fetch_mathjax.sh);
#   - reveal.js into slides/_vendor for the lecture slides (scripts/fetch_reveal.sh);
#   - with --browser: Debian's chromium for the browser tests (needs root and apt).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
stamp="$VENV/.installed"
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
if [ ! -f "$stamp" ] || [ requirements.txt -nt "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  "$VENV/bin/python" -m pip install --quiet --upgrade pip
  "$VENV/bin/python" -m pip install --quiet -r requirements.txt
  "$VENV/bin/python" -m pip install --quiet --no-deps -e .
  touch "$stamp"
fi
bash scripts/fetch_mathjax.sh
bash scripts/fetch_reveal.sh  # reveal.js for the lecture slides (make slides)
if [ "${1:-}" = "--browser" ] && [ ! -x /usr/bin/chromium ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi
