#!/usr/bin/env bash
# Offline test-guest image from Debian packages only (IMAGE_SOURCE=debian).
#
#   build-guest.sh OUT_DIR SUITE MIRROR
#
# Writes OUT_DIR/{disk.qcow2,vmlinuz,initrd.img,versions.txt}. The guest honours the
# same contract as the Alpine one: it boots unattended to a responding
# qemu-guest-agent, and its root filesystem is ext4 on vda, so data written inside
# lands on vda where dirty bitmaps see it. It boots by direct kernel boot (kernel and
# initrd beside the disk): no bootloader, no systemd, busybox init -- a full
# distribution takes minutes to boot as a nested TCG guest.
# Nothing is installed or run under emulation: packages are only extracted.
set -euo pipefail
# Close descriptors inherited from the caller (Packer leaves several open): mmdebstrap
# hands apt a pipe and names it in a `cat >&N` that dash cannot parse when N > 9.
for fd in $(ls /proc/$$/fd); do
  [ "$fd" -gt 2 ] && eval "exec $fd>&-" 2>/dev/null || true
done
out=$1 suite=$2 mirror=$3
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/vmsnap-lab-guest.XXXXXX")
trap 'rm -rf "$work"' EXIT
# An interrupted build (Ctrl-C, a killed CI job) still removes its work folder.
trap 'exit 130' INT
trap 'exit 143' TERM
mkdir -p "$out"

# Debian's cloud kernel: built for virtio guests, with far fewer drivers to
# initialise than the generic one. In the TCG lab host a test guest reaches its
# agent about 7 s sooner with it (docs/speed-findings.md).
echo "guest: extracting Debian $suite packages (qemu-guest-agent, busybox-static, linux-image-cloud-amd64)"
# --variant=extract: unpack only, no maintainer scripts, nothing runs in a chroot.
# The extract hook records the exact package versions (extract leaves no dpkg status).
mmdebstrap --quiet --variant=extract --include=qemu-guest-agent,busybox-static,linux-image-cloud-amd64 \
  --extract-hook='for f in "$1"/var/cache/apt/archives/*.deb; do dpkg-deb -f "$f" Package Version | paste -sd" "; done > "$1/../packages.txt"' \
  "$suite" "$work/x" "$mirror"
x=$work/x
kver=$(ls "$x/usr/lib/modules")
ldso=$x/usr/lib64/ld-linux-x86-64.so.2
libdir=$x/usr/lib/x86_64-linux-gnu

# --- root filesystem (ends up as ext4 on vda) ---
r=$work/root
mkdir -p "$r"/{bin,sbin,etc/init.d,lib/x86_64-linux-gnu,lib64,proc,sys,dev,run,tmp,data,root,var/log,usr/sbin}
chmod 1777 "$r/tmp"
cp "$x/usr/bin/busybox" "$r/bin/busybox"
for applet in $("$r/bin/busybox" --list); do
  [ "$applet" = busybox ] || ln -sf busybox "$r/bin/$applet"
done
ln -sf ../bin/busybox "$r/sbin/init"
cp "$x/usr/sbin/qemu-ga" "$r/usr/sbin/qemu-ga"
# The agent's shared libraries: the closure its own (target) loader reports.
cp "$ldso" "$r/lib64/"
"$ldso" --library-path "$libdir" --list "$x/usr/sbin/qemu-ga" \
  | awk '/=> .*x86_64-linux-gnu/ {print $3}' | while read -r lib; do cp -L "$lib" "$r/lib/x86_64-linux-gnu/"; done
cp "$here/files/inittab" "$r/etc/inittab"
cp "$here/files/rcS" "$r/etc/init.d/rcS"
cp "$here/files/qga-run" "$r/sbin/qga-run"
cp "$here/files/shutdown" "$r/sbin/shutdown"
chmod 755 "$r/etc/init.d/rcS" "$r/sbin/qga-run" "$r/sbin/shutdown"
printf 'root:x:0:0:root:/root:/bin/sh\n' > "$r/etc/passwd"
printf 'root:x:0:\n' > "$r/etc/group"
echo vmsnap-guest > "$r/etc/hostname"
printf '/dev/vda / ext4 rw 0 1\n' > "$r/etc/fstab"
echo "vmsnap-lab offline guest ($suite)" > "$r/etc/vmsnap-lab-guest"

# --- initramfs: load virtio_blk + ext4, mount vda, switch_root ---
i=$work/initrd
mkdir -p "$i"/{bin,dev,proc,sys,newroot,modules}
cp "$x/usr/bin/busybox" "$i/bin/busybox"
moddir=$x/usr/lib/modules/$kver/kernel
order=()
# Depth-first over each module's "depends=" so dependencies load first. A driver
# the kernel has built in (modules.builtin) needs nothing; one in neither is an error.
add_module() {
  local name=$1 file deps dep
  for m in "${order[@]}"; do [ "$m" = "$name" ] && return 0; done
  file=$(find "$moddir" -name "$name.ko*" | head -n 1)
  if [ -z "$file" ]; then
    grep -q "/$name.ko\$" "$x/usr/lib/modules/$kver/modules.builtin" && return 0
    echo "guest: kernel module $name neither built into $kver nor a module" >&2; exit 1
  fi
  deps=$(xz -dcf "$file" | grep -a -o 'depends=[^[:cntrl:]]*' | head -n 1 | cut -d= -f2)
  for dep in ${deps//,/ }; do add_module "$dep"; done
  xz -dcf "$file" > "$i/modules/$name.ko"
  order+=("$name")
}
# crc32c_generic: ext4 asks the crypto API for crc32c at mount (a soft dependency
# depends= does not list), and there is no modprobe here to load it on demand.
# virtio_console carries the guest agent's channel.
for m in virtio_blk crc32c_generic ext4 virtio_console; do add_module "$m"; done
printf '%s\n' "${order[@]}" > "$i/modules/order"
cp "$here/files/initramfs-init" "$i/init"
chmod 755 "$i/init"
(cd "$i" && find . | cpio -o -H newc --quiet | gzip -6) > "$out/initrd.img.tmp"

echo "guest: writing ext4 root filesystem and qcow2 disk"
# mke2fs -d fills the filesystem from a directory: no loop mount, no root needed.
truncate -s 512M "$work/disk.raw"
mke2fs -q -F -t ext4 -L vmsnap-guest -d "$r" -E root_owner=0:0 "$work/disk.raw"
qemu-img convert -f raw -O qcow2 "$work/disk.raw" "$out/disk.qcow2.tmp"
cp "$x/boot/vmlinuz-$kver" "$out/vmlinuz.tmp"
{
  echo "kernel $kver"
  sed 's/^Package: //; s/ Version: / /' "$work/packages.txt" | grep -E '^(qemu-guest-agent|busybox-static|linux-image-[0-9]) '
} > "$out/versions.txt"
mv "$out/initrd.img.tmp" "$out/initrd.img"
mv "$out/disk.qcow2.tmp" "$out/disk.qcow2"
mv "$out/vmlinuz.tmp" "$out/vmlinuz"
echo "guest: done ($(du -sh "$out" | cut -f1) in $out)"
