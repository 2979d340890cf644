#!/usr/bin/env bash
# Put reveal.js (from npm's `reveal.js` package, version pinned below) into slides/_vendor/reveal,
# so the lecture slides (`make slides`, scripts/build_slides.py) run with no internet: no CDN is
# ever asked. Only what a deck loads is kept: the core, the white theme and its fonts, and the
# speaker-notes plugin. Idempotent: does nothing when that version is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/npm_vendor.sh
vendor reveal.js 5.2.1 slides/_vendor/reveal reveal.js || exit 0
mkdir -p "$dest/theme/fonts" "$dest/plugin/notes"
cp "$pkg/dist/reveal.js" "$pkg/dist/reveal.css" "$pkg/dist/reset.css" "$dest/"
cp "$pkg/dist/theme/white.css" "$dest/theme/"
cp -r "$pkg/dist/theme/fonts/source-sans-pro" "$dest/theme/fonts/"
cp "$pkg/plugin/notes/notes.js" "$dest/plugin/notes/"
cp "$pkg/LICENSE" "$dest/LICENSE"
vendored
