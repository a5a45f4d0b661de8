# Test-guest image from the official Alpine "virt" ISO (IMAGE_SOURCE=alpine, and
# the first choice of IMAGE_SOURCE=auto where the network allows). Installs to
# vda unattended (answers served from http/), adds qemu-guest-agent and a serial
# console, and powers off; Packer waits for that (communicator none).
#
# Debian's Packer 1.6.6 has the qemu builder built in:
#   packer build -var out_dir=DIR alpine.pkr.hcl
# Current Packer needs the plugin, declared in plugins.pkr.hcl, which only a
# whole-folder run reads:
#   packer init packer/guest-alpine && packer build -var out_dir=DIR packer/guest-alpine
variable "out_dir" {
  type = string
}
variable "alpine_version" {
  type    = string
  default = "3.21.3"
}
variable "iso_sha256" {
  # sha256 of alpine-virt-3.21.3-x86_64.iso, as published beside the ISO.
  type    = string
  default = "f28171c35bbf623aa3cbaec4b8b29297f13095b892c1a283b15970f7eb490f2d"
}
variable "accelerator" {
  # "tcg" where KVM does not really run a guest (make doctor probes it).
  type    = string
  default = "tcg"
}

locals {
  branch = join(".", slice(split(".", var.alpine_version), 0, 2))
}

source "qemu" "alpine" {
  iso_url          = "https://dl-cdn.alpinelinux.org/alpine/v${local.branch}/releases/x86_64/alpine-virt-${var.alpine_version}-x86_64.iso"
  iso_checksum     = "sha256:${var.iso_sha256}"
  output_directory = var.out_dir
  vm_name          = "disk.qcow2"
  format           = "qcow2"
  disk_size        = "512M"
  disk_interface   = "virtio"
  net_device       = "virtio-net"
  accelerator      = var.accelerator
  memory           = 512
  headless         = true
  http_directory   = "${path.root}/http"
  communicator     = "none"
  shutdown_timeout = "30m"
  boot_wait        = "40s"
  boot_command = [
    "root<enter><wait5>",
    "ifconfig eth0 up && udhcpc -i eth0<enter><wait10>",
    "wget -qO /tmp/answers http://{{ .HTTPIP }}:{{ .HTTPPort }}/answers<enter><wait3>",
    "wget -qO /tmp/post-install.sh http://{{ .HTTPIP }}:{{ .HTTPPort }}/post-install.sh<enter><wait3>",
    "ERASE_DISKS=/dev/vda setup-alpine -e -f /tmp/answers && sh /tmp/post-install.sh && poweroff<enter>",
  ]
}

build {
  sources = ["source.qemu.alpine"]
}
