import path from 'node:path';
import { Command } from 'commander';
import { say } from '../log.js';
import { writeRunHtml } from '../report/html-report.js';
import { summaryLine } from '../report/junit-summary.js';
import { mergeShardReports } from '../report/shard-merge.js';
import { runCli } from './cli-kit.js';

// `make report-merge SHARDS="dir1 dir2" OUT=dir`: the report folders of one run's
// shards (make test SHARD=i/n) merged into one that reads as an unsharded run's
// (lib/report/shard-merge.ts), ending with the same one-line count.
const program = new Command('report-merge')
  .argument('<dirs...>', "the shards' report folders")
  .requiredOption('--out <dir>', 'the merged report folder')
  .parse();

await runCli('report-merge', async () => {
  const out = path.resolve((program.opts() as { out: string }).out);
  const merged = await mergeShardReports(program.args.map((d) => path.resolve(d)), out);
  for (const [suite, c] of Object.entries(merged.perSuite)) say(`  ${`${suite}.xml`.padEnd(18)} ${summaryLine(c)}`);
  const html = await writeRunHtml(out, `vmsnap-lab run (${program.args.length} shards merged)`);
  say(`report: ${path.relative(process.cwd(), out)}/summary.json${html ? `, ${path.relative(process.cwd(), html)}` : ''}`);
  console.log(summaryLine(merged.counts));
});
