# Offline lab-host box (vagrant-libvirt) from Debian packages, built at native
# speed by mmdebstrap in build-lab-host.sh; packaged as a box by the same script
# (tar of metadata.json, Vagrantfile, box.img), the documented equivalent of the
# vagrant post-processor, which only packages what a VM builder produced.
# Debian's Packer 1.6.6: `packer build lab-host.pkr.hcl`. Current Packer: same.
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
variable "vagrant_pubkey" {
  type = string
}

source "null" "lab_host" {
  communicator = "none"
}

build {
  sources = ["source.null.lab_host"]

  provisioner "shell-local" {
    inline = ["bash '${path.root}/build-lab-host.sh' '${var.out_dir}' '${var.suite}' '${var.mirror}' '${var.vagrant_pubkey}'"]
  }
}
