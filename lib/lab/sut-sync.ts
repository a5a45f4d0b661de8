import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import type { LabConfig } from '../config.js';
import { say } from '../log.js';
import { execOk, shellQuote, type PutFiles, type Transport } from '../transport/transport.js';
import type { SutState } from './lab-state.js';

// VMSnap in the lab host is a copy of a checkout on this machine. A kept lab
// outlives many edits of that checkout, so before VMSnap is tested the copy is
// compared with the checkout as it is now and brought up to date: the changed
// files alone, or a whole new install (`npm ci`) when the lockfile changed.
// What is installed is written next to it (MANIFEST), so the comparison reads
// the lab host's truth, not a record on this machine that a failed sync could
// leave wrong.

/** What a VMSnap checkout is now: enough to tell whether the lab host runs exactly it. */
export interface SutFingerprint {
  version: string;
  /** `git rev-parse HEAD`, or 'unknown (not a git checkout)'. */
  commit: string;
  /** sha256 of the uncommitted changes (tracked diff and untracked files), when there are any. */
  changes?: string;
  /** sha256 of package-lock.json ('' without one): a change means new dependencies, so `npm ci`. */
  lockHash: string;
  /** Every file that is installed (all but .git and node_modules): relative path -> sha256. */
  files: Record<string, string>;
}

/** The manifest of what is installed, kept in the installed folder itself. */
export const MANIFEST = '.vmsnap-lab-sut.json';
const SKIP = new Set(['.git', 'node_modules']);

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');

async function listFiles(dir: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(path.join(dir, rel), { withFileTypes: true })) {
    if (SKIP.has(e.name) || (rel === '' && e.name === MANIFEST)) continue;
    const p = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...(await listFiles(dir, p)));
    else if (e.isFile()) out.push(p);
  }
  return out.sort();
}

/** The checkout's fingerprint, read from its files and git (milliseconds for a checkout of VMSnap's size). */
export async function fingerprint(src: string): Promise<SutFingerprint> {
  const files: Record<string, string> = {};
  for (const f of await listFiles(src)) files[f] = sha256(await readFile(path.join(src, f)));
  const git = (args: string[]) => execa('git', ['-C', src, ...args], { reject: false });
  const head = await git(['rev-parse', 'HEAD']);
  const commit = head.exitCode === 0 ? head.stdout.trim() : 'unknown (not a git checkout)';
  let changes: string | undefined;
  if (head.exitCode === 0) {
    const status = (await git(['status', '--porcelain', '--untracked-files=all'])).stdout;
    if (status.trim() !== '') {
      const diff = (await git(['diff', 'HEAD', '--binary'])).stdout;
      const untracked = (await git(['ls-files', '--others', '--exclude-standard'])).stdout.split('\n').filter(Boolean);
      changes = sha256(`${diff}\n${untracked.map((f) => `${f} ${files[f] ?? 'not a file'}`).join('\n')}`);
    }
  }
  const lock = path.join(src, 'package-lock.json');
  const pkg = JSON.parse(readFileSync(path.join(src, 'package.json'), 'utf8')) as { version?: string };
  return { version: pkg.version ?? 'unknown', commit, ...(changes ? { changes } : {}), lockHash: existsSync(lock) ? sha256(readFileSync(lock)) : '', files };
}

/** How a run names what it tests: `2.0.3 (67e09be1a2b3)` or `2.0.3 (67e09be1a2b3+changes 1f2e3d4c)`. */
export function sutLabel(fp: Pick<SutFingerprint, 'version' | 'commit' | 'changes'>): string {
  return `${fp.version} (${fp.commit.slice(0, 12)}${fp.changes ? `+changes ${fp.changes.slice(0, 8)}` : ''})`;
}

/** What differs between the installed copy and the checkout: files to copy, files to remove, and whether to reinstall. */
export function sutDiff(installed: SutFingerprint | undefined, now: SutFingerprint): { reinstall: string | undefined; changed: string[]; removed: string[] } {
  if (!installed) return { reinstall: 'nothing installed yet', changed: [], removed: [] };
  if (installed.lockHash !== now.lockHash) return { reinstall: 'package-lock.json changed', changed: [], removed: [] };
  const changed = Object.keys(now.files).filter((f) => installed.files[f] !== now.files[f]);
  const removed = Object.keys(installed.files).filter((f) => !(f in now.files));
  return { reinstall: undefined, changed, removed };
}

