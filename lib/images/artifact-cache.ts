import { existsSync, readdirSync } from 'node:fs';
import { copyFile, link, readFile, readdir, rename, rm, stat, utimes, writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';

/**
 * Artifacts live in `<imagesDir>/<name>-<hash>/`, built in a temporary folder
 * beside it and renamed into place only when complete, with `info.json` written
 * last inside it. So an interrupted build leaves only a `.tmp-*` folder, which
 * never looks finished and is swept by the next build.
 */
export interface CacheDecision {
  action: 'up-to-date' | 'build';
  /** Why: shown to the user. */
  reason: string;
  dir: string;
  /** Finished artifacts of the same name with another hash: replaced after a good build. */
  stale: string[];
}

export const INFO_FILE = 'info.json';

export function artifactDir(imagesDir: string, name: string, hash: string): string {
  return path.join(imagesDir, `${name}-${hash}`);
}

export function isComplete(dir: string, requiredFiles: readonly string[]): boolean {
  return [INFO_FILE, ...requiredFiles].every((f) => existsSync(path.join(dir, f)));
}

export function decide(
  imagesDir: string,
  name: string,
  hash: string,
  requiredFiles: readonly string[],
  force: boolean,
): CacheDecision {
  const dir = artifactDir(imagesDir, name, hash);
  const same = new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-[0-9a-f]{12}$`);
  const stale = existsSync(imagesDir)
    ? readdirSync(imagesDir)
        .filter((e) => same.test(e) && e !== path.basename(dir))
        .map((e) => path.join(imagesDir, e))
    : [];
  if (force) return { action: 'build', reason: 'FORCE=1', dir, stale };
  if (isComplete(dir, requiredFiles)) return { action: 'up-to-date', reason: `up to date (${path.basename(dir)})`, dir, stale };
  if (existsSync(dir)) return { action: 'build', reason: `${path.basename(dir)} is incomplete`, dir, stale };
  const why = stale.length > 0 ? `inputs changed (had ${stale.map((s) => path.basename(s)).join(', ')})` : 'not built yet';
  return { action: 'build', reason: why, dir, stale };
}

/** A fresh temporary folder for building `dir`, after sweeping leftovers of interrupted builds. */
export async function startBuild(dir: string): Promise<string> {
  const parent = path.dirname(dir);
  await mkdir(parent, { recursive: true });
  for (const e of readdirSync(parent)) {
    if (e.startsWith(`.tmp-${path.basename(dir)}-`)) await rm(path.join(parent, e), { recursive: true, force: true });
  }
  const tmp = path.join(parent, `.tmp-${path.basename(dir)}-${process.pid}`);
  await mkdir(tmp);
  return tmp;
}

/** Writes info.json into the finished temporary folder and renames it into place. */
export async function finishBuild(tmp: string, dir: string, info: object): Promise<void> {
  await writeFile(path.join(tmp, INFO_FILE), `${JSON.stringify(info, null, 2)}\n`);
  await rm(dir, { recursive: true, force: true });
  await rename(tmp, dir);
}

export async function readInfo<T>(dir: string): Promise<T> {
  return JSON.parse(await readFile(path.join(dir, INFO_FILE), 'utf8')) as T;
}

/**
 * The machine-wide image cache (`~/.cache/vmsnap-lab/images/<name>-<hash>/`,
 * like the box cache): every checkout on this machine, CI's fresh clones among
 * them, finds an artifact another one built from the same inputs, instead of
 * building it again (one to four minutes each). The hash covers every input, so
 * a folder of that name is the same artifact. Files are hard links where the two
 * folders share a filesystem (nothing writes an artifact in place: guests boot
 * overlays, vagrant copies the box), copies elsewhere.
 */
export async function linkOrCopyDir(from: string, to: string): Promise<void> {
  await mkdir(to, { recursive: true });
  for (const f of await readdir(from)) {
    const [src, dst] = [path.join(from, f), path.join(to, f)];
    await rm(dst, { force: true });
    await link(src, dst).catch(() => copyFile(src, dst));
  }
}

/** How many artifacts of one name the machine cache keeps (the newest used): today's and the one before. */
export const MACHINE_CACHE_KEEP = 2;

/** Copies a finished artifact out of the machine cache into `dir`, if the cache has it whole. True when it did. */
export async function takeFromMachineCache(machineDir: string, dir: string, requiredFiles: readonly string[]): Promise<boolean> {
  const cached = path.join(machineDir, path.basename(dir));
  if (!isComplete(cached, requiredFiles)) return false;
  const tmp = await startBuild(dir);
  try {
    await linkOrCopyDir(cached, tmp);
    // info.json last, as a build writes it: a copy cut short never looks finished.
    await rm(path.join(tmp, INFO_FILE), { force: true });
    await copyFile(path.join(cached, INFO_FILE), path.join(tmp, INFO_FILE));
  } catch (error) {
    await rm(tmp, { recursive: true, force: true });
    throw error;
  }
  await rm(dir, { recursive: true, force: true });
  await rename(tmp, dir);
  // Its use keeps it among the newest.
  const now = new Date();
  await utimes(cached, now, now);
  return true;
}

/**
 * Puts a finished artifact into the machine cache (a temporary folder renamed
 * into place, info.json last), then drops that name's older artifacts beyond
 * MACHINE_CACHE_KEEP. Returns the folders it dropped.
 */
export async function storeInMachineCache(machineDir: string, dir: string, name: string): Promise<string[]> {
  const cached = path.join(machineDir, path.basename(dir));
  const tmp = await startBuild(cached);
  try {
    await linkOrCopyDir(dir, tmp);
  } catch (error) {
    await rm(tmp, { recursive: true, force: true });
    throw error;
  }
  await rm(cached, { recursive: true, force: true });
  await rename(tmp, cached);
  const same = new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-[0-9a-f]{12}$`);
  const all = await Promise.all(
    readdirSync(machineDir)
      .filter((e) => same.test(e))
      .map(async (e) => ({ dir: path.join(machineDir, e), mtime: (await stat(path.join(machineDir, e))).mtimeMs })),
  );
  const dropped = all
    .sort((a, b) => b.mtime - a.mtime)
    .slice(MACHINE_CACHE_KEEP)
    .map((e) => e.dir)
    .filter((d) => d !== cached);
  for (const d of dropped) await rm(d, { recursive: true, force: true });
  return dropped;
}
