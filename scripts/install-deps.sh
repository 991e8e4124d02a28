#!/usr/bin/env bash
# Installs the system packages berth needs to build, run and test (Debian, as root).
set -euo pipefail

packages=(
  libseccomp-dev   # seccomp filters (libcontainer's libseccomp feature)
  pkg-config
  busybox-static   # the base of the busybox:latest test image
  runc             # the alternative runtime (--runtime /usr/sbin/runc)
  procps           # ps, for `berth top`
  util-linux       # script, for TTY tests
  iproute2
  nftables         # nft: berth's firewall table (crates/network)
  tar
  tini             # the init for --init (docker-init is tini too)
  docker-registry  # a real registry on 127.0.0.1 for the pull/push tests (crates/image)
  podman           # archives it saves and loads (crates/image tests), and bench
)

missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
