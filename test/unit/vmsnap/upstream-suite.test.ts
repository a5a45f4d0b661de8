import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { LocalTransport } from '../../../lib/transport/local-transport.js';
import type { Command, ExecOptions, ExecResult, Transport } from '../../../lib/transport/transport.js';
import { parseVitestJson, runUpstream, upstreamScript, UPSTREAM_TEST_DIR } from '../../../lib/vmsnap/upstream-suite.js';

/**
 * Runs the suite's command line for real on this machine, but answers the
 * libvirt and leftover-folder commands itself: their suite's leftovers are
 * removed from the lab host's libvirt, never from this machine's.
 */
class LabHostStandIn implements Transport {
  readonly name = 'lab host stand-in';
  readonly libvirtCalls: string[][] = [];
  private readonly local = new LocalTransport();
  constructor(private readonly guests: string[]) {}
  async exec(command: Command, options?: ExecOptions): Promise<ExecResult> {
    if (Array.isArray(command) && command[0] === 'virsh') {
      this.libvirtCalls.push([...command]);
      const list = command.includes('list');
      return { exitCode: 0, stdout: list ? `${this.guests.join('\n')}\n\n` : '', stderr: '', durationMs: 1 };
    }
    if (Array.isArray(command) && command.includes(UPSTREAM_TEST_DIR)) return { exitCode: 1, stdout: '', stderr: '', durationMs: 1 };
    return this.local.exec(command, options);
  }
  async close(): Promise<void> {}
}

describe("VMSnap's own integration suite (bench)", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'upstream-test-'));
  });
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  it('finds the checkout\'s "test:integration" script, and says why when there is none', async () => {
    expect(upstreamScript(dir)).to.deep.equal({ missing: `${dir} has no test/integration` });
    await mkdir(path.join(dir, 'test', 'integration'), { recursive: true });
    expect(upstreamScript(dir)).to.deep.equal({ missing: `${dir}/package.json cannot be read` });
    await writeFile(path.join(dir, 'package.json'), JSON.stringify({ scripts: { test: 'vitest' } }));
    expect(upstreamScript(dir)).to.deep.equal({ missing: `${dir}/package.json has no "test:integration" script` });
    await writeFile(path.join(dir, 'package.json'), JSON.stringify({ scripts: { 'test:integration': 'vitest run test/integration/tests' } }));
    expect(upstreamScript(dir)).to.deep.equal({ script: 'vitest run test/integration/tests' });
  });

  it("reads vitest's JSON counts (pending and todo are not run), and refuses another file", () => {
    expect(parseVitestJson(JSON.stringify({ numTotalTests: 50, numPassedTests: 46, numFailedTests: 1, numPendingTests: 2, numTodoTests: 1 }))).to.deep.equal({ total: 50, passed: 46, failed: 1, skipped: 3 });
    expect(() => parseVitestJson('{"tests": []}')).to.throw('not a vitest JSON report');
  });

  it('runs the script from the checkout with node_modules/.bin first on the PATH, our reporters added, and removes only its own guests', async () => {
    // A stand-in for vitest: records its arguments and writes a JSON report where --outputFile.json says.
    await mkdir(path.join(dir, 'node_modules', '.bin'), { recursive: true });
    const fake = path.join(dir, 'node_modules', '.bin', 'vitest');
    await writeFile(
      fake,
      `#!/bin/sh\nprintf '%s\\n' "$PWD" "$@" > args.txt\nfor a in "$@"; do case "$a" in --outputFile.json=*) printf '%s' '{"numTotalTests":3,"numPassedTests":2,"numFailedTests":1}' > "\${a#--outputFile.json=}";; esac; done\nexit 1\n`,
      { mode: 0o755 },
    );
    const t = new LabHostStandIn(['vmsnap-lab-ab12cd-full', 'vmsnap-test-status-machine']);
    const r = await runUpstream(t, dir, "vitest run test/integration/tests --testTimeout=300000 --no-file-parallelism");
    expect(r).to.include({ total: 3, passed: 2, failed: 1, skipped: 0, exitCode: 1, report: '{"numTotalTests":3,"numPassedTests":2,"numFailedTests":1}' });
    expect(r.seconds).to.be.greaterThan(0);
    const args = (await readFile(path.join(dir, 'args.txt'), 'utf8')).trim().split('\n');
    expect(args[0]).to.equal(dir);
    expect(args.slice(1)).to.deep.equal(['run', 'test/integration/tests', '--testTimeout=300000', '--no-file-parallelism', '--reporter=dot', '--reporter=json', `--outputFile.json=${dir}/.vmsnap-lab-vitest.json`]);
    const removed = t.libvirtCalls.filter((c) => c.includes('destroy') || c.includes('undefine')).map((c) => c.at(-1) === '--checkpoints-metadata' ? c.at(-2) : c.at(-1));
    // Before and after the run: their guest twice each time, ours never.
    expect(removed).to.deep.equal(Array(4).fill('vmsnap-test-status-machine'));
  });
});
