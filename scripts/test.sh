#!/usr/bin/env bash
# npm test: installs what it needs, then runs every layer of tests.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }

step "setup"
bash scripts/setup.sh

step "format and lints"
cargo fmt --all --check
cargo clippy --workspace --all-targets -- -D warnings
cargo clippy -p onramp-pixel --all-targets --target wasm32-unknown-unknown -- -D warnings

step "core and sandbox (cargo test)"
cargo test --workspace

step "the delivery engine in a simulated world of tabs, a collector and a clock (100,000 seeded schedules)"
cargo test --release -p onramp-core --test simulation -- --nocapture

step "fuzz the core (cargo fuzz, 30 s; its corpus is fuzz/corpus/core)"
nightly=$(cat scripts/nightly)
if cargo "+$nightly" fuzz --version >/dev/null 2>&1; then
  found=$(mktemp -d)
  # New inputs go to a scratch folder; the kept corpus seeds the run.
  (cd fuzz && cargo "+$nightly" fuzz run core "$found" corpus/core -- -max_total_time=30 -max_len=2048 -print_final_stats=1)
  rm -rf "$found"
else
  echo "no cargo-fuzz on nightly here: a long property test instead"
  ONRAMP_PROPTEST_CASES=50000 cargo test --release -p onramp-core --test props
fi

step "the stable-Rust build works too (built, then the npm entry and the CLI tested with it)"
cargo build --release -p onramp-sandbox
node scripts/build.mjs --stable
node --test --test-concurrency=1 --test-timeout=180000 tests/e2e/npm.test.mjs tests/e2e/cli.test.mjs

step "build what ships (dist/) and check the size budget"
node scripts/build.mjs
node scripts/check-size.mjs

step "the package's types under tsc --strict (with and without the DOM library), isOnrampError and init() in Node"
node --test --test-concurrency=1 tests/types/*.test.mjs

step "the wasm's exports in headless Chromium and in Node (wasm-bindgen-test)"
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
  CHROMEDRIVER=/usr/bin/chromedriver \
  cargo test -p onramp-pixel --target wasm32-unknown-unknown

step "the wasm's exports in headless Firefox ESR (wasm-bindgen-test, geckodriver)"
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
  GECKODRIVER="$(command -v geckodriver)" \
  cargo test -p onramp-pixel --target wasm32-unknown-unknown --test browser

step "the wasm's exports in WebKitGTK (wasm-bindgen-test, WebKitWebDriver under xvfb-run)"
# WebKitGTK's MiniBrowser has no headless mode: its driver runs in a virtual
# display, in a process group of its own that is stopped afterwards.
wk_port=$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
setsid xvfb-run -a WebKitWebDriver --port="$wk_port" >/dev/null 2>&1 &
wk_group=$!
trap 'kill -- "-$wk_group" 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  node -e "fetch('http://127.0.0.1:$wk_port/status').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))" && break
  sleep 0.1
done
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
  SAFARIDRIVER_REMOTE="http://127.0.0.1:$wk_port" \
  cargo test -p onramp-pixel --target wasm32-unknown-unknown --test browser
kill -- "-$wk_group" 2>/dev/null || true
trap - EXIT

step "end to end: snippet, npm entry, CLI and sandbox (Chromium, playwright-core)"
node --test --test-concurrency=1 --test-timeout=180000 tests/e2e/*.test.mjs

step "the relay: a transactional outbox in SQLite and in a throwaway Postgres cluster, delivered to the sandbox"
cargo build --release -p onramp-relay -p onramp-sandbox
node --test --test-concurrency=1 --test-timeout=300000 tests/relay/*.test.mjs

step "the engine suite in Chromium, Firefox ESR and WebKitGTK (playwright-core; W3C WebDriver)"
# The timeout guards against a hang; it also bounds a whole file, and
# suite.test.mjs runs the suite in all three browsers one after the other
# (2.5 to 4 minutes on this machine, more when it is busy).
node --test --test-concurrency=1 --test-timeout=600000 tests/engines/*.test.mjs
