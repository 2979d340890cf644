#!/usr/bin/env bash
# Put onnxruntime-web (npm) into book/_static/ort, so the website's live demos (gencore.live) run
# gencore's exported networks and sampler steps in the reader's browser: no CDN, no server.
# Only what a plain-WASM CPU session needs is copied: the "wasm core" bundle (no threads, no
# proxy worker, so no cross-origin isolation is needed) and its single SIMD .wasm. 1.18.0 is
# the last release that ships a non-threaded SIMD build (later ones have only the threaded .wasm,
# 14 MB against 10.6 MB here). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/npm_vendor.sh
vendor onnxruntime-web 1.18.0 book/_static/ort ort-wasm-simd.wasm || exit 0
cp "$pkg/dist/ort.wasm-core.min.js" "$pkg/dist/ort-wasm-simd.wasm" "$dest/"
cp "$pkg/package.json" "$dest/package.json"  # the package carries no LICENSE file: its licence field (MIT)
vendored
