import { expect } from 'chai';
import { dayjs, dayOfPeriod, fakeClock, periodFolder, periodStart, previousPeriodDay, pruningBoundary } from '../../../lib/vmsnap/periods.js';

describe('VMSnap periods (as its README documents them)', () => {
  const d = (s: string) => dayjs(`${s}T12:00:00`);

  it('names each period folder like the README samples', () => {
    expect(periodFolder('month', d('2024-11-05'))).to.equal('vmsnap-backup-monthly-2024-11');
    expect(periodFolder('quarter', d('2024-11-05'))).to.equal('vmsnap-backup-quarterly-2024-Q4');
    expect(periodFolder('bi-annual', d('2024-11-05'))).to.equal('vmsnap-backup-bi-annually-2024-p2');
    // The halves split on day 180 of the year, as VMSnap's own unit tests pin them (2024-06-29 is p2).
    expect(periodFolder('bi-annual', d('2024-06-29'))).to.equal('vmsnap-backup-bi-annually-2024-p2');
    expect(periodFolder('bi-annual', d('2024-06-28'))).to.equal('vmsnap-backup-bi-annually-2024-p2');
    expect(periodFolder('bi-annual', d('2024-06-27'))).to.equal('vmsnap-backup-bi-annually-2024-p1');
    expect(periodFolder('bi-annual', d('2026-06-28'))).to.equal('vmsnap-backup-bi-annually-2026-p1');
    expect(periodFolder('bi-annual', d('2026-06-29'))).to.equal('vmsnap-backup-bi-annually-2026-p2');
    expect(periodFolder('year', d('2024-11-05'))).to.equal('vmsnap-backup-yearly-2024');
  });

  it('starts periods on the first day of month, quarter, half-year (1 January, day 180) and year', () => {
    expect(periodStart('month', d('2026-08-20')).format('YYYY-MM-DD')).to.equal('2026-08-01');
    expect(periodStart('quarter', d('2026-08-20')).format('YYYY-MM-DD')).to.equal('2026-07-01');
    expect(periodStart('quarter', d('2026-03-31')).format('YYYY-MM-DD')).to.equal('2026-01-01');
    expect(periodStart('bi-annual', d('2026-08-20')).format('YYYY-MM-DD')).to.equal('2026-06-29');
    expect(periodStart('bi-annual', d('2026-06-28')).format('YYYY-MM-DD')).to.equal('2026-01-01');
    expect(periodStart('bi-annual', d('2028-12-31')).format('YYYY-MM-DD')).to.equal('2028-06-28');
    expect(periodStart('year', d('2026-08-20')).format('YYYY-MM-DD')).to.equal('2026-01-01');
  });

  it('counts day N of a period from 1 and finds the previous period', () => {
    expect(dayOfPeriod('month', d('2026-07-09'), 15).format('YYYY-MM-DD HH:mm')).to.equal('2026-07-15 12:00');
    expect(dayOfPeriod('quarter', d('2026-07-09'), 45).format('YYYY-MM-DD')).to.equal('2026-08-14');
    expect(dayOfPeriod('bi-annual', d('2026-07-09'), 90).format('YYYY-MM-DD')).to.equal('2026-09-26');
    expect(dayOfPeriod('bi-annual', d('2027-01-09'), 91).format('YYYY-MM-DD')).to.equal('2027-04-01');
    expect(dayOfPeriod('year', d('2028-07-09'), 181).format('YYYY-MM-DD'), 'a leap year').to.equal('2028-06-29');
    expect(dayOfPeriod('year', d('2026-07-09'), 180).format('YYYY-MM-DD')).to.equal('2026-06-29');
    expect(periodFolder('quarter', previousPeriodDay('quarter', d('2026-01-10')))).to.equal('vmsnap-backup-quarterly-2025-Q4');
    expect(periodFolder('bi-annual', previousPeriodDay('bi-annual', d('2026-08-10')))).to.equal('vmsnap-backup-bi-annually-2026-p1');
    // The year wrap: January's month, Q1's quarter, p1's half, a year's year are the year before's.
    expect(periodFolder('month', previousPeriodDay('month', d('2027-01-15')))).to.equal('vmsnap-backup-monthly-2026-12');
    expect(periodFolder('bi-annual', previousPeriodDay('bi-annual', d('2027-03-10')))).to.equal('vmsnap-backup-bi-annually-2026-p2');
    expect(periodFolder('year', previousPeriodDay('year', d('2027-03-10')))).to.equal('vmsnap-backup-yearly-2026');
  });

  // VMSnap's unit tests: "requires pruning after day 15 of month" on the 16th, "skips pruning before
  // day 15" on the 14th, "180 days from Jan 1 is around June 29": the mark is days elapsed.
  it('keeps the previous period through day N of the middle mark and prunes it from day N+1', () => {
    expect(pruningBoundary('month')).to.deep.equal({ lastKeep: 15, firstPrune: 16 });
    expect(pruningBoundary('quarter')).to.deep.equal({ lastKeep: 45, firstPrune: 46 });
    expect(pruningBoundary('bi-annual')).to.deep.equal({ lastKeep: 90, firstPrune: 91 });
    expect(pruningBoundary('year')).to.deep.equal({ lastKeep: 180, firstPrune: 181 });
    // Day N+1 at noon is N whole days after the period's first midnight, day N only N-1.
    for (const g of ['month', 'quarter', 'bi-annual', 'year'] as const) {
      const { lastKeep, firstPrune } = pruningBoundary(g);
      const start = periodStart(g, d('2026-07-09'));
      expect(dayOfPeriod(g, d('2026-07-09'), firstPrune).diff(start, 'day'), g).to.equal(firstPrune - 1);
      expect(dayOfPeriod(g, d('2026-07-09'), lastKeep).diff(start, 'day'), g).to.equal(lastKeep - 1);
    }
  });

  it('gives the fake clock in the form faketime takes', () => {
    expect(fakeClock(d('2026-02-03'))).to.equal('2026-02-03 12:00:00');
  });
});
