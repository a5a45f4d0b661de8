#!/usr/bin/env bash
# Installs everything the lab needs: system packages with apt-get, then the npm
# packages from the lockfile, then starts libvirt. Idempotent: a second run only
# checks. Run as root (or with sudo).
#
# Distro-aware (/etc/os-release; OS_RELEASE overrides, for tests):
# - Debian 12 and 13: every package from Debian's archive (the path measured here).
# - Ubuntu: the same packages from Ubuntu's archive where it has them. vagrant,
#   vagrant-libvirt and packer are not in every Ubuntu release, and GitHub's
#   Ubuntu images no longer carry Vagrant: a tool already on PATH counts as
#   installed, and when one is neither there nor in the archive, one line says
#   so and what to do (the nightly runs in a Debian container instead).
# - anything else: one line, exit 1.
# DEPS_DRY_RUN=1 prints what it would install and stops there.
set -euo pipefail
cd "$(dirname "$0")/../.."

os_release="${OS_RELEASE:-/etc/os-release}"
[ -r "$os_release" ] || { echo "deps: cannot read $os_release: not a Debian or Ubuntu machine?"; exit 1; }
# shellcheck disable=SC1090
distro="$(. "$os_release"; echo "${ID:-unknown}")"
version="$(. "$os_release"; echo "${VERSION_ID:-}")"
pretty="$(. "$os_release"; echo "${PRETTY_NAME:-$distro $version}")"
case "$distro:$version" in
  debian:12 | debian:13 | ubuntu:*) ;;
  *) echo "deps: $pretty is not supported: make deps installs on Debian 12 or 13 (and on Ubuntu, see README \"CI\")"; exit 1 ;;
esac

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

# A tool installed some other way (e.g. HashiCorp's own packages) counts as installed.
on_path() {
  case "$1" in
    vagrant) command -v vagrant >/dev/null ;;
    vagrant-libvirt) command -v vagrant >/dev/null && vagrant plugin list 2>/dev/null | grep -q '^vagrant-libvirt ' ;;
    packer) command -v packer >/dev/null ;;
    *) return 1 ;;
  esac
}

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' && continue
  on_path "$p" && continue
  missing+=("$p")
done

if [ "${#missing[@]}" -gt 0 ]; then
  [ "${DEPS_DRY_RUN:-}" = 1 ] || $sudo apt-get update -q
  if [ "$distro" = ubuntu ]; then
    # Which of them this Ubuntu's archive has at all (universe included).
    absent=()
    for p in "${missing[@]}"; do
      apt-cache policy "$p" 2>/dev/null | grep -q 'Candidate: [^(]' || absent+=("$p")
    done
    if [ "${#absent[@]}" -gt 0 ]; then
      echo "deps: $pretty has no ${absent[*]} in its archive: install them yourself (vagrant >= 2.3 with the vagrant-libvirt plugin, packer) and run make deps again, or run make deps in a Debian 12/13 container as the nightly workflow does"
      exit 1
    fi
  fi
  echo "deps: $pretty: installing ${missing[*]}"
  if [ "${DEPS_DRY_RUN:-}" = 1 ]; then echo "deps: DEPS_DRY_RUN=1: not installing"; exit 0; fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  echo "deps: $pretty: system packages already installed"
  if [ "${DEPS_DRY_RUN:-}" = 1 ]; then exit 0; fi
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "deps: npm ci"
  npm ci --no-audit --no-fund
else
  echo "deps: npm packages up to date"
fi

$sudo bash lib/host/start-libvirt.sh
