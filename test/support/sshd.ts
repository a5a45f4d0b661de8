import { mkdtemp, rm, writeFile, chmod } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import type { SshTarget } from '../../lib/transport/ssh-transport.js';
import { done, notYet, pollUntil } from '../../lib/poll.js';

/** A free TCP port on 127.0.0.1, found by binding port 0. */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/**
 * A real OpenSSH server on 127.0.0.1, started for one test file with its own host
 * key, client key and config, and stopped (and its files removed) by `stop()`.
 * Logs in as the current user, so it works as root (CI) and as a normal user.
 */
export class TestSshd {
  private constructor(
    readonly target: SshTarget,
    private readonly dir: string,
    private readonly proc: ResultPromise,
    private readonly logs: string[],
  ) {}

  static async start(): Promise<TestSshd> {
    const dir = await mkdtemp(path.join(tmpdir(), 'vmsnap-lab-sshd-'));
    const key = path.join(dir, 'client_ed25519');
    await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
    await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(dir, 'host_ed25519')]);
    await execa('cp', [`${key}.pub`, path.join(dir, 'authorized_keys')]);
    await chmod(path.join(dir, 'authorized_keys'), 0o600);
    const port = await freePort();
    const config = path.join(dir, 'sshd_config');
    await writeFile(
      config,
      [
        `ListenAddress 127.0.0.1:${port}`,
        `HostKey ${dir}/host_ed25519`,
        `AuthorizedKeysFile ${dir}/authorized_keys`,
        `PidFile ${dir}/sshd.pid`,
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'PermitRootLogin prohibit-password',
        'StrictModes no',
        'UsePAM no',
        // Quiet: a login banner or motd would end up in every command's stdout.
        'PrintMotd no',
        'PrintLastLog no',
        'LogLevel ERROR',
      ].join('\n') + '\n',
    );
    // sshd refuses to start as root without its privilege-separation directory.
    if (process.getuid?.() === 0) await execa('mkdir', ['-p', '/run/sshd']);
    const logs: string[] = [];
    const proc = execa('/usr/sbin/sshd', ['-D', '-e', '-f', config], { reject: false });
    proc.stderr?.on('data', (d: Buffer) => logs.push(d.toString()));
    // Ready when the port accepts connections; a fixed sleep would be a guess.
    try {
      await pollUntil(
        `test sshd on 127.0.0.1:${port} accepting connections`,
        async () => {
          if (proc.exitCode !== null) throw new Error(`test sshd exited with ${proc.exitCode}`);
          const up = await new Promise<boolean>((resolve) => {
            const s = connect(port, '127.0.0.1');
            s.once('connect', () => (s.destroy(), resolve(true)));
            s.once('error', () => resolve(false));
          });
          return up ? done(true) : notYet('connection refused');
        },
        { timeoutMs: 10_000, intervalMs: 100 },
      );
    } catch (error) {
      proc.kill('SIGKILL');
      throw new Error(`test sshd on 127.0.0.1:${port} did not start (${(error as Error).message.split('\n')[0]}): ${logs.join('')}`, { cause: error });
    }
    return new TestSshd({ host: '127.0.0.1', port, user: userInfo().username, keyFile: key }, dir, proc, logs);
  }

  async stop(): Promise<void> {
    this.proc.kill('SIGTERM');
    await this.proc;
    await rm(this.dir, { recursive: true, force: true });
  }
}
