#!/usr/bin/env bash
# Installs what building and testing need, idempotently: the wasm32 target,
# nightly with rust-src, cargo-fuzz, wasm-bindgen-cli at the version in
# Cargo.lock, Debian's Chromium and ChromeDriver, Firefox ESR with geckodriver
# and WebKitGTK's WebKitWebDriver with Xvfb, uBlock Origin's Debian package
# unpacked (unless ONRAMP_SKIP_BROWSER=1), Postgres and sqlite3 for the
# relay, and the npm packages.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  rustup target add wasm32-unknown-unknown
fi

# The shipped wasm is built with nightly's -Zbuild-std (scripts/build.mjs),
# with the dated nightly in scripts/nightly so that sizes are reproducible;
# without it the build falls back to stable Rust.
nightly=$(cat scripts/nightly)
if [ "${ONRAMP_STABLE:-0}" != 1 ] && ! rustup component list --toolchain "$nightly" --installed 2>/dev/null | grep -q '^rust-src'; then
  rustup toolchain install "$nightly" --profile minimal --component rust-src \
    || echo "setup: could not install $nightly with rust-src; the wasm will be built with stable Rust"
fi

# The fuzz target (fuzz/) runs with cargo-fuzz on nightly; without them the
# tests run a long property test instead.
if rustup run "$nightly" rustc --version >/dev/null 2>&1 && ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz || echo "setup: could not install cargo-fuzz; the tests will run a long property test instead"
fi

if [ ! -f Cargo.lock ]; then cargo generate-lockfile; fi
want=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
have=$(wasm-bindgen --version 2>/dev/null | awk '{ print $2 }' || true)
if [ "$have" != "$want" ]; then
  echo "setup: installing wasm-bindgen-cli $want (found: ${have:-none}); this takes a few minutes"
  cargo install wasm-bindgen-cli --version "$want"
fi

# Browsers, from Debian: Chromium and ChromeDriver for the e2e tests; Firefox
# ESR, and WebKitGTK's WebKitWebDriver with Xvfb (its MiniBrowser has no
# headless mode), for the smoke test in tests/engines/. One apt-get update for
# whatever is missing.
if [ "${ONRAMP_SKIP_BROWSER:-0}" != 1 ]; then
  missing=()
  if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then missing+=(chromium chromium-driver); fi
  if [ ! -x /usr/bin/firefox-esr ]; then missing+=(firefox-esr); fi
  if ! command -v WebKitWebDriver >/dev/null || ! command -v xvfb-run >/dev/null || ! command -v xauth >/dev/null; then
    missing+=(webkit2gtk-driver xvfb xauth)
  fi
  if [ ${#missing[@]} -gt 0 ]; then
    sudo=""
    if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
  # uBlock Origin as Debian packages it (the extension with EasyList,
  # EasyPrivacy and uBO's own lists inside), unpacked under target/ without
  # installing it: the ad-blocker tests load it into Firefox ESR as a
  # temporary add-on and feed its lists to uBO's engine in Node.
  ubo=target/ublock
  if [ ! -f "$ubo/extension/manifest.json" ]; then
    rm -rf "$ubo" && mkdir -p "$ubo"
    (cd "$ubo" && { apt-get download webext-ublock-origin-firefox 2>/dev/null || { apt-get update -qq && apt-get download webext-ublock-origin-firefox; }; })
    dpkg-deb -x "$ubo"/webext-ublock-origin-firefox_*.deb "$ubo/deb"
    mv "$ubo"/deb/usr/share/mozilla/extensions/*/uBlock0@raymondhill.net "$ubo/extension"
    rm -rf "$ubo/deb" "$ubo"/*.deb
  fi
  # geckodriver is not packaged by Debian; crates.io has it.
  if ! command -v geckodriver >/dev/null; then
    echo "setup: installing geckodriver; this takes a few minutes"
    cargo install geckodriver
  fi
fi

# The relay's tests: Postgres from Debian's packages (each test starts a
# throwaway cluster of its own with initdb and pg_ctl) and the sqlite3 shell
# (the application's side of a SQLite outbox).
pg_missing=()
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then pg_missing+=(postgresql); fi
if ! command -v sqlite3 >/dev/null; then pg_missing+=(sqlite3); fi
if [ ${#pg_missing[@]} -gt 0 ]; then
  sudo=""
  if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${pg_missing[@]}"
fi

if [ ! -d node_modules/playwright-core ] || [ ! -d node_modules/pg ] || [ ! -d node_modules/binaryen ] || [ ! -d node_modules/esbuild ] || [ ! -d node_modules/@gorhill/ubo-core ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
