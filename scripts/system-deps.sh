#!/usr/bin/env bash
# Install the Debian packages listed in scripts/apt-packages.txt that are missing.
# Needs root and apt; elsewhere it says what is missing and carries on (tests that need a
# package fail in CI and skip with a message on a user's machine).
set -uo pipefail
cd "$(dirname "$0")"
missing=()
while read -r pkg; do
  [[ -z "$pkg" || "$pkg" == \#* ]] && continue
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done < apt-packages.txt
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
  echo "system-deps: missing ${missing[*]} (install them with apt-get as root)" >&2
  exit 0
fi
echo "system-deps: installing ${missing[*]}" >&2
apt-get update -qq >/dev/null 2>&1 || true
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
  || echo "system-deps: could not install ${missing[*]}" >&2
