import { existsSync, readdirSync } from 'node:fs';
import { readFile, rename, rm, writeFile, mkdir } from 'node:fs/promises';
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
