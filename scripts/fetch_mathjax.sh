#!/usr/bin/env bash
# Put MathJax 3 (from npm's `mathjax` package) into book/_static/mathjax, so the website
# renders math with no internet: no CDN is ever asked. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/npm_vendor.sh
vendor mathjax 3.2.2 book/_static/mathjax tex-chtml.js || exit 0
cp "$pkg/es5/tex-chtml.js" "$dest/"
for part in input/tex/extensions output/chtml ui a11y adaptors; do
  mkdir -p "$dest/$part" && cp -r "$pkg/es5/$part/." "$dest/$part/"
done
cp "$pkg/LICENSE" "$dest/LICENSE"
vendored
