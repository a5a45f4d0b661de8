import path from 'node:path';
import type { LabConfig } from '../config.js';

/** Where one lab keeps its state on the outer machine: artifacts/lab (git-ignored). */
export function labPaths(config: LabConfig) {
  const dir = path.join(config.artifactsDir, 'lab');
  return {
    dir,
    state: path.join(dir, 'state.json'),
    vagrantEnv: path.join(dir, 'vagrant-env.json'),
    vagrantDotfile: path.join(dir, '.vagrant'),
    serialLog: path.join(dir, 'serial.log'),
    // Where libvirt keeps pools, not under the checkout: libvirt's qemu user must
    // traverse every parent folder, and a clone may sit in a 0700 folder (mktemp -d).
    poolDir: `/var/lib/libvirt/images/${config.prefix}-pool`,
    sshKey: path.join(dir, 'id_lab'),
  };
}

/** Names of the outer libvirt objects a lab creates; all carry its prefix. */
export function outerNames(config: LabConfig) {
  return {
    domain: `${config.prefix}-labhost`,
    network: `${config.prefix}-net`,
    pool: `${config.prefix}-pool`,
    box: `vmsnap-lab/${config.prefix}-lab-host`,
  };
}

/** Inside the lab host (or on this machine with the local provider). */
export const INNER_ROOT = '/var/lib/vmsnap-lab';
