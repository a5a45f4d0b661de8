import { Command } from 'commander';
import { ConfigError, getLabConfig } from '../config.js';
import { runChecks } from '../doctor/checks.js';
import { LocalTransport } from '../transport/local-transport.js';

const program = new Command('doctor')
  .description('Check that this machine can run the lab; exit 1 when something required is missing')
  .option('--json', 'print the results as JSON instead of lines')
  .option('--only <names>', 'run only these checks (comma-separated names, e.g. "lab host,lab-host box")')
  .parse();
const opts = program.opts<{ json?: boolean; only?: string }>();

try {
  const config = getLabConfig();
  const t = new LocalTransport();
  const only = opts.only?.split(',').map((n) => n.trim());
  const results = await runChecks(t, config, only, (r) => {
    if (opts.json) return;
    const fix = r.fix ? ` -> ${r.fix}` : '';
    console.log(`${r.status.padEnd(7)} ${r.name.padEnd(18)} ${r.detail}${fix}`);
  });
  if (opts.json) console.log(JSON.stringify(results.map((r) => r.result), null, 2));
  // `info` is fine: nothing to fix (no lab up yet, KVM not usable so TCG is used).
  const failed = results.filter((r) => r.check.required && r.result.status === 'missing');
  if (failed.length > 0) {
    console.error(`doctor: ${failed.length} required check(s) failed: ${failed.map((f) => f.result.name).join(', ')}`);
    process.exitCode = 1;
  }
} catch (error) {
  const lines = error instanceof ConfigError ? error.problems : [(error as Error).message.split('\n')[0] as string];
  for (const line of lines) console.error(`doctor: ${line}`);
  process.exitCode = 2;
}
