#!/usr/bin/env bash
# Offline lab-host box from Debian packages: a root filesystem built at native
# speed with mmdebstrap (nothing installed under emulation), written to ext4 on a
# qcow2 disk and packaged as a vagrant-libvirt box.
#
#   build-lab-host.sh OUT_DIR SUITE MIRROR VAGRANT_PUBKEY
#
# Writes OUT_DIR/{lab-host.box,vmlinuz,initrd.img,versions.txt}. The box boots by
# direct kernel boot (kernel and initrd beside it; the Vagrantfile points at them):
# measured about 26 s to SSH under TCG against 34 s through a bootloader.
# Must run as root: mmdebstrap writes a directory and mke2fs -d copies owners.
set -euo pipefail
# Close descriptors inherited from the caller (Packer leaves several open): mmdebstrap
# hands apt a pipe and names it in a `cat >&N` that dash cannot parse when N > 9.
for fd in $(ls /proc/$$/fd); do
  [ "$fd" -gt 2 ] && eval "exec $fd>&-" 2>/dev/null || true
done
out=$1 suite=$2 mirror=$3 pubkey=$4
here=$(cd "$(dirname "$0")" && pwd)
[ "$(id -u)" -eq 0 ] || { echo "lab-host: must run as root (mmdebstrap + mke2fs -d keep file owners); use sudo" >&2; exit 1; }
[ -r "$pubkey" ] || { echo "lab-host: no vagrant public key at $pubkey" >&2; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/vmsnap-lab-host.XXXXXX")
trap 'rm -rf "$work"' EXIT
# An interrupted build (Ctrl-C, a killed CI job) still removes its work folder.
trap 'exit 130' INT
trap 'exit 143' TERM
mkdir -p "$out"

packages=(
  systemd-sysv udev dbus linux-image-amd64 initramfs-tools kmod
  openssh-server sudo ca-certificates iproute2 procps less netbase systemd-resolved
  libvirt-daemon-system libvirt-clients qemu-system-x86 qemu-utils virtnbdbackup
  nodejs rsync faketime git e2fsprogs
)
echo "lab-host: mmdebstrap $suite (${#packages[@]} packages and their dependencies)"
# Never bind-mount the build machine's /dev into the chroot: a package script would
# then change the host's /dev/kvm group and break libvirt on the build machine.
# mmdebstrap in root mode creates its own device nodes, so nothing here reaches /dev.
mmdebstrap --quiet --variant=apt \
  --aptopt='APT::Install-Recommends "false"' \
  --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
  --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-include=/usr/share/locale/locale.alias' \
  --include="$(IFS=,; echo "${packages[*]}")" \
  --customize-hook="bash '$here/files/customize.sh' \"\$1\" '$pubkey' '$here/files'" \
  "$suite" "$work/root" "$mirror"
r=$work/root

kver=$(ls "$r/usr/lib/modules" | head -n 1)
cp "$r/boot/vmlinuz-$kver" "$out/vmlinuz.tmp"
cp "$r/boot/initrd.img-$kver" "$out/initrd.img.tmp"
chroot "$r" dpkg-query -W -f='${Package} ${Version}\n' virtnbdbackup libvirt-daemon-system qemu-system-x86 nodejs "linux-image-$kver" systemd > "$out/versions.txt.tmp"

echo "lab-host: writing ext4 root filesystem and qcow2 disk"
size_gib=16
truncate -s "${size_gib}G" "$work/disk.raw"
mke2fs -q -F -t ext4 -L vmsnap-lab-host -d "$r" "$work/disk.raw"
rm -rf "$r"
qemu-img convert -f raw -O qcow2 "$work/disk.raw" "$work/box.img"
rm -f "$work/disk.raw"

# A vagrant-libvirt box: metadata.json, a Vagrantfile with provider defaults, box.img.
printf '{"provider":"libvirt","format":"qcow2","virtual_size":%d}\n' "$size_gib" > "$work/metadata.json"
cp "$here/files/box.Vagrantfile" "$work/Vagrantfile"
tar -C "$work" -cf "$out/lab-host.box.tmp" metadata.json Vagrantfile box.img
mv "$out/versions.txt.tmp" "$out/versions.txt"
mv "$out/vmlinuz.tmp" "$out/vmlinuz"
mv "$out/initrd.img.tmp" "$out/initrd.img"
mv "$out/lab-host.box.tmp" "$out/lab-host.box"
echo "lab-host: done ($(du -sh "$out/lab-host.box" | cut -f1) box in $out)"
