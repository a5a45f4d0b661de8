import { expect } from 'chai';
import { SshTransport, buildRemoteCommand } from '../../../lib/transport/ssh-transport.js';
import { FrozenProxy } from '../../support/frozen-proxy.js';
import { startReadyChild } from '../../support/ready-child.js';
import { TestSshd } from '../../support/sshd.js';
import { transportContract } from './transport-contract.js';

describe('SshTransport against a real OpenSSH server on 127.0.0.1', function () {
  this.timeout(30_000);
  let sshd: TestSshd;
  before(async () => {
    sshd = await TestSshd.start();
  });
  after(async () => {
    await sshd?.stop();
  });

  transportContract('ssh (node-ssh)', async () => new SshTransport(sshd.target).connect());

  it('fails to connect with one clear error naming the target and key', async () => {
    const t = new SshTransport({ ...sshd.target, keyFile: '/nonexistent/key' });
    let message = '';
    try {
      await t.connect({ attempts: 1 });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).to.match(/^ssh .*@127\.0\.0\.1:\d+: cannot connect with key \/nonexistent\/key/);
  });

  it('lets the process exit after close() when the host stopped answering', async () => {
    // The symptom this guards: a finished soak that never exited, because its
    // half-closed socket to a hung lab host waited forever for the host's FIN.
    const proxy = await FrozenProxy.start(sshd.target.port);
    const target = JSON.stringify({ ...sshd.target, port: proxy.port });
    let proc: Awaited<ReturnType<typeof startReadyChild>>['child'] | undefined;
    try {
      ({ child: proc } = await startReadyChild('ssh-close-child.ts', [target], 25_000));
      proxy.freeze();
      proc.stdin.write('close\n');
      // Before the fix the child outlived this bound by minutes (the keepalive
      // gives up after 120 s); after it, close() drops the socket in 2 s.
      const r = await proc;
      expect(r.timedOut, `the child was still running after 25 s; it said: ${r.stdout}`).to.equal(false);
      expect(r.stdout).to.include('closed');
      expect(r.exitCode, r.stderr).to.equal(0);
    } finally {
      proc?.kill('SIGKILL');
      await proxy.stop();
    }
  });
});

describe('buildRemoteCommand', () => {
  it('rejects an environment variable name the remote shell would misread', () => {
    expect(() => buildRemoteCommand(['true'], { env: { 'A;rm': 'x' } })).to.throw(/invalid environment variable name/);
  });

  it('bounds the remote command with timeout(1) at the requested deadline', () => {
    expect(buildRemoteCommand(['true'], { timeout: 1_500 })).to.match(/^timeout --kill-after\\?=2 2s true$/);
  });
});
