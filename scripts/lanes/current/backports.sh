# Sourced by the current-stack lanes (kernel-current.sh, libvirt-current.sh): makes Debian 12's
# bookworm-backports suite known to apt, on the mirror this machine already uses for bookworm.
# Adding the suite installs nothing: backports are pinned at priority 100, so apt takes a package
# from there only when asked by name and release (pkg/bookworm-backports, -t bookworm-backports).
BACKPORTS_LIST=/etc/apt/sources.list.d/directflip-bookworm-backports.sources

# The URI of the first apt source that serves the bookworm suite (deb822 or one-line format).
bookworm_mirror() {
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk 'BEGIN{RS=""} /(^|\n)Suites:[^\n]*[ \t]bookworm([ \t\n]|$)/ && /(^|\n)Types:[^\n]*deb([ \t\n]|$)/ {
      if (match($0, /(^|\n)URIs:[ \t]*[^ \t\n]+/)) { u=substr($0, RSTART, RLENGTH); sub(/.*URIs:[ \t]*/, "", u); print u; exit }
    }' "$f"
  done | head -n1 | grep . && return 0
  cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
    awk '$1 == "deb" { i = 2; if ($2 ~ /^\[/) while ($i !~ /\]$/) i++; if ($2 ~ /^\[/) i++; if ($(i+1) == "bookworm") { print $i; exit } }' | grep .
}

# ensure_backports LABEL: the suite is configured and its package lists are fetched.
ensure_backports() {
  local label=$1 uri
  if ! grep -rqs '^[^#]*bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    uri=$(bookworm_mirror) || { echo "$label: no apt source serves bookworm; cannot add bookworm-backports beside it" >&2; return 1; }
    printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$uri" >"$BACKPORTS_LIST.tmp"
    mv "$BACKPORTS_LIST.tmp" "$BACKPORTS_LIST"
    echo "$label: added bookworm-backports ($BACKPORTS_LIST)"
  fi
  if ! apt-cache policy 2>/dev/null | grep -q ' bookworm-backports/main'; then
    apt-get update -qq >/dev/null || { echo "$label: apt-get update failed" >&2; return 1; }
  fi
  apt-cache policy 2>/dev/null | grep -q ' bookworm-backports/main' ||
    { echo "$label: apt knows no bookworm-backports/main after apt-get update" >&2; return 1; }
}
