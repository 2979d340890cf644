#!/usr/bin/env bash
# Put onnxruntime-web (npm) into book/_static/ort, so the website's live demos (gencore.live) run
# gencore's exported networks and sampler steps in the reader's browser: no CDN, no server.
# Only what a plain-WASM CPU session needs is copied: the "wasm core" bundle (no threads, no
# proxy worker, so no cross-origin isolation is needed) and its single SIMD .wasm. 1.18.0 is
# the last release that ships a non-threaded SIMD build (later ones have only the threaded .wasm,
# 14 MB against 10.6 MB here). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=book/_static/ort
version=1.18.0
if [ -f "$dest/ort-wasm-simd.wasm" ] && [ "$(cat "$dest/VERSION" 2>/dev/null)" = "$version" ]; then
  exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "onnxruntime-web@$version" >/dev/null && tar xzf "onnxruntime-web-$version.tgz")
rm -rf "$dest" && mkdir -p "$dest"
cp "$tmp/package/dist/ort.wasm-core.min.js" "$tmp/package/dist/ort-wasm-simd.wasm" "$dest/"
cp "$tmp/package/package.json" "$dest/package.json"  # the package carries no LICENSE file: its licence field (MIT)
echo "$version" > "$dest/VERSION"
echo "onnxruntime-web $version copied into $dest ($(du -sh "$dest" | cut -f1))"
