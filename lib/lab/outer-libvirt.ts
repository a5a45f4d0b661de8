import { mkdir, rm } from 'node:fs/promises';
import type { LabConfig } from '../config.js';
import { say } from '../log.js';
import { execOk, VIRSH_URI as URI, type Transport } from '../transport/transport.js';
import { isLabObject, labPaths, outerNames } from './lab-paths.js';


/**
 * A /24 for the management network: 192.168.<120..219>.0/24, starting at a slot
 * derived from the prefix and taking the first one no other network uses
 * (`taken`: the third octets of every libvirt network and host route in
 * 192.168/16), so two labs never share one even when their prefixes hash alike.
 */
export function networkCidr(prefix: string, taken: ReadonlySet<number> = new Set()): string {
  let h = 0;
  for (const ch of prefix) h = (h * 31 + ch.charCodeAt(0)) % 100;
  for (let i = 0; i < 100; i++) {
    const octet = 120 + ((h + i) % 100);
    if (!taken.has(octet)) return `192.168.${octet}.0/24`;
  }
  throw new Error('no free 192.168.120-219.0/24 for the lab network: every one is in use by a libvirt network or a route');
}

/** Third octets of the 192.168.x.0/24 networks libvirt's networks and this machine's routes use. */
async function takenOctets(t: Transport): Promise<Set<number>> {
  const taken = new Set<number>();
  const nets = (await execOk(t, ['virsh', ...URI, 'net-list', '--all', '--name'])).stdout.split('\n').map((l) => l.trim()).filter(Boolean);
  for (const n of nets) {
    const xml = (await t.exec(['virsh', ...URI, 'net-dumpxml', n])).stdout;
    for (const m of xml.matchAll(/address='192\.168\.(\d+)\.\d+'/g)) taken.add(Number(m[1]));
  }
  for (const m of (await t.exec(['ip', '-4', 'route'])).stdout.matchAll(/\b192\.168\.(\d+)\.\d+/g)) taken.add(Number(m[1]));
  return taken;
}

/** The /24 of an existing lab network, as libvirt has it. */
async function cidrOf(t: Transport, network: string): Promise<string> {
  const xml = (await execOk(t, ['virsh', ...URI, 'net-dumpxml', network])).stdout;
  const m = /<ip address='(\d+\.\d+\.\d+)\.\d+'/.exec(xml);
  if (!m) throw new Error(`network ${network} has no IPv4 address`);
  return `${m[1]}.0/24`;
}

async function exists(t: Transport, kind: 'net' | 'pool' | 'dom', name: string): Promise<boolean> {
  const sub = kind === 'dom' ? 'dominfo' : `${kind}-info`;
  return (await t.exec(['virsh', ...URI, sub, name])).exitCode === 0;
}

/**
 * The lab's own NAT network and directory pool on the outer libvirt, created when
 * missing. Nothing relies on a `default` network or pool existing.
 */
export async function ensureNetworkAndPool(t: Transport, config: LabConfig): Promise<string> {
  const names = outerNames(config);
  if (!(await exists(t, 'net', names.network))) {
    const cidr = networkCidr(config.prefix, await takenOctets(t));
    const base = cidr.replace(/\.0\/24$/, '');
    say(`lab: creating network ${names.network} (${cidr})`);
    const xml = `<network><name>${names.network}</name><forward mode='nat'/>
  <bridge name='${names.bridge}' stp='on' delay='0'/>
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
  return cidrOf(t, names.network);
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

/** Every outer libvirt object of the lab with this prefix (isLabObject): empty after lab-down. */
export async function auditOuter(t: Transport, prefix: string): Promise<OuterAudit> {
  const names = async (argv: string[]) =>
    (await execOk(t, ['virsh', ...URI, ...argv])).stdout
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => isLabObject(prefix, l));
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
