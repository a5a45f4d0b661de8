import { Command } from 'commander';
import { ConfigError, getLabConfig } from '../config.js';
import { runChecks } from '../doctor/checks.js';
import { LocalTransport } from '../transport/local-transport.js';

const program = new Command('doctor')
  .description('Check that this machine can run the lab; exit 1 when something required is missing')
  .option('--json', 'print the results as JSON instead of lines')
  .parse();
const opts = program.opts<{ json?: boolean }>();

try {
  const config = getLabConfig();
  const t = new LocalTransport();
  const results = await runChecks(t, config, (r) => {
    if (opts.json) return;
    const fix = r.fix ? ` -> ${r.fix}` : '';
    console.log(`${r.status.padEnd(7)} ${r.name.padEnd(18)} ${r.detail}${fix}`);
  });
  if (opts.json) console.log(JSON.stringify(results.map((r) => r.result), null, 2));
  const failed = results.filter((r) => r.check.required && r.result.status !== 'ok');
  if (failed.length > 0) {
    console.error(`doctor: ${failed.length} required check(s) failed: ${failed.map((f) => f.result.name).join(', ')}`);
    process.exitCode = 1;
  }
} catch (error) {
  if (error instanceof ConfigError) {
    for (const line of error.problems) console.error(`doctor: ${line}`);
    process.exitCode = 2;
  } else {
    throw error;
  }
}
