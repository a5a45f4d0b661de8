import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { execOk, VIRSH_URI as URI, type Transport } from '../transport/transport.js';
import { virshDefine } from './outer-libvirt.js';
import { processStart } from './run-lease.js';


export interface Sentinel {
  domain: string;
  network: string;
  domainXml: string;
  networkXml: string;
}

/**
 * A domain and a network the lab did not create (their names do not carry the
 * lab's prefix), defined on the outer libvirt before lab-up; after lab-down they
 * must still be there, unchanged. Proof the lab touches only its own objects.
 */
export async function defineSentinel(t: Transport, file: string): Promise<Sentinel> {
  await sweepSentinels(t);
  // The owner's pid in the name: a sweep by another run at the same time (a second
  // shard) leaves a live run's sentinel alone (one was removed so, seen here).
  const id = `${randomBytes(3).toString('hex')}-p${process.pid}`;
  const domain = `sentinel-vmsnap-lab-${id}`;
  const network = `sentinel-vmsnap-lab-${id}-net`;
  await virshDefine(t, 'define', `<domain type='qemu'><name>${domain}</name><memory unit='MiB'>32</memory><os><type arch='x86_64'>hvm</type></os></domain>`);
  await virshDefine(t, 'net-define', `<network><name>${network}</name></network>`);
  const s: Sentinel = {
    domain,
    network,
    domainXml: (await execOk(t, ['virsh', ...URI, 'dumpxml', domain])).stdout,
    networkXml: (await execOk(t, ['virsh', ...URI, 'net-dumpxml', network])).stdout,
  };
  await writeFile(file, `${JSON.stringify(s, null, 2)}\n`);
  return s;
}

/** Whether a process with this pid runs on this machine (where `make test` defines its sentinel): the run lease's check. */
const alive = (pid: number): boolean => processStart(pid) !== undefined;

/**
 * Whether `name` is a sentinel this module made whose run is over: its owner's
 * pid no longer runs (or it predates the pid in the name). Any other name,
 * including a live run's sentinel, is not the sweep's to touch.
 */
export function staleSentinel(name: string, isAlive: (pid: number) => boolean = alive): boolean {
  const m = /^sentinel-vmsnap-lab-[0-9a-f]{6}(?:-p(\d+))?(?:-net)?$/.exec(name);
  if (!m) return false;
  return m[1] === undefined || !isAlive(Number(m[1]));
}

/** Sentinels a killed `make test` left behind: only names this module makes, and only of runs that are over. */
export async function sweepSentinels(t: Transport): Promise<void> {
  const list = async (argv: string[]) =>
    (await execOk(t, ['virsh', ...URI, ...argv])).stdout.split('\n').map((l) => l.trim()).filter((l) => staleSentinel(l));
  for (const d of await list(['list', '--all', '--name'])) await t.exec(['virsh', ...URI, 'undefine', d]);
  for (const n of await list(['net-list', '--all', '--name'])) await t.exec(['virsh', ...URI, 'net-undefine', n]);
}

export async function readSentinel(file: string): Promise<Sentinel> {
  return JSON.parse(await readFile(file, 'utf8')) as Sentinel;
}

export async function removeSentinel(t: Transport, s: Sentinel): Promise<void> {
  await t.exec(['virsh', ...URI, 'undefine', s.domain]);
  await t.exec(['virsh', ...URI, 'net-undefine', s.network]);
}
