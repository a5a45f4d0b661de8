import { expect } from 'chai';
import { GatedTransport, InterruptedError } from '../../../lib/transport/gated-transport.js';
import type { Command, ExecResult, Transport } from '../../../lib/transport/transport.js';

/** Records what reaches it: the gate is the thing under test here. */
class Recorder implements Transport {
  readonly name = 'recorder';
  readonly ran: string[] = [];
  async exec(command: Command): Promise<ExecResult> {
    this.ran.push(String(command));
    return { exitCode: 0, stdout: '', stderr: '', durationMs: 0 };
  }
  async close(): Promise<void> {}
}

describe('GatedTransport', () => {
  it('passes commands through while open', async () => {
    const inner = new Recorder();
    await new GatedTransport(inner).exec('a');
    expect(inner.ran).to.deep.equal(['a']);
  });
  it('once shut, refuses the interrupted test but runs cleanup, also commands started deep inside it', async () => {
    const inner = new Recorder();
    const gate = new GatedTransport(inner);
    gate.shut('interrupted by SIGINT');
    let refused: unknown;
    await gate.exec('define a guest').catch((e: unknown) => (refused = e));
    expect(refused).to.be.instanceOf(InterruptedError);
    expect((refused as Error).message).to.equal('interrupted by SIGINT: not running define a guest');
    await gate.exempt(async () => {
      await new Promise((r) => setTimeout(r, 5));
      await Promise.all([gate.exec('destroy'), (async () => gate.exec('undefine'))()]);
    });
    expect(inner.ran).to.deep.equal(['destroy', 'undefine']);
    expect(gate.shutBecause).to.equal('interrupted by SIGINT');
  });
});
