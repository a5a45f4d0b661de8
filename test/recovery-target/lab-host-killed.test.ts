import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { expect } from 'chai';
import { getLabConfig } from '../../lib/config.js';
import { labHostBootId } from '../../lib/lab/lab-health.js';
import { outerNames } from '../../lib/lab/lab-paths.js';
import { poolVolumes } from '../../lib/lab/outer-libvirt.js';
import { LocalTransport } from '../../lib/transport/local-transport.js';
import { execOk, VIRSH_URI } from '../../lib/transport/transport.js';
import { lab } from '../support/lab-fixture.js';

// Not a suite on its own: test/recovery/lab-host-death.test.ts runs it through
// the runner that replaces a dead lab host. Its second test destroys the lab
// host from this machine (`virsh destroy` on the outer libvirt: the lab host
// stops as a crashed one does), the first time only; RECOVERY_MARK records
// what the dead lab host was, for the checks afterwards.

const mark = process.env.RECOVERY_MARK ?? '';
const outer = new LocalTransport();
const virshOut = async (args: string[]) => (await execOk(outer, ['virsh', ...VIRSH_URI, ...args])).stdout.trim();

async function guestRuns(base: string): Promise<void> {
  const { vms } = lab();
  const vm = await vms.createTestVM(base);
  await vms.startVM(vm);
  await vm.agent('guest-ping');
  await vms.destroyVM(vm);
}

describe('Recovery target: the lab host is destroyed in the middle of this suite', function () {
  before(() => {
    if (!mark) throw new Error('RECOVERY_MARK is not set: this suite is run by test/recovery/lab-host-death.test.ts');
  });

  it('before the kill: a test guest starts and answers', async () => {
    await guestRuns('before');
  });

  it('the lab host is destroyed from the outer machine during this test; on its replacement a test guest runs', async () => {
    const t = lab().lab.transport;
    if (!existsSync(mark)) {
      const config = getLabConfig();
      const domain = outerNames(config).domain;
      const pool = outerNames(config).pool;
      writeFileSync(
        mark,
        JSON.stringify({
          bootId: await labHostBootId(t),
          uuid: await virshOut(['domuuid', domain]),
          pid: (await execOk(outer, ['pgrep', '-f', `guest=${domain},`])).stdout.trim(),
          volumes: await poolVolumes(outer, pool),
        }),
      );
      await virshOut(['destroy', domain]);
      // The lab host is gone: this command cannot reach it, and the test fails as any would.
      await execOk(t, ['true'], { timeout: 20_000 });
      throw new Error('the lab host still answers after virsh destroy');
    }
    const dead = JSON.parse(readFileSync(mark, 'utf8')) as { bootId: string };
    expect(await labHostBootId(t), 'a new lab host, not the dead one').to.not.equal(dead.bootId);
    await guestRuns('during');
  });

  it('after the kill: a test guest starts and answers on the new lab host', async () => {
    await guestRuns('after');
  });
});
