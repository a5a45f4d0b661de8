#!/usr/bin/env bash
# Installs everything the lab needs on a Debian 12 machine of this kind: system
# packages with apt-get, then the npm packages from the lockfile, then starts
# libvirt. Idempotent: a second run only checks. Run as root (or with sudo).
set -euo pipefail
cd "$(dirname "$0")/../.."

# Why each package: see README.md, "Dependencies".
packages=(
  libvirt-daemon-system libvirt-clients   # libvirtd + virsh: the outer libvirt vagrant-libvirt drives
  dnsmasq-base iptables                   # the lab network: DHCP for the lab host, NAT
  qemu-system-x86 qemu-utils              # the hypervisor (TCG or KVM) and qemu-img
  vagrant vagrant-libvirt                 # the lab host's lifecycle
  packer                                  # image templates (Debian ships 1.6.6)
  mmdebstrap e2fsprogs cpio extlinux      # offline image builds from Debian packages
  openssh-server openssh-client           # the SSH transport, and its test server
  rsync git ca-certificates               # copying the SUT into the lab host
)

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "deps: installing ${missing[*]}"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  echo "deps: system packages already installed"
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "deps: npm ci"
  npm ci --no-audit --no-fund
else
  echo "deps: npm packages up to date"
fi

$sudo bash lib/host/start-libvirt.sh
