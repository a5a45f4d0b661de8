import { readFile } from 'node:fs/promises';
import { Command } from 'commander';
import { compareTable, type BenchRow } from '../bench/stats.js';
import { runCli } from './cli-kit.js';

// `make bench-compare A=before.json B=after.json`: two `make bench` results
// (artifacts/bench/<date>.json) as one Markdown table, before and after, for a
// closing note or a pull request. It only reads what the two runs measured.
const program = new Command('bench-compare')
  .argument('<before>', 'a make bench result file')
  .argument('<after>', 'a later one')
  .parse();

async function phasesOf(file: string): Promise<BenchRow[]> {
  const doc = JSON.parse(await readFile(file, 'utf8').catch(() => Promise.reject(new Error(`${file}: no such bench result (make bench writes artifacts/bench/<date>.json)`)))) as { phases?: BenchRow[] };
  if (!Array.isArray(doc.phases)) throw new Error(`${file}: not a make bench result (no phases)`);
  return doc.phases;
}

await runCli('bench-compare', async () => {
  const [before, after] = program.args as [string, string];
  console.log(compareTable(await phasesOf(before), await phasesOf(after)));
});
