import dayjs, { type Dayjs } from 'dayjs';

// VMSnap's backup periods as its README documents them (the --groupBy table and
// the note under --prune), computed here independently of VMSnap's code so the
// tests can tell when VMSnap deviates.

export type GroupBy = 'month' | 'quarter' | 'bi-annual' | 'year';
export const GROUP_BYS: readonly GroupBy[] = ['month', 'quarter', 'bi-annual', 'year'];

/**
 * "Middle mark" (README: "15d", "45d", "90d", "180d"): pruning of the previous
 * period happens once this many whole days of the current one have elapsed. Read
 * as VMSnap's own unit tests read it ("requires pruning after day 15 of month" on
 * the 16th, "skips pruning before day 15" on the 14th; "180 days from Jan 1 is
 * around June 29"): day N of the period keeps, day N+1 prunes.
 */
export const MIDDLE_MARK_DAYS: Record<GroupBy, number> = { month: 15, quarter: 45, 'bi-annual': 90, year: 180 };

/** The last day (1-based) of a period that keeps the previous period, and the first that prunes it. */
export function pruningBoundary(groupBy: GroupBy): { lastKeep: number; firstPrune: number } {
  const n = MIDDLE_MARK_DAYS[groupBy];
  return { lastKeep: n, firstPrune: n + 1 };
}

/**
 * The bi-annual halves as VMSnap's own unit tests pin them: the second half
 * (`p2`) begins on day 180 of the year (libnbdbackup.test.js "returns first half
 * folder name (before day 180)" and "… second half … (after day 180)";
 * libnbdbackup-edge-cases.test.js "handles edge case dates for bi-annual
 * grouping": 2024-06-29 is p2). Day 180 is 29 June, and 28 June in a leap year.
 */
export const SECOND_HALF_DAY = 180;

function inSecondHalf(d: Dayjs): boolean {
  return d.diff(d.startOf('year'), 'day') + 1 >= SECOND_HALF_DAY;
}

/** First day of the period that holds `d`. Bi-annual: 1 January, and day 180 of the year. */
export function periodStart(groupBy: GroupBy, d: Dayjs): Dayjs {
  const m = d.month();
  switch (groupBy) {
    case 'month':
      return d.startOf('month');
    case 'quarter':
      return d.month(m - (m % 3)).startOf('month');
    case 'bi-annual':
      return inSecondHalf(d) ? d.startOf('year').add(SECOND_HALF_DAY - 1, 'day') : d.startOf('year');
    case 'year':
      return d.startOf('year');
  }
}

/** The folder VMSnap names for the period that holds `d` (README: "Sample Folder Name"). */
export function periodFolder(groupBy: GroupBy, d: Dayjs): string {
  switch (groupBy) {
    case 'month':
      return `vmsnap-backup-monthly-${d.format('YYYY-MM')}`;
    case 'quarter':
      return `vmsnap-backup-quarterly-${d.year()}-Q${Math.floor(d.month() / 3) + 1}`;
    case 'bi-annual':
      return `vmsnap-backup-bi-annually-${d.year()}-p${inSecondHalf(d) ? 2 : 1}`;
    case 'year':
      return `vmsnap-backup-yearly-${d.year()}`;
  }
}

/** The period before the one that holds `d`: any day of it. */
export function previousPeriodDay(groupBy: GroupBy, d: Dayjs): Dayjs {
  return periodStart(groupBy, d).subtract(1, 'day');
}

/** Day `n` (1-based) of the period that holds `d`, at noon (far from any midnight). */
export function dayOfPeriod(groupBy: GroupBy, d: Dayjs, n: number): Dayjs {
  return periodStart(groupBy, d).add(n - 1, 'day').hour(12).minute(0).second(0);
}

/** The form VMSnapRunner's fake clock takes. */
export function fakeClock(d: Dayjs): string {
  return d.format('YYYY-MM-DD HH:mm:ss');
}

export { dayjs };
