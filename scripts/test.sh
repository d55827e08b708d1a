#!/usr/bin/env bash
# The tests: the Rust suite (on a GPU adapter where there is one, software Vulkan
# included, and on the CPU device), then the Python package's. GPU tests that found no
# adapter are listed after the Rust suite (outside CI, where a missing adapter fails).
set -euo pipefail
cd "$(dirname "$0")/.."
skipped=target/tmp/skipped-without-an-adapter.txt
mkdir -p target/tmp
rm -f "$skipped"
cargo test --release
if [ -s "$skipped" ]; then
  echo "$(sort -u "$skipped" | wc -l) GPU tests skipped for want of an adapter (install mesa-vulkan-drivers for software Vulkan):"
  sort -u "$skipped" | sed 's/^/  /'
fi
python/test.sh
