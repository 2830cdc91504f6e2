#!/usr/bin/env bash
# Screenshot an HTML report in headless Chromium: bench/screenshot.sh REPORT.html OUT.png [WIDTHxHEIGHT]
set -euo pipefail
report=$(realpath "$1"); out=$(realpath -m "$2"); size=${3:-1400,2400}
profile=$(mktemp -d)
chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
  --disable-component-update --no-first-run --disable-sync --user-data-dir="$profile" \
  --hide-scrollbars --window-size="$size" --screenshot="$out" "file://$report" 2>/dev/null
rm -rf "$profile"
echo "$out"
