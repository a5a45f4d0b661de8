#!/bin/sh
# After setup-alpine: qemu-guest-agent started at boot, a serial console, and the
# same ready marker the offline guest prints, so both images meet one contract.
set -e
root=$(mktemp -d)
mount /dev/vda3 "$root"
apk --root "$root" --no-cache add qemu-guest-agent
chroot "$root" rc-update add qemu-guest-agent default
echo 'ttyS0::respawn:/sbin/getty -L 115200 ttyS0 vt100' >> "$root/etc/inittab"
sed -i 's/^default_kernel_opts="\(.*\)"/default_kernel_opts="\1 console=ttyS0,115200"/' "$root/etc/update-extlinux.conf"
chroot "$root" update-extlinux
printf '#!/bin/sh\necho VMSNAP_GUEST_READY > /dev/ttyS0\n' > "$root/etc/local.d/vmsnap-ready.start"
chmod +x "$root/etc/local.d/vmsnap-ready.start"
chroot "$root" rc-update add local default
umount "$root"
