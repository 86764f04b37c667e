#!/usr/bin/env bash
# npm start: builds the pixel and the sandbox, then serves the demo page and
# the collector API on one port (PORT, default 8080).
set -euo pipefail
cd "$(dirname "$0")/.."
ONRAMP_SKIP_BROWSER=1 bash scripts/setup.sh
node scripts/build.mjs
cargo build --release -p onramp-sandbox
port="${PORT:-8080}"
echo
echo "Demo: the marketplace's listing: http://127.0.0.1:$port/marketplace.html"
echo "  its link leads to the provider's landing page (http://localhost:$port/landing.html), then the"
echo "Demo signup-confirmation page: http://localhost:$port/demo.html"
echo "(the page is on localhost, the collector on 127.0.0.1: a cross-origin setup like a real provider's)"
echo "Test events, live: http://127.0.0.1:$port/_sandbox"
echo
exec ./target/release/onramp-sandbox --port "$port" --db "${ONRAMP_SANDBOX_DB:-onramp-sandbox.db}" --static dist --static www
