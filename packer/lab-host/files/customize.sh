#!/usr/bin/env bash
# mmdebstrap customize hook for the lab host: runs on the build machine with the
# target root in $1; commands that must see the target run through chroot.
set -euo pipefail
r=$1 pubkey=$2 files=$3

echo vmsnap-lab-host > "$r/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 vmsnap-lab-host\n' > "$r/etc/hosts"
printf '/dev/vda / ext4 rw,errors=remount-ro 0 1\n' > "$r/etc/fstab"
: > "$r/etc/machine-id"   # generated at first boot, unique per lab host

# Network: DHCP on whatever NIC vagrant-libvirt gives us; DNS through resolved.
install -m 644 "$files/20-wired.network" "$r/etc/systemd/network/20-wired.network"
chroot "$r" systemctl enable systemd-networkd systemd-resolved
ln -sf ../run/systemd/resolve/stub-resolv.conf "$r/etc/resolv.conf"

# The vagrant user the way Vagrant expects: passwordless sudo, the insecure public
# key (Vagrant replaces it with a fresh key pair on first `vagrant up`).
chroot "$r" useradd -m -s /bin/bash -G libvirt,kvm vagrant
echo 'vagrant ALL=(ALL) NOPASSWD:ALL' > "$r/etc/sudoers.d/vagrant"
chmod 440 "$r/etc/sudoers.d/vagrant"
install -d -m 700 -o 1000 -g 1000 "$r/home/vagrant/.ssh"
install -m 600 -o 1000 -g 1000 "$pubkey" "$r/home/vagrant/.ssh/authorized_keys"

# SSH host keys: none baked in (each lab host gets its own), and only ECDSA and
# Ed25519 at first boot: RSA generation takes up to 30 s under TCG.
rm -f "$r"/etc/ssh/ssh_host_*
install -m 644 "$files/sshd-vmsnap-lab.conf" "$r/etc/ssh/sshd_config.d/vmsnap-lab.conf"
install -m 644 "$files/vmsnap-lab-hostkeys.service" "$r/etc/systemd/system/vmsnap-lab-hostkeys.service"
chroot "$r" systemctl enable vmsnap-lab-hostkeys.service ssh.service

# A place for test guests and their images, owned by the lab.
install -d -m 755 "$r/var/lib/vmsnap-lab"

# Smaller box: no package lists or downloaded .debs.
rm -rf "$r"/var/lib/apt/lists/* "$r"/var/cache/apt/*.bin "$r"/var/cache/apt/archives/*.deb
