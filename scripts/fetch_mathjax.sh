#!/usr/bin/env bash
# Put MathJax 3 (from npm's `mathjax` package) into book/_static/mathjax, so the website
# renders math with no internet: no CDN is ever asked. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=book/_static/mathjax
version=3.2.2
if [ -f "$dest/tex-chtml.js" ] && [ "$(cat "$dest/VERSION" 2>/dev/null)" = "$version" ]; then
  exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "mathjax@$version" >/dev/null && tar xzf "mathjax-$version.tgz")
rm -rf "$dest" && mkdir -p "$dest"
es5="$tmp/package/es5"
cp "$es5/tex-chtml.js" "$dest/"
for part in input/tex/extensions output/chtml ui a11y adaptors; do
  mkdir -p "$dest/$part" && cp -r "$es5/$part/." "$dest/$part/"
done
cp "$tmp/package/LICENSE" "$dest/LICENSE"
echo "$version" > "$dest/VERSION"
echo "MathJax $version copied into $dest"
