# Offline test-guest image from Debian packages (IMAGE_SOURCE=debian).
# Packer drives the build so both guest paths share one entry point; the work is
# build-guest.sh, because nothing here needs a VM: packages are only extracted.
# Debian's Packer 1.6.6: `packer build guest-debian.pkr.hcl` (this file only).
# Current Packer: the null builder and shell-local are built in; nothing to init.
variable "out_dir" {
  type = string
}
variable "suite" {
  type    = string
  default = "trixie"
}
variable "mirror" {
  type = string
}

source "null" "guest" {
  communicator = "none"
}

build {
  sources = ["source.null.guest"]

  provisioner "shell-local" {
    inline = ["bash '${path.root}/build-guest.sh' '${var.out_dir}' '${var.suite}' '${var.mirror}'"]
  }
}
