#!/usr/bin/env bash
# Start latency and memory of berth side by side with Docker and Podman (where installed).
# Usage: bench/run.sh [--runs N] [--detach-runs N] [--containers N] [--ps-runs N] [--sustained-runs N]
#                     [--engines berth,docker,podman] [--no-readme]
# Needs root. See bench/README.md for what each figure means.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
exec python3 "$here/bench.py" "$@"
