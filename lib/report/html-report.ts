import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { merge } from 'mochawesome-merge';
import marge from 'mochawesome-report-generator';

/**
 * One HTML page for the whole run, `index.html`: every suite's mochawesome JSON
 * (written next to its JUnit file) merged and rendered by mochawesome's own
 * tools. The per-suite pages stay. Returns the page, or undefined when no suite
 * wrote a report (a run stopped before its first suite).
 */
export async function writeRunHtml(reportDir: string, title: string): Promise<string | undefined> {
  const files = (await readdir(reportDir))
    .filter((f) => f.endsWith('.json') && existsSync(path.join(reportDir, f.replace(/\.json$/, '.xml'))))
    .map((f) => path.join(reportDir, f));
  if (files.length === 0) return undefined;
  const report = await merge({ files });
  await marge.create(report, { reportDir, reportFilename: 'index', reportTitle: title, inline: true, charts: false, code: false, saveJson: false });
  return path.join(reportDir, 'index.html');
}
