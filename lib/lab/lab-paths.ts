import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { LabConfig } from '../config.js';

/**
 * Whether `dir` holds the state of a lab with `prefix` in the layout before
 * per-prefix folders (state.json or vagrant-env.json directly in artifacts/lab).
 * Such a lab keeps its folder until its lab-down: its lab host's serial console
 * and vagrant's dotfile folder point there.
 */
function legacyLabIn(dir: string, prefix: string): boolean {
  for (const f of ['state.json', 'vagrant-env.json']) {
    try {
      if ((JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as { prefix?: string }).prefix === prefix) return true;
    } catch {
      // not there, or not ours
    }
  }
  return false;
}

/**
 * Where one lab keeps its state on the outer machine: artifacts/lab/<prefix>
 * (git-ignored), so labs with different prefixes never touch each other's key,
 * state or vagrant dotfile folder.
 */
export function labPaths(config: LabConfig) {
  const root = path.join(config.artifactsDir, 'lab');
  const dir = legacyLabIn(root, config.prefix) ? root : path.join(root, config.prefix);
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
    // Linux caps interface names at 15 characters: a hash of the whole prefix, not its first characters.
    bridge: `vl${createHash('sha256').update(config.prefix).digest('hex').slice(0, 10)}br`,
  };
}

/**
 * Whether an outer libvirt object named `name` is this lab's: exactly one of
 * its own objects, or a test guest of one of its runs (`<prefix>-<run id>-...`,
 * the local provider). A longer prefix that starts with this one is another lab.
 */
export function isLabObject(prefix: string, name: string): boolean {
  if ([`${prefix}-labhost`, `${prefix}-net`, `${prefix}-pool`].includes(name)) return true;
  return name.startsWith(`${prefix}-`) && /^[0-9a-f]{6}-/.test(name.slice(prefix.length + 1));
}

/** The vagrant box of a lab-host image: shared by every lab, one per image hash. */
export function boxName(labHost: { name: string; hash: string }): string {
  return `vmsnap-lab/${labHost.name}-${labHost.hash}`;
}

/** Inside the lab host (or on this machine with the local provider). */
export const INNER_ROOT = '/var/lib/vmsnap-lab';
