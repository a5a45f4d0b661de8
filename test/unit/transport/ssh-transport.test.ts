import { expect } from 'chai';
import { SshTransport, buildRemoteCommand } from '../../../lib/transport/ssh-transport.js';
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
});

describe('buildRemoteCommand', () => {
  it('rejects an environment variable name the remote shell would misread', () => {
    expect(() => buildRemoteCommand(['true'], { env: { 'A;rm': 'x' } })).to.throw(/invalid environment variable name/);
  });

  it('bounds the remote command with timeout(1) at the requested deadline', () => {
    expect(buildRemoteCommand(['true'], { timeout: 1_500 })).to.match(/^timeout --kill-after\\?=2 2s true$/);
  });
});
