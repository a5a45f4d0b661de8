import prettyBytes from 'pretty-bytes';
import { execOk, shellQuote, VIRSH_URI as URI, type Transport } from '../transport/transport.js';

// VMSnap's status of a domain, read independently of VMSnap from where each
// field lives (libvirt's checkpoints, each disk's qcow2 as `qemu-img info`
// reads it), in the shape and text VMSnap's README documents: the JSON of
// `--json --machine` ("vm1": checkpoints, disks [disk, virtualSize,
// actualSize, bitmaps], overallStatus) and the text report of "Status". Tests
// compare VMSnap's output with these field by field, so any field that moves
// fails.

export interface DiskStatus {
  disk: string;
  virtualSize: number | string;
  actualSize: number | string;
  bitmaps: string[];
}

export interface BackupDirStats {
  path: string;
  totalFiles: number;
  checkpoints: number;
  totalSize: number | string;
}

export interface DomainStatus {
  checkpoints: string[];
  disks: DiskStatus[];
  overallStatus: number;
  backupDirStats?: BackupDirStats;
}

/** README: "Overall status: OK" (0) or INCONSISTENT (1); the codes `--json` gives. */
export const STATUS_NAMES = ['OK', 'INCONSISTENT'] as const;

interface QemuImgInfo {
  format: string;
  'virtual-size': number;
  'actual-size': number;
  'format-specific'?: { data?: { bitmaps?: { name: string }[] } };
}

/** `qemu-img info` of one disk image in the lab host (-U: also while a QEMU holds it). */
export async function qemuImgInfo(t: Transport, file: string): Promise<QemuImgInfo> {
  return JSON.parse((await execOk(t, ['qemu-img', 'info', '-U', '--output=json', file])).stdout) as QemuImgInfo;
}

/** The domain's disks (`device` disk, not cdrom) as target and source, in libvirt's order. */
export async function domainDisks(t: Transport, domain: string): Promise<{ target: string; source: string }[]> {
  const r = await execOk(t, ['virsh', ...URI, 'domblklist', domain, '--details']);
  return r.stdout
    .split('\n')
    .slice(2)
    .map((l) => l.trim().split(/\s+/))
    .filter((w) => w.length >= 4 && w[1] === 'disk')
    .map((w) => ({ target: w[2] as string, source: w[3] as string }));
}

/**
 * The status VMSnap must report for `domain` (a shut-off one: `qemu-img` reads a
 * disk no QEMU holds), from libvirt and qemu-img. Overall OK when every disk has
 * as many bitmaps as libvirt has checkpoints (VMSnap's unit test "detects
 * inconsistent status when checkpoints and bitmaps mismatch"); with `pretty`,
 * sizes as the README shows them ("42.6 GB"), which pretty-bytes writes.
 */
export async function statusFromLibvirt(t: Transport, domain: string, pretty = false): Promise<DomainStatus> {
  const checkpoints = (await execOk(t, ['virsh', ...URI, 'checkpoint-list', domain, '--name'])).stdout
    .split('\n')
    .map((s) => s.trim())
    .filter(Boolean);
  const disks: DiskStatus[] = [];
  for (const d of await domainDisks(t, domain)) {
    const info = await qemuImgInfo(t, d.source);
    const size = (n: number) => (pretty ? prettyBytes(n) : n);
    const bitmaps = info.format === 'raw' ? [] : (info['format-specific']?.data?.bitmaps ?? []).map((b) => b.name);
    disks.push({ disk: d.target, virtualSize: size(info['virtual-size']), actualSize: size(info['actual-size']), bitmaps });
  }
  const overallStatus = disks.every((d) => d.bitmaps.length === checkpoints.length) ? 0 : 1;
  return { checkpoints, disks, overallStatus };
}

/** The text report of one domain, line by line, as VMSnap's README shows it under "Status". */
export function statusText(domain: string, s: DomainStatus): string[] {
  const lines = [`Status for ${domain}:`, `  Overall status: ${STATUS_NAMES[s.overallStatus] ?? s.overallStatus}`];
  if (s.checkpoints.length === 0) lines.push(`  No checkpoints found for ${domain}`);
  else lines.push(`  Checkpoints found for ${domain}:`, ...s.checkpoints.map((c) => `    ${c}`));
  if (s.disks.length === 0) lines.push(`  No eligible disks found for ${domain}`);
  else {
    lines.push(`  Eligible disks found for ${domain}:`);
    for (const d of s.disks) {
      lines.push(`    ${d.disk}`, `      Virtual size: ${d.virtualSize}`, `      Actual size: ${d.actualSize}`);
      if (d.bitmaps.length === 0) lines.push(`      No bitmaps found for ${d.disk}`);
      else lines.push(`      Bitmaps found for ${d.disk}:`, ...d.bitmaps.map((b) => `          ${b}`));
    }
  }
  if (s.backupDirStats) {
    const b = s.backupDirStats;
    lines.push(`  Backup directory stats for ${domain}:`, `    Path: ${b.path}`, `    Total files: ${b.totalFiles}`, `    Total size: ${b.totalSize}`, `    Checkpoints: ${b.checkpoints}`);
  }
  return lines;
}

/** The lines of VMSnap's text status that belong to `domain`: from its "Status for" line to the next domain's. */
export function statusBlock(stdout: string, domain: string): string[] {
  const lines = stdout.split('\n').map((l) => l.trimEnd());
  const at = lines.indexOf(`Status for ${domain}:`);
  if (at < 0) return [];
  const next = lines.findIndex((l, i) => i > at && /^Status for .*:$/.test(l));
  return lines.slice(at, next < 0 ? undefined : next).filter((l) => l !== '');
}

/**
 * A period folder as it is on disk: its regular files (count and bytes, what
 * the README's "statistics about the backups already saved to disk" are), and
 * what VMSnap's folder walk adds up instead (VMSNAP-14): every entry below the
 * folder, folders among them with their own size, plus the checkpoint
 * definitions a second time.
 */
export async function periodFolderTotals(t: Transport, dir: string): Promise<{ files: number; bytes: number; checkpointFiles: number; walkEntries: number; walkBytes: number; checkpointBytes: number }> {
  const q = shellQuote([dir]);
  const r = await execOk(
    t,
    `cd ${q} && echo "$(find . -type f | wc -l) $(find . -type f -printf '%s\\n' | awk '{s+=$1} END {print s+0}') $(find checkpoints -mindepth 1 -maxdepth 1 | wc -l) $(find . -mindepth 1 | wc -l) $(find . -mindepth 1 -printf '%s\\n' | awk '{s+=$1} END {print s+0}') $(find checkpoints -mindepth 1 -maxdepth 1 -printf '%s\\n' | awk '{s+=$1} END {print s+0}')"`,
  );
  const [files, bytes, checkpointFiles, walkEntries, walkBytes, checkpointBytes] = r.stdout.trim().split(/\s+/).map(Number) as [number, number, number, number, number, number];
  return { files, bytes, checkpointFiles, walkEntries, walkBytes, checkpointBytes };
}
