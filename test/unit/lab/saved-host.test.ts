import { expect } from 'chai';
import { labHostBootId, RESTORE_ID_FILE } from '../../../lib/lab/lab-health.js';
import { changedInputs, savedHostKey, type SavedHostInputs } from '../../../lib/lab/saved-host.js';
import type { ExecResult, Transport } from '../../../lib/transport/transport.js';

const inputs: SavedHostInputs = {
  boxVolume: 'vmsnap-lab-VAGRANTSLASH-lab-host-trixie-930977a83af7_vagrant_box_image_0_1796218407_box.img',
  guestImage: 'guest-debian-dbe71dfba9cf',
  memoryMiB: 4096,
  cpus: 2,
  accel: 'tcg',
  labDir: '/work/main/artifacts/lab/vmsnap-lab',
  code: '0123456789ab',
};

describe('saved lab-host state: what makes it this lab host', function () {
  it('has one key for the same inputs, whatever their order', () => {
    const reordered = Object.fromEntries(Object.entries(inputs).reverse()) as unknown as SavedHostInputs;
    expect(savedHostKey(reordered)).to.equal(savedHostKey(inputs));
  });

  it('is another lab host when any one input changes, and says which', () => {
    const changes: Partial<SavedHostInputs>[] = [
      { boxVolume: inputs.boxVolume.replace('1796218407', '1796218408') },
      { guestImage: 'guest-debian-1db87a61a15f' },
      { memoryMiB: 4097 },
      { cpus: 1 },
      { accel: 'kvm' },
      { labDir: '/tmp/ci-x/artifacts/lab/vmsnap-lab' },
      { code: '0123456789ac' },
    ];
    for (const change of changes) {
      const other = { ...inputs, ...change };
      expect(savedHostKey(other), JSON.stringify(change)).to.not.equal(savedHostKey(inputs));
      expect(changedInputs(inputs, other)).to.deep.equal(Object.keys(change));
    }
    expect(changedInputs(inputs, { ...inputs })).to.deep.equal([]);
  });
});

describe('the lab host id: boot id, plus the restore id of a restored lab host', function () {
  const bootId = 'b7c1a0de-0000-4000-8000-000000000001';
  const restoreId = '0f0e0d0c-0000-4000-8000-000000000002';
  const host = (files: Record<string, string>) =>
    ({
      exec: async (argv: string[]): Promise<ExecResult> => {
        const f = argv[0] === 'cat' ? files[argv[1] as string] : undefined;
        return f === undefined ? { exitCode: 1, stdout: '', stderr: 'No such file or directory', durationMs: 1 } : { exitCode: 0, stdout: `${f}\n`, stderr: '', durationMs: 1 };
      },
    }) as unknown as Transport;

  it('is the boot id alone for a booted lab host', async () => {
    expect(await labHostBootId(host({ '/proc/sys/kernel/random/boot_id': bootId }))).to.equal(bootId);
  });

  it('tells two restores of one saved state apart, though their kernel boot id is the same', async () => {
    const a = await labHostBootId(host({ '/proc/sys/kernel/random/boot_id': bootId, [RESTORE_ID_FILE]: restoreId }));
    const b = await labHostBootId(host({ '/proc/sys/kernel/random/boot_id': bootId, [RESTORE_ID_FILE]: restoreId.replace('02', '03') }));
    expect(a).to.equal(`${bootId}+${restoreId}`);
    expect(a).to.not.equal(b);
  });
});
