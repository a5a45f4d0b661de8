import { execOk, shellQuote, type Transport } from '../transport/transport.js';
import type { TestVM } from '../vm/test-vm.js';
import { qemuImgInfo } from './status.js';

// The plan's test assertions (seed-test-plan.md, "Test Assertions"), run in the
// lab host through a transport. Each reads real state: files on disk, libvirt's
// checkpoint metadata, QEMU's or the qcow2's dirty bitmaps.

/** True when `dir` is a directory in the lab host. */
export async function directoryExists(t: Transport, dir: string): Promise<boolean> {
  return (await t.exec(['test', '-d', dir])).exitCode === 0;
}

/**
 * True when VMSnap left a backup of `vmName` under `backupDir`: the folder
 * `<backupDir>/<vmName>` holds at least one virtnbdbackup data file (`*.data`).
 * A bare folder is not a backup.
 */
export async function backupExists(t: Transport, backupDir: string, vmName: string): Promise<boolean> {
  return (await backupDataFiles(t, `${backupDir}/${vmName}`)).length > 0;
}

/** The virtnbdbackup data files below `dir` (full, inc or copy), sorted. */
export async function backupDataFiles(t: Transport, dir: string): Promise<string[]> {
  const r = await t.exec(`test -d ${shellQuote([dir])} && find ${shellQuote([dir])} -type f -name '*.data' | sort`);
  return r.exitCode === 0 ? r.stdout.split('\n').filter(Boolean) : [];
}

/** Bytes used by `<backupDir>/<vmName>` (du -sb), as the plan measures it. */
export async function getBackupSize(t: Transport, backupDir: string, vmName: string): Promise<number> {
  const r = await execOk(t, ['du', '-sb', `${backupDir}/${vmName}`]);
  return Number.parseInt(r.stdout.split('\t')[0] as string, 10);
}

/** libvirt's checkpoints of the domain, parents first. */
export async function getCheckpoints(vm: TestVM): Promise<string[]> {
  const r = await vm.virsh(['checkpoint-list', vm.name, '--name', '--topological']);
  return r.stdout.split('\n').map((s) => s.trim()).filter(Boolean);
}

export async function checkpointsExist(vm: TestVM, expectedCount: number): Promise<boolean> {
  return (await getCheckpoints(vm)).length === expectedCount;
}

/**
 * The dirty bitmaps of the domain's disk `vda`, sorted: while it runs, as QEMU
 * holds them (QMP); shut off, as stored in its qcow2 (qemu-img info). Both are
 * where a bitmap really lives at that moment.
 */
export async function getBitmaps(vm: TestVM): Promise<string[]> {
  const state = await vm.state();
  if (state === 'running' || state === 'paused') {
    const r = await vm.virsh(['qemu-monitor-command', vm.name, '{"execute":"query-named-block-nodes","arguments":{"flat":true}}']);
    const nodes = (JSON.parse(r.stdout) as { return: { 'dirty-bitmaps'?: { name: string }[] }[] }).return;
    return [...new Set(nodes.flatMap((n) => (n['dirty-bitmaps'] ?? []).map((b) => b.name)))].sort();
  }
  const info = await qemuImgInfo(vm.t, vm.disk);
  return (info['format-specific']?.data?.bitmaps ?? []).map((b) => b.name).sort();
}

/**
 * What a folder lacks to hold a virtnbdbackup backup: a data file (`*.data`), the
 * checkpoint definitions (`checkpoints/*.xml`) and the domain's definition
 * (`vmconfig*.xml`), each directly in `folder`. Empty when it holds all three. A
 * directory alone proves nothing: virtnbdbackup writes its log into the target
 * folder even when the backup fails, and VMSnap then exits 0 (VMSNAP-3).
 */
export async function backupDataProblems(t: Transport, folder: string): Promise<string[]> {
  const q = shellQuote([folder]);
  const r = await t.exec(`test -d ${q} || exit 3; cd ${q} && find . -maxdepth 2 \\( -type f -o -type d \\) | sort`);
  if (r.exitCode === 3) return [`${folder} does not exist`];
  const files = r.stdout.split('\n').map((f) => f.replace(/^\.\//, '')).filter((f) => f && f !== '.');
  const problems: string[] = [];
  if (!files.some((f) => /^[^/]+\.data$/.test(f))) problems.push('no *.data file');
  if (!files.some((f) => /^checkpoints\/[^/]+\.xml$/.test(f))) problems.push('no checkpoints/*.xml');
  if (!files.some((f) => /^vmconfig[^/]*\.xml$/.test(f))) problems.push('no vmconfig*.xml');
  return problems.length > 0 ? [...problems, `${folder} holds: ${files.join(' ') || 'nothing'}`] : [];
}

/** The checkpoint names whose definitions a backup folder holds (`checkpoints/<name>.xml`), sorted. */
export async function checkpointFiles(t: Transport, folder: string): Promise<string[]> {
  const r = await t.exec(`ls -1 ${shellQuote([`${folder}/checkpoints`])} 2>/dev/null`);
  return r.stdout.split('\n').filter((f) => f.endsWith('.xml')).map((f) => f.slice(0, -'.xml'.length)).sort();
}
