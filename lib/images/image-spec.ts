import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../config.js';

/** One artifact `make images` produces, and everything that shapes it. */
export interface ImageSpec {
  /** `guest-debian`, `guest-alpine` or `lab-host-<suite>`: the start of the artifact's name. */
  name: string;
  /** Folders and files (relative to the project root) whose content shapes the artifact. */
  inputs: string[];
  /** Other inputs: suite, pinned versions, keys. Part of the hash, recorded in the manifest. */
  params: Record<string, string>;
}

/** Every file under the given inputs, sorted, relative to `root`. */
export function inputFiles(inputs: readonly string[], root = PROJECT_ROOT): string[] {
  const files: string[] = [];
  const walk = (rel: string) => {
    const abs = path.join(root, rel);
    if (statSync(abs).isDirectory()) {
      for (const entry of readdirSync(abs).sort()) walk(path.join(rel, entry));
    } else {
      files.push(rel);
    }
  };
  for (const input of inputs) walk(input);
  return [...new Set(files)].sort();
}

/**
 * The hash in an artifact's name: sha256 over every input file's path and content
 * and the params, first 12 hex digits. Any change to a template, a script or a
 * pinned version gives a new name, so a stale artifact is never taken for current.
 */
export function inputHash(spec: ImageSpec, root = PROJECT_ROOT): string {
  const h = createHash('sha256');
  h.update(`name\0${spec.name}\0`);
  for (const file of inputFiles(spec.inputs, root)) {
    h.update(`file\0${file}\0`);
    h.update(readFileSync(path.join(root, file)));
    h.update('\0');
  }
  for (const key of Object.keys(spec.params).sort()) h.update(`param\0${key}\0${spec.params[key]}\0`);
  return h.digest('hex').slice(0, 12);
}