export interface SyncResult {
  sut: SutState;
  /** current: nothing to do; synced: changed files copied; installed: a whole install (`npm ci`). */
  action: 'current' | 'synced' | 'installed';
  why: string;
  changed: string[];
  removed: string[];
  seconds: number;
}

async function readInstalled(t: Transport, root: string): Promise<SutFingerprint | undefined> {
  const r = await t.exec(['cat', `${root}/${MANIFEST}`], { timeout: 30_000 });
  if (r.exitCode !== 0) return undefined;
  try {
    return JSON.parse(r.stdout) as SutFingerprint;
  } catch {
    return undefined; // a torn manifest: install anew
  }
}

async function writeManifest(t: Transport, root: string, fp: SutFingerprint): Promise<void> {
  await execOk(t, `cat > ${shellQuote([`${root}/${MANIFEST}.tmp`])} && mv ${shellQuote([`${root}/${MANIFEST}.tmp`, `${root}/${MANIFEST}`])}`, { stdin: JSON.stringify(fp) });
}

/**
 * A copy of the checkout `src` at `root` in the lab host, with its dependencies:
 * staged on this machine without .git and node_modules, installed there with
 * `npm ci` (runtime dependencies only, unless `devDependencies`), and unpacked
 * into `root`.
 * So the lab host needs no network or npm registry.
 */
