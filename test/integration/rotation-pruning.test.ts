import { expect } from 'chai';
import { directoryExists } from '../../lib/vmsnap/assertions.js';
import { createMockBackup } from '../../lib/vmsnap/fixtures.js';
import { dayjs, dayOfPeriod, fakeClock, GROUP_BYS, periodFolder, previousPeriodDay, pruningBoundary, type GroupBy } from '../../lib/vmsnap/periods.js';
import { describeRun, type VMSnapResult } from '../../lib/vmsnap/vmsnap-runner.js';
import type { TestVM } from '../../lib/vm/test-vm.js';
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

  const backup = async (out: string, extra: string[], fakeNow?: string, vm = testVM) => {
    const r = await execVMSnap([`--domains=${vm.name}`, `--output=${out}`, '--backup', ...extra], fakeNow ? { fakeNow } : {});
    expect(r.exitCode, describeRun(r)).to.equal(0);
    return r;
  };

  /**
   * The backup just made is in `<out>/<domain>/<folder>`, as data (a data file,
   * checkpoint definitions, the domain's definition), and libvirt's checkpoints
   * of the domain are exactly the ones that folder's chain records: nothing of a
   * pruned or earlier chain is left in libvirt.
   */
  const expectBackupIn = (out: string, folder: string, r: VMSnapResult, vm = testVM) => expectBackup(vm, out, folder, r);

  /** VMSnap's own words on pruning in a run (its log lines), for assertion messages and defect signatures. */
  const pruningLog = (r: VMSnapResult) =>
    r.stdout
      .split('\n')
      .filter((l) => /Days since the start|Pruning |Invalid groupBy|Middle of the current/.test(l))
      .map((l) => l.trim())
      .join(' | ') || 'no pruning lines from VMSnap';

  /**
   * A backup with --prune on `now`, a backup of the previous period already there:
   * the current period's backup is written, and the previous one pruned or kept.
   */
  const pruneOn = async (groupBy: GroupBy, now: dayjs.Dayjs, which: string, prunes: boolean, known: KnownStep, vm = testVM): Promise<void> => {
    const out = await freshDir('prune');
    const old = await createMockBackup(t(), out, vm.name, previousPeriodDay(groupBy, now), groupBy);
    const r = await backup(out, [`--groupBy=${groupBy}`, '--prune'], fakeClock(now), vm);
    await expectBackupIn(out, periodFolder(groupBy, now), r, vm);
    const left = (await t().exec(['ls', `${out}/${vm.name}`])).stdout.trim().split('\n').sort();
    const expected = [periodFolder(groupBy, now), ...(prunes ? [] : [periodFolder(groupBy, previousPeriodDay(groupBy, now))])].sort();
    await known(() => expect(left, `${old} after a backup on ${now.format('YYYY-MM-DD')} (${which}); VMSnap: ${pruningLog(r)}`).to.deep.equal(expected));
  };

  it('creates monthly grouped directories', async () => {
    const out = await freshDir('rotation');
    const r = await backup(out, ['--groupBy=month']);
    await expectBackupIn(out, periodFolder('month', await labNow()), r);
  });

  it('groups by month when --groupBy is not given', async () => {
    const out = await freshDir('rotation');
    const now = dayjs('2026-02-10T12:00:00');
    const r = await backup(out, [], fakeClock(now));
    await expectBackupIn(out, 'vmsnap-backup-monthly-2026-02', r);
  });

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
  // day either way fails a test. In the second half of 2026 (the year's in its
  // first half), so each period is a whole one; and the year's in a leap year, where
  // day 181 is 29 June, not 30 June. Across the year wrap, where January's previous
  // month, Q1's previous quarter and p1's previous half-year are the year before's
  // (VMSnap's unit test "handles year transitions for all groupBy types"), the prune
  // side: the previous period must be found by its name to be pruned (the keep side
  // cannot tell a wrong name from a kept folder, and its threshold is the 2026 one).
  const boundaries: { anchor: string; groupBys: readonly GroupBy[]; sides: readonly boolean[] }[] = [
    { anchor: '2026-07-01', groupBys: GROUP_BYS, sides: [false, true] },
    { anchor: '2028-07-01', groupBys: ['year'], sides: [false, true] },
    { anchor: '2027-01-01', groupBys: ['month', 'quarter', 'bi-annual'], sides: [true] },
  ];
  for (const { anchor, groupBys, sides } of boundaries) {
    for (const groupBy of groupBys) {
      const { lastKeep, firstPrune } = pruningBoundary(groupBy);
      for (const prunes of sides) {
        const day = prunes ? firstPrune : lastKeep;
        const now = dayOfPeriod(groupBy, dayjs(`${anchor}T12:00:00`), day);
        // VMSnap starts the bi-annual period 6 months before the current month, so it prunes on every day: VMSNAP-8.
        const defect = groupBy === 'bi-annual' && !prunes ? DEFECTS.biAnnualPrunesEarly : undefined;
        const test = defect ? (title: string, fn: (known: KnownStep) => Promise<void>) => itKnownDefect(title, defect, fn) : (title: string, fn: (known: KnownStep) => Promise<void>) => it(title, () => fn(plainStep));
        test(`--groupBy=${groupBy} --prune on day ${day} of the period (${now.format('YYYY-MM-DD')}) ${prunes ? 'prunes' : 'keeps'} the previous period (${periodFolder(groupBy, previousPeriodDay(groupBy, now))})`, (known) =>
          pruneOn(groupBy, now, `day ${day}`, prunes, known),
        );
      }
    }
  }

  // A half-year's last day, far past its middle mark: the previous half goes and the
  // current one, just written, stays. VMSnap names the previous half from the date 6
  // months back; on 31 December that date (30 June) is in the second half, which the fix
  // of VMSnap's 8f0bb9d ("Fixing a pruning error with a bi-annual groupBy") made it stop
  // taking for the previous half: undone, the prune removes the current half.
  {
    const now = dayjs('2026-12-31T12:00:00');
    it(`--groupBy=bi-annual --prune on the half-year’s last day (2026-12-31) prunes the previous half (${periodFolder('bi-annual', previousPeriodDay('bi-annual', now))}) and keeps the current one`, () =>
      pruneOn('bi-annual', now, 'the last day', true, plainStep),
    );
  }

  // The folder of the current period on both sides of each calendar edge VMSnap's own
  // unit tests use: the last day of each quarter and the next, the bi-annual halves'
  // day 179 and day 180 (a leap year's too), the year wrap, the leap day. VMSnap's
  // status --output names the folder it reads for "now" (backupDirStats.path), from the
  // same getBackupFolder a backup writes into (a status run costs a third of a backup);
  // real backups into each kind of folder are pinned above, with the README's
  // "Sample Folder Name" forms (vmsnap-backup-quarterly-2026-Q3, …-bi-annually-2026-p2).
  const edges: [GroupBy, string, string][] = [
    ['month', '2026-12-31', 'vmsnap-backup-monthly-2026-12'],
    ['month', '2027-01-01', 'vmsnap-backup-monthly-2027-01'],
    ['month', '2028-02-29', 'vmsnap-backup-monthly-2028-02'],
    ['month', '2028-03-01', 'vmsnap-backup-monthly-2028-03'],
    ['year', '2026-12-31', 'vmsnap-backup-yearly-2026'],
    ['year', '2027-01-01', 'vmsnap-backup-yearly-2027'],
    ['quarter', '2026-03-31', 'vmsnap-backup-quarterly-2026-Q1'],
    ['quarter', '2026-04-01', 'vmsnap-backup-quarterly-2026-Q2'],
    ['quarter', '2026-06-30', 'vmsnap-backup-quarterly-2026-Q2'],
    ['quarter', '2026-07-01', 'vmsnap-backup-quarterly-2026-Q3'],
    ['quarter', '2026-09-30', 'vmsnap-backup-quarterly-2026-Q3'],
    ['quarter', '2026-10-01', 'vmsnap-backup-quarterly-2026-Q4'],
    ['quarter', '2026-12-31', 'vmsnap-backup-quarterly-2026-Q4'],
    ['quarter', '2027-01-01', 'vmsnap-backup-quarterly-2027-Q1'],
    ['bi-annual', '2026-06-28', 'vmsnap-backup-bi-annually-2026-p1'],
    ['bi-annual', '2026-06-29', 'vmsnap-backup-bi-annually-2026-p2'],
    ['bi-annual', '2028-06-27', 'vmsnap-backup-bi-annually-2028-p1'],
    ['bi-annual', '2028-06-28', 'vmsnap-backup-bi-annually-2028-p2'],
  ];
  for (const [groupBy, date, folder] of edges) {
    it(`--groupBy=${groupBy} on ${date} (day ${dayjs(date).diff(dayjs(date).startOf('year'), 'day') + 1} of the year) is ${folder}`, async () => {
      expect(periodFolder(groupBy, dayjs(`${date}T12:00:00`)), 'the test’s own reading').to.equal(folder);
      const out = await freshDir('edge');
      const r = await execVMSnap([`--domains=${testVM.name}`, `--output=${out}`, `--groupBy=${groupBy}`, '--json', '--machine'], { fakeNow: `${date} 12:00:00` });
      expect(r.exitCode, describeRun(r)).to.equal(0);
      const s = JSON.parse(r.stdout) as Record<string, { backupDirStats?: { path: string } }>;
      expect(s[testVM.name]?.backupDirStats?.path, describeRun(r)).to.equal(`${out}/${testVM.name}/${folder}`);
    });
  }

  itKnownDefect('without --prune keeps the previous period, even past the middle mark', DEFECTS.prunesWithoutFlag, async (known) => {
    const now = dayjs('2026-08-25T12:00:00');
    const out = await freshDir('noprune');
    const old = await createMockBackup(t(), out, testVM.name, previousPeriodDay('month', now));
    const r = await backup(out, ['--groupBy=month'], fakeClock(now));
    await expectBackupIn(out, periodFolder('month', now), r);
    const kept = await directoryExists(t(), old);
    await known(() => expect(kept, `${old} after a backup without --prune; VMSnap: ${pruningLog(r)}`).to.equal(true));
  });
});
