import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { startReadyChild } from '../../support/ready-child.js';
import { CleanupError, CleanupRegistry } from '../../../lib/cleanup/cleanup-registry.js';

describe('CleanupRegistry', () => {
  it('releases in reverse order of registration', async () => {
    const r = new CleanupRegistry();
    const order: string[] = [];
    for (const name of ['network', 'disk', 'domain']) {
      r.register(name, async () => {
        order.push(name);
      });
    }
    const report = await r.releaseAll();
    expect(order).to.deep.equal(['domain', 'disk', 'network']);
    expect(report).to.deep.equal({ released: ['domain', 'disk', 'network'], failed: [] });
    expect(r.pending).to.deep.equal([]);
  });

  it('reports a failing step and still releases the others', async () => {
    const r = new CleanupRegistry();
    const done: string[] = [];
    r.register('a', async () => void done.push('a'));
    r.register('b', async () => {
      throw new Error('virsh undefine failed');
    });
    r.register('c', async () => void done.push('c'));
    const report = await r.releaseAll();
    expect(done).to.deep.equal(['c', 'a']);
    expect(report.failed).to.deep.equal([{ name: 'b', error: 'virsh undefine failed' }]);
  });

  it('bounds each step in time and reports the one that hung', async () => {
    const r = new CleanupRegistry();
    r.register('ok', async () => {});
    r.register('hangs', () => new Promise<void>(() => {}), { timeoutMs: 100 });
    const started = Date.now();
    const report = await r.releaseAll();
    expect(Date.now() - started).to.be.below(2_000);
    expect(report.released).to.deep.equal(['ok']);
    expect(report.failed).to.deep.equal([{ name: 'hangs', error: 'not released within 100ms' }]);
  });

  it('releaseAllOrThrow throws a CleanupError listing what was left behind', async () => {
    const r = new CleanupRegistry();
    r.register('volume v1', async () => {
      throw new Error('busy');
    });
    let caught: unknown;
    try {
      await r.releaseAllOrThrow();
    } catch (error) {
      caught = error;
    }
    expect(caught).to.be.instanceOf(CleanupError);
    expect((caught as Error).message).to.equal('cleanup left 1 resource(s) behind:\n  - volume v1: busy');
  });

  it('lets an owner release one resource early, once, and then not again at the end', async () => {
    const r = new CleanupRegistry();
    let count = 0;
    const reg = r.register('vm', async () => void count++);
    await Promise.all([reg.release(), reg.release()]);
    await r.releaseAll();
    expect(count).to.equal(1);
  });

  it('forgets a resource that is already gone', async () => {
    const r = new CleanupRegistry();
    let ran = false;
    r.register('gone', async () => void (ran = true)).forget();
    expect((await r.releaseAll()).released).to.deep.equal([]);
    expect(ran).to.equal(false);
  });

  it('shares one run between concurrent releaseAll calls (teardown racing a signal)', async () => {
    const r = new CleanupRegistry();
    let count = 0;
    r.register('x', async () => {
      await new Promise((res) => setTimeout(res, 50));
      count++;
    });
    const [a, b] = await Promise.all([r.releaseAll(), r.releaseAll()]);
    expect(count).to.equal(1);
    expect(a).to.equal(b);
  });
});

describe('releaseOnSignals (a real child process, really signalled)', function () {
  this.timeout(30_000);
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'vmsnap-lab-signal-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    it(`on ${signal} releases every resource newest first and exits ${code}`, async () => {
      const out = path.join(dir, 'released.txt');
      // The child prints "ready" once its resources are registered.
      const { child: proc } = await startReadyChild('cleanup-child.ts', [out]);
      proc.kill(signal);
      const result = await proc;
      expect(result.exitCode, result.stderr).to.equal(code);
      expect((await readFile(out, 'utf8')).trim().split('\n')).to.deep.equal(['third', 'second', 'first']);
      expect(result.stderr).to.include(`${signal}: released 3, failed 0`);
    });
  }
});