export async function installCopy(t: Transport, put: PutFiles, src: string, root: string, { devDependencies }: { devDependencies: boolean }): Promise<void> {
  const stage = await mkdtemp(path.join(tmpdir(), 'vmsnap-lab-sut-'));
  try {
    const app = path.join(stage, 'app');
    await execa('rsync', ['-a', '--exclude', '.git', '--exclude', 'node_modules', '--exclude', MANIFEST, `${src}/`, `${app}/`]);
    const npm = await execa('npm', ['ci', ...(devDependencies ? [] : ['--omit=dev']), '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: app, reject: false });
    if (npm.exitCode !== 0) throw new Error(`npm ci${devDependencies ? ' (with dev dependencies)' : ''} for VMSnap failed: ${npm.stderr.trim().split('\n').slice(-3).join(' ')}`);
    const tarball = path.join(stage, 'sut.tar.gz');
    await execa('tar', ['-czf', tarball, '-C', app, '.']);
    const upload = `${root}.upload.tar.gz`;
    await put([{ local: tarball, remote: upload }]);
    const q = (p: string) => shellQuote([p]);
    await execOk(t, `set -e; rm -rf ${q(root)}; mkdir -p ${q(root)}; tar -xzf ${q(upload)} -C ${q(root)}; rm -f ${q(upload)}`, { timeout: 300_000 });
  } finally {
    await rm(stage, { recursive: true, force: true });
  }
}

/** A whole install of VMSnap under test: runtime dependencies, then the manifest. */
async function installWhole(t: Transport, put: PutFiles, src: string, root: string, fp: SutFingerprint): Promise<void> {
  await installCopy(t, put, src, root, { devDependencies: false });
  await writeManifest(t, root, fp);
}

/**
 * Makes the copy of the checkout `src` at `root` in the lab host exactly the
 * checkout as it is now. The manifest goes first and comes back last, so a sync
 * cut short is found out next time (no manifest: a whole install).
 */
export async function syncCheckout(t: Transport, put: PutFiles, src: string, root: string): Promise<Omit<SyncResult, 'sut'> & { fp: SutFingerprint }> {
  const started = performance.now();
  const now = await fingerprint(src);
  const { reinstall, changed, removed } = sutDiff(await readInstalled(t, root), now);
  const seconds = () => Math.round((performance.now() - started) / 100) / 10;
  if (reinstall) {
    await installWhole(t, put, src, root, now);
    return { action: 'installed', why: reinstall, changed, removed, seconds: seconds(), fp: now };
  }
  if (changed.length === 0 && removed.length === 0) return { action: 'current', why: 'the same files', changed, removed, seconds: seconds(), fp: now };
  const q = (files: string[]) => shellQuote(files.map((f) => `${root}/${f}`));
  const dirs = [...new Set(changed.map((f) => path.posix.dirname(`${root}/${f}`)))];
  await execOk(t, `set -e; rm -f ${shellQuote([`${root}/${MANIFEST}`])}; mkdir -p ${shellQuote(dirs)}${removed.length ? `; rm -f ${q(removed)}` : ''}`);
  if (changed.length > 0) await put(changed.map((f) => ({ local: path.join(src, f), remote: `${root}/${f}` })));
  await writeManifest(t, root, now);
  return { action: 'synced', why: `${changed.length} file(s) changed, ${removed.length} removed`, changed, removed, seconds: seconds(), fp: now };
}

/** Where VMSnap is installed in the lab host, and its wrapper. */
export function sutPaths(innerRoot: string) {
  return { root: `${innerRoot}/vmsnap`, bin: `${innerRoot}/bin/vmsnap` };
}

/**
 * Runs `fn` on the configured VMSnap source as a checkout on this machine: the
 * checkout itself, or, for a VMSNAP_GIT source, the ref cloned into a temporary
 * folder (the lab host needs no network) that is removed afterwards.
 */
export async function withSutSource<T>(sut: Exclude<LabConfig['sut'], { kind: 'none' }>, fn: (src: string, from: string) => Promise<T>): Promise<T> {
  if (sut.kind === 'src') {
    if (!existsSync(path.join(sut.path, 'vmsnap.js'))) throw new Error(`${sut.path} holds no vmsnap.js: not a VMSnap checkout`);
    return fn(sut.path, sut.path);
  }
  const stage = await mkdtemp(path.join(tmpdir(), 'vmsnap-lab-clone-'));
  try {
    const from = `${sut.url}@${sut.ref}`;
    const src = path.join(stage, 'clone');
    say(`lab: cloning ${from}...`);
    const r = await execa('git', ['clone', '--quiet', '--depth', '1', '--branch', sut.ref, sut.url, src], { reject: false });
    if (r.exitCode !== 0) throw new Error(`cannot clone VMSNAP_GIT=${sut.url} (ref ${sut.ref}): ${r.stderr.trim().split('\n').pop()}`);
    if (!existsSync(path.join(src, 'vmsnap.js'))) throw new Error(`${from} holds no vmsnap.js: not a VMSnap checkout`);
    return await fn(src, from);
  } finally {
    await rm(stage, { recursive: true, force: true });
  }
}

/**
 * VMSnap in the lab host as the configured source is now: installed, synced or
 * found current, with one line that says which and how long it took.
 * SUT=none leaves the lab host alone.
 */
export async function syncSut(t: Transport, put: PutFiles, config: LabConfig, innerRoot: string): Promise<SyncResult> {
  const sut = config.sut;
  if (sut.kind === 'none') return { sut: { kind: 'none', reason: sut.reason }, action: 'current', why: sut.reason, changed: [], removed: [], seconds: 0 };
  return withSutSource(sut, async (src, from) => {
    const { root, bin } = sutPaths(innerRoot);
    const r = await syncCheckout(t, put, src, root);
    if (r.action !== 'current') {
      await execOk(t, `printf '#!/bin/sh\\nexec node ${root}/vmsnap.js "$@"\\n' > ${bin} && chmod 755 ${bin} && ${bin} --help >/dev/null`);
    }
    const label = sutLabel(r.fp);
    const done = { current: `up to date in the lab host (checked in ${r.seconds} s)`, synced: `synced in ${r.seconds} s (${r.why})`, installed: `installed in ${r.seconds} s (${r.why})` };
    say(`lab: VMSnap ${label} ${done[r.action]}`);
    return {
      action: r.action,
      why: r.why,
      changed: r.changed,
      removed: r.removed,
      seconds: r.seconds,
      sut: { kind: 'installed', from, commit: r.fp.changes ? `${r.fp.commit}+changes-${r.fp.changes.slice(0, 8)}` : r.fp.commit, version: r.fp.version, bin, label, syncedAt: new Date().toISOString() },
    };
  });
}
