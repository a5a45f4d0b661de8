# Read only by current Packer (a whole-folder run after `packer init`); Debian's
# Packer 1.6.6 is given alpine.pkr.hcl alone, because it knows no required_plugins.
packer {
  required_plugins {
    qemu = {
      version = ">= 1.1.0"
      source  = "github.com/hashicorp/qemu"
    }
  }
}
