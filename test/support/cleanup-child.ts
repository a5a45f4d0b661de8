// A process that registers three resources and waits to be signalled; the test
// checks they are released newest first. Each release appends to the file in argv.
import { appendFile } from 'node:fs/promises';
import { CleanupRegistry } from '../../lib/cleanup/cleanup-registry.js';
import { releaseOnSignals } from '../../lib/cleanup/signals.js';

const out = process.argv[2] as string;
const registry = new CleanupRegistry();
releaseOnSignals(registry);
for (const name of ['first', 'second', 'third']) {
  registry.register(name, () => appendFile(out, `${name}\n`));
}
console.log('ready');
setInterval(() => {}, 1_000);
