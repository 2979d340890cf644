#!/usr/bin/env bash
# Set up a fresh machine for building and testing the book. Idempotent; run by `make`.
#   - a virtual environment in .venv with requirements.txt and gencore (editable);
#   - MathJax into book/_static (scripts/fetch_mathjax.sh);
#   - reveal.js into slides/_vendor for the lecture slides (scripts/fetch_reveal.sh);
#   - onnxruntime-web into book/_static/ort for the live demos (scripts/fetch_ort.sh);
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
bash scripts/fetch_ort.sh  # onnxruntime-web for the website's live demos (gencore.live)
if [ "${1:-}" = "--browser" ] && [ ! -x /usr/bin/chromium ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi
# --pdf: LaTeX from Debian for `make pdf` (the whole book as one PDF through xelatex): Sphinx's
# LaTeX packages; xeCJK (texlive-lang-chinese: xeCJK needs its ctex hooks) and a small CJK font
# (WenQuanYi Micro Hei, 1.6 MB) for the glossary's Chinese terms; FreeFont (Sphinx's fonts under
# xelatex) and DejaVu (its mono font); poppler-utils (pdftotext, for tests/test_pdf.py).
# About 150 MB to download, 530 MB installed, 3 to 4 minutes.
if [ "${1:-}" = "--pdf" ]; then
  pdf_pkgs="latexmk texlive-xetex texlive-latex-extra texlive-fonts-recommended texlive-lang-chinese fonts-wqy-microhei fonts-freefont-otf fonts-dejavu-core poppler-utils"
  if ! command -v xelatex >/dev/null || ! command -v latexmk >/dev/null || ! command -v pdftotext >/dev/null \
     || ! kpsewhich xeCJK.sty ctexhook.sty >/dev/null || [ -z "$(fc-list 'WenQuanYi Micro Hei' 2>/dev/null)" ] \
     || [ -z "$(fc-list FreeSerif 2>/dev/null)" ]; then
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
      -o DPkg::Lock::Timeout=600 $pdf_pkgs >/dev/null
  fi
fi
