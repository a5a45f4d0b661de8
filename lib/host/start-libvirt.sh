#!/usr/bin/env bash
# Starts virtlogd and libvirtd on this machine when they are not running.
# There is no systemd here (nor on CI), so nothing else would start them.
# Prints what it did; exits non-zero with one line when libvirt stays unreachable.
set -euo pipefail
uri=qemu:///system
if timeout 10 virsh -c "$uri" version >/dev/null 2>&1; then
  echo "libvirt: $uri already reachable"
  exit 0
fi
command -v libvirtd >/dev/null || { echo "libvirt: libvirtd is not installed; run: make deps" >&2; exit 1; }
if ! pgrep -x virtlogd >/dev/null; then
  echo "libvirt: starting virtlogd (not running; no systemd here)"
  virtlogd -d
fi
if ! pgrep -x libvirtd >/dev/null; then
  echo "libvirt: starting libvirtd (not running; no systemd here)"
  libvirtd -d
fi
for _ in $(seq 1 60); do
  if timeout 5 virsh -c "$uri" version >/dev/null 2>&1; then
    echo "libvirt: $uri reachable"
    exit 0
  fi
  sleep 0.5
done
echo "libvirt: $uri still not reachable 30s after starting libvirtd; see /var/log/libvirt/" >&2
exit 1
