import { expect } from 'chai';
import { parse } from 'shell-quote';
import type { Command, ExecOptions, ExecResult, Transport } from '../../../lib/transport/transport.js';
import { parseSizeKiB } from '../../../lib/vmsnap/fixtures.js';
import { VMSnapRunner } from '../../../lib/vmsnap/vmsnap-runner.js';

/** Records commands instead of running them: the runner's own logic is what is tested. */
class RecordingTransport implements Transport {
  readonly name = 'recording';
  readonly commands: Command[] = [];
  constructor(private readonly result: Partial<ExecResult> = {}) {}
  async exec(command: Command, _options?: ExecOptions): Promise<ExecResult> {
    this.commands.push(command);
    return { exitCode: 0, stdout: '', stderr: '', durationMs: 1, ...this.result };
  }
  async close(): Promise<void> {}
}

describe('VMSnapRunner', () => {
  const runner = new VMSnapRunner(new RecordingTransport(), '/lab/tmp/run', '/usr/bin/node', '/lab/vmsnap/vmsnap.js');
  const argv = (line: string) => parse(line) as string[];

  it('runs node on vmsnap.js by absolute path, with the run’s TMPDIR and no colours', () => {
    const a = argv(runner.commandLine(['--domains=a b', '--status']));
    expect(a[0]).to.equal('/usr/bin/env');
    expect(a).to.include('TMPDIR=/lab/tmp/run');
    expect(a).to.include('NO_COLOR=1');
    expect(a.slice(-4)).to.deep.equal(['/usr/bin/node', '/lab/vmsnap/vmsnap.js', '--domains=a b', '--status']);
  });

  it('keeps odd domain names one argument each', () => {
    const a = argv(runner.commandLine(["--domains=x&y'z $HOME"]));
    expect(a.at(-1)).to.equal("--domains=x&y'z $HOME");
  });

  it('puts only the node process under a ticking fake clock, optionally sped up', () => {
    const a = argv(runner.commandLine(['--backup'], { fakeNow: '2026-03-15 12:00:00', clockSpeed: 10 }));
    expect(a).to.include('FAKETIME_ONLY_CMDS=node');
    const i = a.indexOf('/usr/bin/faketime');
    expect(a.slice(i, i + 3)).to.deep.equal(['/usr/bin/faketime', '-f', '@2026-03-15 12:00:00 x10']);
    expect(argv(runner.commandLine(['--status'], { clockSpeed: 50 }))).to.include('+0 x50');
  });

  it('sets PATH only when asked, and runs as another user through setpriv', () => {
    expect(argv(runner.commandLine([])).some((x) => x.startsWith('PATH='))).to.equal(false);
    const a = argv(runner.commandLine([], { path: '/p/bin', user: { uid: 65534, gid: 65534, groups: [120], home: '/h' } }));
    expect(a).to.include('PATH=/p/bin');
    expect(a).to.include('HOME=/h');
    expect(a).to.include('LIBVIRT_DEFAULT_URI=qemu:///system');
    const i = a.indexOf('/usr/bin/setpriv');
    expect(a.slice(i, i + 5)).to.deep.equal(['/usr/bin/setpriv', '--reuid=65534', '--regid=65534', '--groups=120', '--']);
  });

  it('returns the exit code and joins stdout and stderr as output', async () => {
    const t = new RecordingTransport({ exitCode: 4, stdout: 'Missing dependencies (virsh)', stderr: 'x' });
    const r = await new VMSnapRunner(t, '/tmp/r').run(['--status']);
    expect(r.exitCode).to.equal(4);
    expect(r.output).to.include('Missing dependencies (virsh)');
    expect(String(t.commands[0])).to.match(/^cd \/ && .* <\/dev\/null$/);
  });

  it('reads the plan’s sizes', () => {
    expect(parseSizeKiB('1MB')).to.equal(1024);
    expect(parseSizeKiB('512KB')).to.equal(512);
    expect(parseSizeKiB(64)).to.equal(64);
    expect(() => parseSizeKiB('lots')).to.throw(/bad size/);
  });
});
