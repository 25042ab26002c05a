#!/usr/bin/env bash
# Installs the Debian packages the product needs when run as root, otherwise says what to
# install: CJK fonts and HarfBuzz subsetting for PDFs, Chromium for the browser tests and
# poppler-utils to render PDF pages in tests, faketime to run the browser tests a year ahead,
# nodejs to test the in-browser verifier on every vector.
set -euo pipefail
packages=(fonts-noto-cjk libharfbuzz-subset0 chromium poppler-utils faketime nodejs)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
  echo "Installing system packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "Missing system packages: ${missing[*]}" >&2
  echo "Install them with: sudo apt-get install ${missing[*]}" >&2
  echo "(PDFs need the fonts and HarfBuzz; browser tests need chromium and are skipped without it.)" >&2
fi
