# Sourced by the scripts/fetch_*.sh: copy files of a pinned npm package into the repo, so the site
# and the slides load them from themselves, never from a CDN.
#
#   vendor NAME VERSION DEST MARKER   # returns 1 (nothing to do) when DEST/MARKER exists and DEST/VERSION
#                                     # is VERSION; else unpacks the package and sets $pkg to its folder,
#                                     # with DEST emptied; the caller copies, then calls `vendored`.
vendor() {
  local name=$1 version=$2
  dest=$3
  if [ -f "$dest/$4" ] && [ "$(cat "$dest/VERSION" 2>/dev/null)" = "$version" ]; then
    return 1
  fi
  vendor_tmp=$(mktemp -d)
  trap 'rm -rf "$vendor_tmp"' EXIT
  (cd "$vendor_tmp" && npm pack --silent "$name@$version" >/dev/null && tar xzf ./*.tgz)
  pkg="$vendor_tmp/package"
  vendor_label="$name $version"
  vendor_version=$version
  rm -rf "$dest" && mkdir -p "$dest"
}

vendored() {
  echo "$vendor_version" > "$dest/VERSION"
  echo "$vendor_label copied into $dest ($(du -sh "$dest" | cut -f1))"
}
