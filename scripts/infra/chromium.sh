#!/usr/bin/env bash
# Debian's Chromium, for the browser tests (tests/browser, Playwright drives it): installed once, idempotently.
# Prints the browser's path. Playwright's own browser downloads are never used (`playwright install` is not
# needed: the tests launch this executable). MARKET_CHROMIUM overrides the path.
set -euo pipefail

SERVICE=chromium
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

BROWSER="${MARKET_CHROMIUM:-/usr/bin/chromium}"
if [[ ! -x "$BROWSER" ]]; then
  # fonts-noto-cjk: the pages and their screenshots are in Korean too.
  apt_install chromium fonts-noto-cjk >&2
  [[ -x "$BROWSER" ]] || die "chromium not found at $BROWSER even after installing it"
fi
echo "$BROWSER"
