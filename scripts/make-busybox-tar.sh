#!/usr/bin/env bash
# Writes a busybox root filesystem tarball (from Debian's static busybox) to $1.
set -euo pipefail
out=${1:?usage: make-busybox-tar.sh OUT.tar}
bb=/bin/busybox
file -L "$bb" 2>/dev/null | grep -q static || bb=$(dpkg -L busybox-static | grep -m1 'bin/busybox$')
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,etc,tmp,proc,sys,dev,root,var,home}
chmod 1777 "$root/tmp"
cp "$bb" "$root/bin/busybox"
for applet in $("$root/bin/busybox" --list); do
  [ "$applet" = busybox ] || ln -sf busybox "$root/bin/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
tar --numeric-owner -C "$root" -cf "$out" .
