import { readFileSync, readdirSync, existsSync } from 'node:fs';
import path from 'node:path';

const DEBIAN_SUITE = /^(bookworm|trixie|forky|sid|stable|testing|unstable)$/;

/**
 * The Debian mirror this machine's apt already uses, so offline builds fetch from
 * the same place as `apt-get` and no mirror host is ever written into the project.
 * Reads deb822 `.sources` files and one-line `sources.list` entries; returns the
 * first URI serving a Debian suite (not -security, not third-party repositories).
 */
export function findDebianMirror(aptDir = '/etc/apt'): string | undefined {
  const files: string[] = [];
  const list = path.join(aptDir, 'sources.list');
  if (existsSync(list)) files.push(list);
  const dir = path.join(aptDir, 'sources.list.d');
  if (existsSync(dir)) {
    for (const f of readdirSync(dir).sort()) {
      if (f.endsWith('.sources') || f.endsWith('.list')) files.push(path.join(dir, f));
    }
  }
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    const found = file.endsWith('.sources') ? fromDeb822(text) : fromOneLine(text);
    if (found) return found.replace(/\/+$/, '');
  }
  return undefined;
}

function fromDeb822(text: string): string | undefined {
  for (const stanza of text.split(/\n\s*\n/)) {
    const field = (name: string) =>
      stanza.match(new RegExp(`^${name}:\\s*(.+)$`, 'mi'))?.[1]?.trim().split(/\s+/) ?? [];
    if (field('Enabled')[0] === 'no' || !field('Types').includes('deb')) continue;
    if (field('Suites').some((s) => DEBIAN_SUITE.test(s))) return field('URIs')[0];
  }
  return undefined;
}

function fromOneLine(text: string): string | undefined {
  for (const line of text.split('\n')) {
    const m = line.trim().match(/^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)/);
    if (m && DEBIAN_SUITE.test(m[2] as string)) return m[1];
  }
  return undefined;
}
