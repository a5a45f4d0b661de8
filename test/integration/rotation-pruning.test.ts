import { expect } from 'chai';
import { directoryExists } from '../../lib/vmsnap/assertions.js';
import { createMockBackup } from '../../lib/vmsnap/fixtures.js';
import { dayjs, dayOfPeriod, fakeClock, GROUP_BYS, periodFolder, previousPeriodDay, pruningBoundary, type GroupBy } from '../../lib/vmsnap/periods.js';
import { describeRun, type VMSnapResult } from '../../lib/vmsnap/vmsnap-runner.js';
import type { TestVM } from '../../lib/vm/test-vm.js';
import { itExtra, itKnownDefectExtra } from '../support/extra-tests.js';
import { expectBackupIn as expectBackup } from '../support/expect-backup.js';
import { lab } from '../support/lab-fixture.js';
import { itKnownDefect, plainStep, type KnownStep } from '../support/known-defect.js';
import { execVMSnap, freshDir, labNow } from '../support/vmsnap-fixture.js';
import { DEFECTS } from './known-defects.js';

// Plan §3 "Backup Rotation and Grouping". The plan's mocked clock
// (jest.setSystemTime) cannot reach another process; its real equivalent is a
// fake clock for the VMSnap process in the lab host (libfaketime, node only).
// One shut-off guest serves every test (as in the plan: created, not started;
// VMSnap starts it paused for each backup), and each test writes into a fresh
// output folder. Not a running guest: a new folder makes VMSnap clear checkpoints
// and bitmaps first, which fails for a running guest (VMSNAP-6).
describe('Backup Rotation', function () {
  const t = () => lab().lab.transport;
  let testVM: TestVM;

  before(async () => {
    testVM = await lab().vms.createTestVM('rotation');
  });
  after(async () => {
    if (testVM) await lab().vms.destroyVM(testVM);
  });

  const backup = async (out: string, extra: string[], fakeNow?: string) => {
    const r = await execVMSnap([`--domains=${testVM.name}`, `--output=${out}`, '--backup', ...extra], fakeNow ? { fakeNow } : {});
    expect(r.exitCode, describeRun(r)).to.equal(0);
    return r;
  };

  /**
   * The backup just made is in `<out>/<domain>/<folder>`, as data (a data file,
   * checkpoint definitions, the domain's definition), and libvirt's checkpoints
   * of the domain are exactly the ones that folder's chain records: nothing of a
   * pruned or earlier chain is left in libvirt.
   */
  const expectBackupIn = (out: string, folder: string, r: VMSnapResult) => expectBackup(testVM, out, folder, r);

  /** VMSnap's own words on pruning in a run (its log lines), for assertion messages and defect signatures. */
  const pruningLog = (r: VMSnapResult) =>
    r.stdout
      .split('\n')
      .filter((l) => /Days since the start|Pruning |Invalid groupBy|Middle of the current/.test(l))
      .map((l) => l.trim())
      .join(' | ') || 'no pruning lines from VMSnap';

  it('creates monthly grouped directories', async () => {
    const out = await freshDir('rotation');
    const r = await backup(out, ['--groupBy=month']);
    await expectBackupIn(out, periodFolder('month', await labNow()), r);
  });

  itExtra('groups by month when --groupBy is not given', async () => {
    const out = await freshDir('rotation');
    const now = dayjs('2026-02-10T12:00:00');
    const r = await backup(out, [], fakeClock(now));
    await expectBackupIn(out, 'vmsnap-backup-monthly-2026-02', r);
  });

  // The README's "Sample Folder Name" column, on dates in each half of the year.
  const samples: [GroupBy, string, string][] = [
    ['month', '2026-08-20', 'vmsnap-backup-monthly-2026-08'],
    ['quarter', '2026-08-20', 'vmsnap-backup-quarterly-2026-Q3'],
    ['bi-annual', '2026-03-20', 'vmsnap-backup-bi-annually-2026-p1'],
    ['bi-annual', '2026-08-20', 'vmsnap-backup-bi-annually-2026-p2'],
    ['year', '2026-08-20', 'vmsnap-backup-yearly-2026'],
  ];
  for (const [groupBy, date, folder] of samples) {
    it(`--groupBy=${groupBy} on ${date} writes into ${folder}`, async () => {
      expect(periodFolder(groupBy, dayjs(date)), 'the test’s own reading of the README').to.equal(folder);
      const out = await freshDir('group');
      const r = await backup(out, [`--groupBy=${groupBy}`], `${date} 12:00:00`);
      const left = (await t().exec(['ls', `${out}/${testVM.name}`])).stdout.trim();
      expect(left, `the folders in ${out}/${testVM.name}`).to.equal(folder);
      await expectBackupIn(out, folder, r);
    });
  }

  itKnownDefect('prunes old backups when conditions met', DEFECTS.pruneNeedsGroupBy, async (known) => {
    // Mock date to be past middle of month
    const mockDate = dayjs().date(20).hour(12); // 20th of month
    const out = await freshDir('prune');

    // Create "old" backup directory structure
    await createMockBackup(t(), out, testVM.name, mockDate.subtract(1, 'month'));

    const r = await backup(out, ['--prune'], fakeClock(mockDate));

    await expectBackupIn(out, periodFolder('month', mockDate), r);
    const oldBackupDir = `${out}/${testVM.name}/vmsnap-backup-monthly-${mockDate.subtract(1, 'month').format('YYYY-MM')}`;
    const there = await directoryExists(t(), oldBackupDir);
    await known(() => expect(there, `${oldBackupDir} after a --prune backup on the 20th (no --groupBy: month by default); VMSnap: ${pruningLog(r)}`).to.equal(false));
  });

  // Pruning on both sides of each period's middle mark (README: "on or after the
  // middle of the current period (15 days monthly, 45 days quarterly, 90 days
  // bi-annually or 180 yearly)", read as days elapsed, as VMSnap's own unit tests
  // do: see periods.ts): the last day that keeps the previous period and the first
  // that prunes it, each with the clock on that day, so a threshold moved by one
  // day either way fails a test. Dates in the second half of 2026 (the year's in
  // its first half), so each period is a whole one.
  for (const groupBy of GROUP_BYS) {
    const { lastKeep, firstPrune } = pruningBoundary(groupBy);
    const anchor = dayjs('2026-07-01T12:00:00');
    for (const [day, prunes] of [
      [lastKeep, false],
      [firstPrune, true],
    ] as const) {
      const now = dayOfPeriod(groupBy, anchor, day);
      // VMSnap starts the bi-annual period 6 months before the current month, so it prunes on every day: VMSNAP-8.
      const defect = groupBy === 'bi-annual' && !prunes ? DEFECTS.biAnnualPrunesEarly : undefined;
      const test = defect ? (title: string, fn: (known: KnownStep) => Promise<void>) => itKnownDefect(title, defect, fn) : (title: string, fn: (known: KnownStep) => Promise<void>) => it(title, () => fn(plainStep));
      test(`--groupBy=${groupBy} --prune on day ${day} of the period (${now.format('YYYY-MM-DD')}) ${prunes ? 'prunes' : 'keeps'} the previous period`, async (known) => {
        const out = await freshDir('prune');
        const old = await createMockBackup(t(), out, testVM.name, previousPeriodDay(groupBy, now), groupBy);
        const r = await backup(out, [`--groupBy=${groupBy}`, '--prune'], fakeClock(now));
        await expectBackupIn(out, periodFolder(groupBy, now), r);
        const left = (await t().exec(['ls', `${out}/${testVM.name}`])).stdout.trim().split('\n').sort();
        const expected = [periodFolder(groupBy, now), ...(prunes ? [] : [periodFolder(groupBy, previousPeriodDay(groupBy, now))])].sort();
        await known(() => expect(left, `${old} after a backup on ${now.format('YYYY-MM-DD')} (day ${day}); VMSnap: ${pruningLog(r)}`).to.deep.equal(expected));
      });
    }
  }

  itKnownDefectExtra('without --prune keeps the previous period, even past the middle mark', DEFECTS.prunesWithoutFlag, async (known) => {
    const now = dayjs('2026-08-25T12:00:00');
    const out = await freshDir('noprune');
    const old = await createMockBackup(t(), out, testVM.name, previousPeriodDay('month', now));
    const r = await backup(out, ['--groupBy=month'], fakeClock(now));
    await expectBackupIn(out, periodFolder('month', now), r);
    const kept = await directoryExists(t(), old);
    await known(() => expect(kept, `${old} after a backup without --prune; VMSnap: ${pruningLog(r)}`).to.equal(true));
  });
});
