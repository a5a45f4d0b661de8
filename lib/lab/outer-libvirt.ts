import { mkdir, rm } from 'node:fs/promises';
import type { LabConfig } from '../config.js';
import { say } from '../log.js';
import { execOk, VIRSH_URI as URI, type Transport } from '../transport/transport.js';
import { labPaths, outerNames } from './lab-paths.js';


/** A /24 for the management network, derived from the prefix so two labs differ. */
export function networkCidr(prefix: string): string {
  let h = 0;
  for (const ch of prefix) h = (h * 31 + ch.charCodeAt(0)) % 100;
  return `192.168.${120 + h}.0/24`;
}

async function exists(t: Transport, kind: 'net' | 'pool' | 'dom', name: string): Promise<boolean> {
  const sub = kind === 'dom' ? 'dominfo' : `${kind}-info`;
  return (await t.exec(['virsh', ...URI, sub, name])).exitCode === 0;
}

/**
 * The lab's own NAT network and directory pool on the outer libvirt, created when
 * missing. Nothing relies on a `default` network or pool existing.
 */
export async function ensureNetworkAndPool(t: Transport, config: LabConfig): Promise<void> {
  const names = outerNames(config);
  const cidr = networkCidr(config.prefix);
  const base = cidr.replace(/\.0\/24$/, '');
  if (!(await exists(t, 'net', names.network))) {
    say(`lab: creating network ${names.network} (${cidr})`);
    const xml = `<network><name>${names.network}</name><forward mode='nat'/>
  <bridge name='${config.prefix.slice(0, 10)}br0' stp='on' delay='0'/>
  <ip address='${base}.1' netmask='255.255.255.0'><dhcp><range start='${base}.10' end='${base}.250'/></dhcp></ip></network>`;
    await virshDefine(t, 'net-define', xml);
  }
  const net = await execOk(t, ['virsh', ...URI, 'net-info', names.network]);
  if (!/Active:\s+yes/.test(net.stdout)) await execOk(t, ['virsh', ...URI, 'net-start', names.network]);

  const poolDir = labPaths(config).poolDir;
  if (!(await exists(t, 'pool', names.pool))) {
    say(`lab: creating storage pool ${names.pool} (${poolDir})`);
    await mkdir(poolDir, { recursive: true });
    await execOk(t, ['virsh', ...URI, 'pool-define-as', names.pool, 'dir', '--target', poolDir]);
  }
  const pool = await execOk(t, ['virsh', ...URI, 'pool-info', names.pool]);
  if (!/State:\s+running/.test(pool.stdout)) await execOk(t, ['virsh', ...URI, 'pool-start', names.pool]);
}

/**
 * `virsh <verb> FILE` with the XML given on stdin. Through a temporary file:
 * virsh cannot open /dev/stdin when it is a socket, as Node's child stdio is.
 */
export async function virshDefine(t: Transport, verb: 'define' | 'net-define' | 'pool-define', xml: string): Promise<void> {
  const script = 'f=$(mktemp) && cat > "$f" && virsh -c qemu:///system "$1" "$f"; rc=$?; rm -f "$f"; exit $rc';
  await execOk(t, ['sh', '-c', script, 'sh', verb], { stdin: xml });
}

/** Removes the lab's pool (with every volume in it, the box's included) and network. */
export async function removeNetworkAndPool(t: Transport, config: LabConfig): Promise<void> {
  const names = outerNames(config);
  if (await exists(t, 'pool', names.pool)) {
    const vols = await t.exec(['virsh', ...URI, 'vol-list', names.pool, '--name']);
    for (const vol of vols.stdout.split('\n').map((v) => v.trim()).filter(Boolean)) {
      await execOk(t, ['virsh', ...URI, 'vol-delete', vol, '--pool', names.pool]);
    }
    await t.exec(['virsh', ...URI, 'pool-destroy', names.pool]);
    await execOk(t, ['virsh', ...URI, 'pool-undefine', names.pool]);
    say(`lab: removed storage pool ${names.pool}`);
  }
  await rm(labPaths(config).poolDir, { recursive: true, force: true });
  if (await exists(t, 'net', names.network)) {
    await t.exec(['virsh', ...URI, 'net-destroy', names.network]);
    await execOk(t, ['virsh', ...URI, 'net-undefine', names.network]);
    say(`lab: removed network ${names.network}`);
  }
}

export interface OuterAudit {
  domains: string[];
  networks: string[];
  pools: string[];
}

/** Every outer libvirt object carrying the lab's prefix: empty after lab-down. */
export async function auditOuter(t: Transport, prefix: string): Promise<OuterAudit> {
  const names = async (argv: string[]) =>
    (await execOk(t, ['virsh', ...URI, ...argv])).stdout
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l.startsWith(`${prefix}-`));
  return {
    domains: await names(['list', '--all', '--name']),
    networks: await names(['net-list', '--all', '--name']),
    pools: await names(['pool-list', '--all', '--name']),
  };
}

/** The names of a pool's volumes, sorted (Debian 12's virsh has no `vol-list --name`: the table's first column). */
export async function poolVolumes(t: Transport, pool: string): Promise<string[]> {
  const table = (await execOk(t, ['virsh', ...URI, 'vol-list', pool])).stdout;
  return table
    .split('\n')
    .slice(2)
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter(Boolean)
    .sort();
}
