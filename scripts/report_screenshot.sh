#!/bin/sh
# Renders a report.html (from `tlab report`) in a headless browser and saves a PNG screenshot, to look at the
# plots as a reader's browser draws them. Usage:
#   scripts/report_screenshot.sh [--install] REPORT.html OUT.png [WIDTH,HEIGHT]
# Uses Debian's chromium (or chromium-browser, google-chrome, firefox) from PATH; --install first runs
# `apt-get install chromium` when none is found. Exits 77 when there is no browser, so tests can skip.
set -eu
install=0
if [ "${1:-}" = "--install" ]; then install=1; shift; fi
html=${1:?usage: scripts/report_screenshot.sh [--install] REPORT.html OUT.png [WIDTH,HEIGHT]}
png=${2:?usage: scripts/report_screenshot.sh [--install] REPORT.html OUT.png [WIDTH,HEIGHT]}
size=${3:-1280,2400}

find_browser() {
    for b in chromium chromium-browser google-chrome firefox; do
        if command -v "$b" >/dev/null 2>&1; then echo "$b"; return 0; fi
    done
    return 1
}

browser=$(find_browser) || {
    if [ "$install" = 1 ]; then
        sudo=$([ "$(id -u)" = 0 ] || echo sudo)
        echo "report-screenshot: $sudo apt-get install chromium"
        $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
        browser=$(find_browser) || { echo "report-screenshot: chromium did not install"; exit 77; }
    else
        echo "report-screenshot: no headless browser (chromium, chromium-browser, google-chrome, firefox); --install gets Debian's chromium"
        exit 77
    fi
}

case "$html" in /*) url="file://$html" ;; *) url="file://$(pwd)/$html" ;; esac
case "$png" in /*) out="$png" ;; *) out="$(pwd)/$png" ;; esac
rm -f "$out"
case "$browser" in
firefox)
    # Firefox takes the size as WIDTH,HEIGHT too; a private profile keeps the user's untouched.
    profile=$(mktemp -d)
    firefox --headless --profile "$profile" --window-size "$size" --screenshot "$out" "$url" >/dev/null 2>&1 || true
    rm -rf "$profile"
    ;;
*)
    # --no-sandbox: the sandbox cannot start as root (CI, containers); the page is a local file without scripts.
    profile=$(mktemp -d)
    "$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir="$profile" --window-size="$size" \
        --screenshot="$out" "$url" >/dev/null 2>&1 || true
    rm -rf "$profile"
    ;;
esac
[ -s "$out" ] || { echo "report-screenshot: $browser wrote no screenshot of $url"; exit 1; }
echo "report-screenshot: $out ($browser, $size)"
