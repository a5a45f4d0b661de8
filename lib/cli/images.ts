import { Command } from 'commander';
import { ConfigError, getLabConfig } from '../config.js';
import { buildImages } from '../images/images.js';

const program = new Command('images')
  .description('Build the test-guest image and the lab-host box under artifacts/images (cached by input hash)')
  .option('--force', 'rebuild even when up to date (make images FORCE=1)')
  .option('--guest-only', 'only the test-guest image')
  .parse();
const opts = program.opts<{ force?: boolean; guestOnly?: boolean }>();

const started = performance.now();
try {
  const config = getLabConfig();
  const m = await buildImages(config, { force: Boolean(opts.force) || process.env.FORCE === '1', guestOnly: opts.guestOnly });
  const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;
  const sizes = (files: Record<string, { bytes: number }>) => Object.entries(files).map(([f, s]) => `${f} ${mib(s.bytes)}`).join(', ');
  console.log(`guest:    ${m.guest.name}-${m.guest.hash} (${m.guest.source}; ${sizes(m.guest.files)})`);
  if (m.labHost) console.log(`lab host: ${m.labHost.name}-${m.labHost.hash} (${sizes(m.labHost.files)})`);
  console.log(`images: done in ${((performance.now() - started) / 1000).toFixed(1)}s`);
} catch (error) {
  if (error instanceof ConfigError) {
    for (const line of error.problems) console.error(`images: ${line}`);
  } else {
    console.error(`images: ${(error as Error).message}`);
  }
  process.exitCode = 1;
}
