import { expect } from 'chai';
import { CommandTimeoutError, type Transport } from '../../../lib/transport/transport.js';

/** Odd arguments on purpose: each must reach the program as exactly one argument. */
export const ODD_ARGS = [
  "a b'c&d",
  '',
  '*',
  '$HOME',
  '`id`',
  '$(echo no)',
  'line1\nline2',
  'tab\there',
  'back\\slash',
  '"double"',
  '--domains=a,b',
  'ünïcødé ✓',
  ';|<>',
];

/**
 * The behaviour every Transport must have, run against each implementation
 * (local with execa, SSH against a real sshd) so tests never depend on which one.
 */
export function transportContract(name: string, make: () => Promise<Transport>): void {
  describe(`Transport contract: ${name}`, function () {
    this.timeout(30_000);
    let t: Transport;
    before(async () => {
      t = await make();
    });
    after(async () => {
      await t?.close();
    });

    it('passes each argv element through as exactly one argument', async () => {
      const r = await t.exec(['sh', '-c', 'printf "%s\\0" "$@"', 'sh', ...ODD_ARGS]);
      expect(r.exitCode, r.stderr).to.equal(0);
      expect(r.stdout.split('\0').slice(0, -1)).to.deep.equal(ODD_ARGS);
    });

    it("passes a domain named a b'c&d to virsh-like commands as one argument", async () => {
      const r = await t.exec(['sh', '-c', 'echo "$#:$1"', 'sh', "a b'c&d"]);
      expect(r.stdout.trim()).to.equal("1:a b'c&d");
    });

    it('runs a string as a shell script', async () => {
      const r = await t.exec('x=$((20 + 22)); echo "$x" | tr 4 X');
      expect(r).to.include({ exitCode: 0 });
      expect(r.stdout.trim()).to.equal('X2');
    });

    it('returns the exit code, stdout and stderr separately', async () => {
      const r = await t.exec('echo out; echo err >&2; exit 7');
      expect(r.exitCode).to.equal(7);
      expect(r.stdout).to.equal('out\n');
      expect(r.stderr).to.equal('err\n');
    });

    it('reports a missing program with exit code 127', async () => {
      const r = await t.exec(['vmsnap-lab-no-such-program', '--version']);
      expect(r.exitCode).to.equal(127);
    });

    it('sets environment variables, values quoted', async () => {
      const r = await t.exec(['sh', '-c', 'printf "%s" "$LAB_T1|$LAB_T2"'], {
        env: { LAB_T1: "a b'c&d", LAB_T2: '$HOME' },
      });
      expect(r.stdout).to.equal("a b'c&d|$HOME");
    });

    it('feeds stdin and closes it', async () => {
      const r = await t.exec(['wc', '-l'], { stdin: 'one\ntwo\nthree\n' });
      expect(r.stdout.trim()).to.equal('3');
    });

    it('gives the command no stdin when none is given (it does not hang)', async () => {
      const r = await t.exec(['cat'], { timeout: 10_000 });
      expect(r).to.include({ exitCode: 0, stdout: '' });
    });

    it('runs in the given working directory', async () => {
      const r = await t.exec(['pwd'], { cwd: '/tmp' });
      expect(r.stdout.trim()).to.equal('/tmp');
    });

    it('measures the duration', async () => {
      const r = await t.exec(['sleep', '0.3']);
      expect(r.durationMs).to.be.within(250, 10_000);
    });

    it('kills a command at its timeout and rejects with CommandTimeoutError, leaving no process', async () => {
      // A unique sleep in a child of the shell: a timeout must end the whole tree.
      const unique = `60.${process.pid}${Date.now() % 100000}`;
      const started = Date.now();
      let caught: unknown;
      try {
        await t.exec(['sh', '-c', `sleep ${unique}; echo not reached`], { timeout: 1_000 });
      } catch (error) {
        caught = error;
      }
      expect(caught).to.be.instanceOf(CommandTimeoutError);
      expect((caught as CommandTimeoutError).timeoutMs).to.equal(1_000);
      expect(Date.now() - started).to.be.below(15_000);
      // The command must really be gone, not just abandoned; give the kill a moment.
      let left = '';
      for (let i = 0; i < 30; i++) {
        // `6[0]` matches the sleep but not this pgrep's (or its shell's) own command line.
        left = (await t.exec(`pgrep -f 'sleep 6[0]\\.${unique.slice(3)}' || true`)).stdout.trim();
        if (left === '') break;
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(left, `processes still running: ${left}`).to.equal('');
    });
  });
}
