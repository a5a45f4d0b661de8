import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { say } from '../log.js';
import { listCases, summaryLine, type CaseResult, type Counts } from '../report/junit-summary.js';
import { runCli } from './cli-kit.js';

// `make report-compare A=dir B=dir`: whether two report folders of the same
// commit hold the same tests (a merged sharded run against an unsharded one):
// each test exactly once in each, the same set, and the counts side by side,
// with every test whose result differs named (a flaky test is a difference to
// see, not a reason to call the sets different). Exit 1 when the sets differ or
// a test appears twice.
const program = new Command('report-compare')
  .argument('<a>', 'a report folder (JUnit <suite>.xml files)')
  .argument('<b>', 'another report folder')
  .parse();

async function casesOf(dir: string): Promise<CaseResult[]> {
  if (!existsSync(dir)) throw new Error(`${dir}: no such report folder`);
  const files = readdirSync(dir).filter((f) => f.endsWith('.xml')).sort();
  return (await Promise.all(files.map((f) => listCases(path.join(dir, f), path.basename(f, '.xml'))))).flat();
}

const key = (c: CaseResult) => `${c.suite}: ${c.name}`;

function counts(cases: CaseResult[]): Counts {
  return {
    passed: cases.filter((c) => c.status === 'passed').length,
    failed: cases.filter((c) => c.status === 'failed').length,
    skipped: cases.filter((c) => c.status === 'skipped').length,
  };
}

await runCli('report-compare', async () => {
  const [a, b] = program.args.map((d) => path.resolve(d)) as [string, string];
  const [ca, cb] = [await casesOf(a), await casesOf(b)];
  let problems = 0;
  for (const [dir, cases] of [
    [a, ca],
    [b, cb],
  ] as const) {
    const seen = new Map<string, number>();
    for (const c of cases) seen.set(key(c), (seen.get(key(c)) ?? 0) + 1);
    for (const [k, n] of seen) {
      if (n === 1) continue;
      say(`TWICE in ${path.relative(process.cwd(), dir)}: ${k} (${n} times)`);
      problems += 1;
    }
  }
  const [ma, mb] = [new Map(ca.map((c) => [key(c), c])), new Map(cb.map((c) => [key(c), c]))];
  for (const [k, other, side] of [...[...ma.keys()].map((k) => [k, mb, 'A'] as const), ...[...mb.keys()].map((k) => [k, ma, 'B'] as const)]) {
    if (other.has(k)) continue;
    say(`ONLY in ${side}: ${k}`);
    problems += 1;
  }
  const differ = [...ma].filter(([k, c]) => mb.has(k) && mb.get(k)?.status !== c.status);
  for (const [k, c] of differ) say(`result differs: ${k}: A ${c.status}, B ${mb.get(k)?.status}${mb.get(k)?.message ? ` (${mb.get(k)?.message})` : c.message ? ` (${c.message})` : ''}`);
  say(`A ${path.relative(process.cwd(), a)}: ${ca.length} tests, ${summaryLine(counts(ca))}`);
  say(`B ${path.relative(process.cwd(), b)}: ${cb.length} tests, ${summaryLine(counts(cb))}`);
  say(problems === 0 ? `the same ${ma.size} tests, each once in both; ${differ.length} with a different result` : `${problems} difference(s) in the set of tests`);
  if (problems > 0) process.exitCode = 1;
});
