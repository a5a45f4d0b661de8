import type { KnownDefect } from '../../lib/report/known-defects.js';

// VMSnap defects the suite reproduces, each written up in
// docs/vmsnap-known-defects.md (this machine cannot reach GitHub to file them
// upstream; the write-ups are ready to file). A test marked with one stays a
// real test: only a failure matching `signature` counts as the known failure.
const doc = (anchor: string) => `docs/vmsnap-known-defects.md#${anchor}`;

export const DEFECTS = {
  domainNameToShell: {
    id: 'VMSNAP-1',
    summary: 'domain names reach /bin/sh unquoted: a space splits the name (libvirt is asked for another domain), & runs the rest of the name as a command (exit 127)',
    link: doc('vmsnap-1'),
    // The shell's own complaint, or libvirt's about a name the shell split, in VMSnap's output (the message carries it).
    signature: /a shell ran part of the domain name[^\n]*\n[\s\S]*\/bin\/sh: |the name was split by a shell[\s\S]*failed to get domain '/,
  },
  backupFailureExitsZero: {
    id: 'VMSNAP-3',
    summary: 'a failed virtnbdbackup run is logged but VMSnap still exits 0',
    link: doc('vmsnap-3'),
    // VMSnap's own log of the failed virtnbdbackup run, then its exit 0.
    signature: /vmsnap exited 0 [\s\S]*VMSnap said: [^\n]*Backup for \S+ failed with code [1-9]\d*[^\n]*: expected \+?0 to equal 3/,
  },
  scrubFailureExitsZero: {
    id: 'VMSNAP-4',
    summary: 'a bitmap that cannot be removed is only warned about: the scrub exits 0, not 5 (ERR_SCRUB)',
    link: doc('vmsnap-4'),
    // VMSnap's own warning that the bitmap stayed, then its exit 0.
    signature: /vmsnap exited 0 [\s\S]*VMSnap said: [^\n]*Error removing bitmap virtnbdbackup\.\d+ [^\n]*: expected \+?0 to equal 5/,
  },
  lockReleaseUnchecked: {
    id: 'VMSNAP-5',
    summary: 'ERR_LOCK_RELEASE (6) cannot happen: lockfile.unlock ignores unlink errors, the lock file stays and VMSnap exits 0',
    link: doc('vmsnap-5'),
    // Exit 0 while the (immutable) lock file is still there, as lsattr lists it.
    signature: /VMSnap exited 0, its lock file still there \(\S*i\S* \S*vmsnap\.lock\): expected \+?0 to equal 6/,
  },
  runningBitmapsKept: {
    id: 'VMSNAP-6',
    summary: 'bitmaps of a running domain are never removed (qemu-img cannot open a disk in use; VMSnap skips it silently): scrub leaves them, and the first backup of a new period fails with "Bitmap already exists" and exits 0',
    link: doc('vmsnap-6'),
    // QEMU's bitmaps with VMSnap silent about them (the disk skipped), or virtnbdbackup's own refusal through VMSnap.
    signature: /bitmaps QEMU still tracks for vda \(VMSnap on bitmaps: nothing matching\)|checkpoints after the first backup of the new period; VMSnap said: [^\n]*Bitmap already exists/,
  },
  biAnnualPrunesEarly: {
    id: 'VMSNAP-8',
    summary: 'bi-annual pruning ignores the 90-day middle mark: the period start is taken as 6 months before the current month, so the previous half-year is pruned from its first days',
    link: doc('vmsnap-8'),
    // Day 90 of the second half of 2026 (from 29 June: 2026-09-26): VMSnap counts from the
    // month's start minus 6 months (2026-03-01), 209 days, over its 90, and prunes the first
    // half; then the folders left. Any other count, day or folder is another failure.
    signature: /after a backup on 2026-09-26 \(day 90\); VMSnap: [^\n]*Days since the start of the bi-annual: 209 [^\n]*Pruning bi-annually backup \(vmsnap-backup-bi-annually-2026-p1\)[^\n]*: expected \[ 'vmsnap-backup-bi-annually-2026-p2' \] to deeply equal/,
  },
  pruneNeedsGroupBy: {
    id: 'VMSNAP-9',
    summary: '--prune without --groupBy never prunes ("Invalid groupBy: undefined. Pruning disabled"), although month is the documented default',
    link: doc('vmsnap-9'),
    signature: /after a --prune backup on the 20th [^\n]*VMSnap: [^\n]*Invalid groupBy: undefined[\s\S]*expected true to equal false/,
  },
  prunesWithoutFlag: {
    id: 'VMSNAP-10',
    summary: 'with --groupBy and without --prune, VMSnap still prunes the previous period past the middle mark (isPruningRequired only stops on prune === false)',
    link: doc('vmsnap-10'),
    signature: /after a backup without --prune; VMSnap: [^\n]*Pruning monthly backup[\s\S]*expected false to equal true/,
  },
  scrubStrandsPeriod: {
    id: 'VMSNAP-11',
    summary: 'after --scrub --scrubType=*, every backup into the current period fails (the folder keeps its checkpoint files; virtnbdbackup cannot redefine them without their bitmaps) and VMSnap exits 0, until the period ends',
    link: doc('vmsnap-11'),
    // VMSnap's own log of the failed run, with virtnbdbackup's reason, after the scrub.
    signature: /after the scrub: (?=[^\n]*Backup for \S+ failed with code [1-9])(?=[^\n]*missing or broken bitmap)/,
  },
  interruptedJobBlocks: {
    id: 'VMSNAP-12',
    summary: 'a backup interrupted while it copies leaves QEMU\'s backup job on the running domain: every later backup fails ("Active block job"), VMSnap exits 0 and offers no way to clear it',
    link: doc('vmsnap-12'),
    // VMSnap's own log of the failed run, with virtnbdbackup's reason.
    signature: /after the interrupted one: (?=[^\n]*Backup for \S+ failed with code [1-9])(?=[^\n]*Active block job for running domain)/,
  },
  failedCheckpointKept: {
    id: 'VMSNAP-13',
    summary: 'a backup that fails after its checkpoint was made keeps that checkpoint: the next backup reports success on a chain without the failed backup\'s changes, which does not restore',
    link: doc('vmsnap-13'),
    // VMSnap's log of the failed run, then the next chain's restore without the changes of the
    // failed backup's window: the file written after the last good backup (/root/dirty.bin)
    // with other data or missing, or, when the lost changes leave the filesystem unreadable,
    // that file and the one from before (/root/data.bin) both missing (each seen on 67e09be).
    // /root/data.bin wrong or missing while /root/dirty.bin restores is another failure.
    signature: /^restored from the chain written after the failed backup \(VMSnap had said: [^\n]*Backup for \S+ failed with code [1-9][^\n]*\): missing (?:none; other data \/root\/dirty\.bin|\/root\/dirty\.bin; other data none|\/root\/data\.bin \/root\/dirty\.bin; other data none): /,
  },
  statusTotalsMiscounted: {
    id: 'VMSNAP-14',
    summary: 'status --output totals count the checkpoint definitions twice and every folder as a file (with its own size): "Total files" and "Total size" are not the folder\'s files and bytes',
    link: doc('vmsnap-14'),
    // The test's own computation of VMSnap's walk over the folder, equal to what VMSnap printed.
    signature: /the totals of \S+ \(\d+ files of \d+ bytes; VMSnap's walk: \d+ entries, \d+ bytes, VMSNAP-14 exactly\)/,
  },
} satisfies Record<string, KnownDefect>;
