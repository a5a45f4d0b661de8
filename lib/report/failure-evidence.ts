import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { shellQuote, VIRSH_URI, type Transport } from '../transport/transport.js';

/** A file-name-safe form of a test title. */
export function slug(title: string): string {
  return title.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 80);
}

/**
 * What a failed test leaves for diagnosis, collected from the lab host into
 * `dir`: the XML and QEMU log of every domain of this run (`namePrefix`), the
 * lab host's libvirt log, and its state. Best effort: collecting must never
 * hide the failure itself, so each piece that cannot be read says why instead.
 */
export async function collectFailureEvidence(t: Transport, dir: string, namePrefix: string): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const written: string[] = [];
  const save = async (file: string, command: string) => {
    const r = await t.exec(command, { timeout: 60_000 }).catch((e: Error) => ({ exitCode: -1, stdout: '', stderr: e.message }));
    await writeFile(path.join(dir, file), r.stdout + (r.exitCode === 0 ? '' : `\n[exit ${r.exitCode}] ${r.stderr}`));
    written.push(file);
  };
  const virsh = `virsh ${VIRSH_URI.join(' ')}`;
  const domains = (await t.exec(`${virsh} list --all --name`).catch(() => ({ stdout: '' }))).stdout
    .split('\n')
    .filter((n) => n.startsWith(namePrefix));
  await save('domains.txt', `${virsh} list --all; for d in $(${virsh} list --all --name); do echo "== $d"; ${virsh} checkpoint-list "$d" --name 2>&1; done`);
  for (const d of domains) await save(`${slug(d)}.xml`, `${virsh} dumpxml ${shellQuote([d])}`);
  // QEMU logs outlive their domains (a test may already have removed its guest).
  const logs = (await t.exec(['ls', '/var/log/libvirt/qemu/']).catch(() => ({ stdout: '' }))).stdout.split('\n').filter((f) => f.startsWith(namePrefix) && f.endsWith('.log'));
  for (const f of logs) await save(`${slug(f)}.qemu.log`, `tail -c 20000 ${shellQuote([`/var/log/libvirt/qemu/${f}`])}`);
  await save('libvirtd.log', 'journalctl -u libvirtd -u virtqemud --no-pager -n 300 2>/dev/null || tail -n 300 /var/log/libvirt/libvirtd.log');
  await save('processes.txt', "ps -eo pid,etimes,args | grep -E 'qemu|virtnbd|vmsnap|node' | grep -v grep");
  return written;
}
