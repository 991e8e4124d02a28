#!/usr/bin/env bash
# Installs what berth needs, builds it, starts berthd and runs a container.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
cargo build --release --bins
bin="${CARGO_TARGET_DIR:-$PWD/target}/release"
install -m 0755 "$bin/berthd" "$bin/berth" "$bin/berth-shim" /usr/local/bin/

if ! berth version >/dev/null 2>&1; then
  mkdir -p /var/log
  nohup berthd >/var/log/berthd.log 2>&1 &
  for _ in $(seq 1 100); do
    berth version >/dev/null 2>&1 && break
    sleep 0.1
  done
fi

if ! berth image inspect busybox:latest >/dev/null 2>&1; then
  tarball=$(mktemp --suffix=.tar)
  scripts/make-busybox-tar.sh "$tarball"
  berth import --change 'CMD ["sh"]' "$tarball" busybox:latest
  rm -f "$tarball"
fi

berth run --rm busybox echo hello
