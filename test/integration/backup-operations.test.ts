import { expect } from 'chai';
import { backupDataFiles, backupExists, checkpointsExist, directoryExists, getBitmaps, getCheckpoints } from '../../lib/vmsnap/assertions.js';
import { periodFolder } from '../../lib/vmsnap/periods.js';
import { describeRun, EXIT } from '../../lib/vmsnap/vmsnap-runner.js';
import type { TestVM } from '../../lib/vm/test-vm.js';
import { recordMeasurement } from '../support/measurements.js';
import { lab } from '../support/lab-fixture.js';
import { itKnownDefect } from '../support/known-defect.js';
import { execVMSnap, freshDir, labNow, notRun } from '../support/vmsnap-fixture.js';
import { DEFECTS } from './known-defects.js';

// Plan §1 "Basic Backup Operations", plus what the issue adds: a shut-off domain,
// several domains at once (a,b / * / prefix-*), odd domain names, and --raw.
describe('Basic Backup Operations', function () {
  const vms = () => lab().vms;
  const t = () => lab().lab.transport;

  describe('Single VM Backup', function () {
    let testVM: TestVM;
    let out: string;

    beforeEach(async () => {
      testVM = await vms().createTestVM('basic-test');
      await vms().startVM(testVM);
      out = await freshDir('basic');
    });

    afterEach(async () => {
      if (testVM) await vms().destroyVM(testVM);
    });

    it('creates first backup successfully', async () => {
      const result = await execVMSnap([`--domains=${testVM.name}`, `--output=${out}`, '--backup']);
      recordMeasurement('vmsnap full backup, running guest (s)', result.durationMs / 1000);

      expect(result.exitCode, describeRun(result)).to.equal(0);
      expect(await backupExists(t(), out, testVM.name), 'backup data under <output>/<domain>').to.equal(true);
      expect(await checkpointsExist(testVM, 1), `checkpoints: ${(await getCheckpoints(testVM)).join(', ')}`).to.equal(true);
      // Documented layout: <output>/<domain>/<period folder>, monthly by default.
      expect(await directoryExists(t(), `${out}/${testVM.name}/${periodFolder('month', await labNow())}`)).to.equal(true);
    });
  });

  describe('Multiple VM Backup', function () {
    let out: string;
    beforeEach(async () => {
      out = await freshDir('multi');
    });

    it('backs up multiple VMs with wildcard', async function () {
      const [a, b] = await Promise.all([vms().createTestVM('multi-1'), vms().createTestVM('multi-2')]);
      // `*` is every domain of the libvirt VMSnap talks to: only safe where all of them are the lab's.
      const all = (await t().exec(['virsh', '-c', 'qemu:///system', 'list', '--all', '--name'])).stdout.split('\n').filter(Boolean);
      // Guests with the lab's prefix (also those a killed earlier run left) are the lab's own.
      const foreign = all.filter((n) => !n.startsWith(`${lab().lab.state.prefix}-`));
      try {
        if (foreign.length > 0) notRun(this, `libvirt here holds domains the lab did not create (${foreign.slice(0, 3).join(', ')}): --domains=* would back them up`);
        const result = await execVMSnap(['--domains=*', `--output=${out}`, '--backup']);
        expect(result.exitCode, describeRun(result)).to.equal(0);
        for (const vm of [a!, b!]) expect(await backupExists(t(), out, vm.name), `backup of ${vm.name}`).to.equal(true);
      } finally {
        await Promise.all([a, b].map((vm) => vms().destroyVM(vm!)));
      }
    });

    it('backs up exactly the domains of a comma-separated list (--domains=a,b)', async () => {
      const [a, b, c] = await Promise.all(['list-a', 'list-b', 'list-c'].map((n) => vms().createTestVM(n)));
      try {
        const result = await execVMSnap([`--domains=${a!.name},${b!.name}`, `--output=${out}`, '--backup']);
        expect(result.exitCode, describeRun(result)).to.equal(0);
        expect(await backupExists(t(), out, a!.name)).to.equal(true);
        expect(await backupExists(t(), out, b!.name)).to.equal(true);
        expect(await backupExists(t(), out, c!.name), 'a domain not in the list').to.equal(false);
        expect(await getCheckpoints(c!)).to.deep.equal([]);
      } finally {
        await Promise.all([a, b, c].map((vm) => vms().destroyVM(vm!)));
      }
    });

    it('backs up the domains a prefix pattern matches, and no other (--domains=prefix-*)', async () => {
      const [p1, p2, other] = await Promise.all(['pat-1', 'pat-2', 'nopat'].map((n) => vms().createTestVM(n)));
      try {
        const result = await execVMSnap([`--domains=${vms().vmName('pat-')}*`, `--output=${out}`, '--backup']);
        expect(result.exitCode, describeRun(result)).to.equal(0);
        expect(await backupExists(t(), out, p1!.name)).to.equal(true);
        expect(await backupExists(t(), out, p2!.name)).to.equal(true);
        expect(await backupExists(t(), out, other!.name), 'a domain the pattern does not match').to.equal(false);
      } finally {
        await Promise.all([p1, p2, other].map((vm) => vms().destroyVM(vm!)));
      }
    });
  });

  describe('Shut-off domain', function () {
    it('backs up a shut-off domain (started paused for the backup) and leaves it shut off, with its bitmap in the qcow2', async () => {
      const vm = await vms().createTestVM('offline');
      const out = await freshDir('offline');
      try {
        expect(await vm.state()).to.equal('shut off');
        const result = await execVMSnap([`--domains=${vm.name}`, `--output=${out}`, '--backup']);
        recordMeasurement('vmsnap full backup, shut-off guest (s)', result.durationMs / 1000);
        expect(result.exitCode, describeRun(result)).to.equal(0);
        expect(await backupExists(t(), out, vm.name)).to.equal(true);
        expect(await getCheckpoints(vm)).to.deep.equal(['virtnbdbackup.0']);
        expect(await vm.state(), 'state after the backup').to.equal('shut off');
        expect(await getBitmaps(vm)).to.deep.equal(['virtnbdbackup.0']);
      } finally {
        await vms().destroyVM(vm);
      }
    });
  });

  describe('Domain names', function () {
    // libvirt accepts these names; VMSnap must back the domain up, or refuse it
    // with one of its documented exit codes and a message naming it. Exiting 0
    // without a backup is neither, and no part of a name may ever reach a shell.
    const handledOrRejected = async (base: string) => {
      const vm = await vms().createTestVM(base);
      const out = await freshDir('names');
      try {
        const result = await execVMSnap([`--domains=${vm.name}`, `--output=${out}`, '--backup']);
        expect(result.output, `a shell ran part of the domain name "${vm.name}"\n${describeRun(result)}`).to.not.match(/\/bin\/sh: /);
        // libvirt's own error names the domain VMSnap really asked for: it must be this one.
        for (const m of result.output.matchAll(/failed to get domain '([^']*)'/g)) {
          expect(m[1], `VMSnap asked libvirt for another domain: the name was split by a shell\n${describeRun(result)}`).to.equal(vm.name);
        }
        expect(Object.values(EXIT), `exit ${result.exitCode} is none of VMSnap's documented exit codes\n${describeRun(result)}`).to.include(result.exitCode);
        if (result.exitCode === 0) {
          expect(await backupExists(t(), out, vm.name), `exit 0 but no backup of "${vm.name}"\n${describeRun(result)}`).to.equal(true);
          expect(await getCheckpoints(vm)).to.have.length(1);
        } else {
          expect(result.output, `refused with exit ${result.exitCode} without naming the domain`).to.include(vm.name);
        }
      } finally {
        await vms().destroyVM(vm);
      }
    };

    it('handles a name with . _ + : in it', async () => {
      await handledOrRejected('odd.name_v+1:x');
    });

    itKnownDefect('handles or rejects a name with a space in it', DEFECTS.domainNameToShell, async () => {
      await handledOrRejected('with space');
    });

    itKnownDefect('handles or rejects a name with a shell metacharacter (&) in it', DEFECTS.domainNameToShell, async () => {
      await handledOrRejected('amp&ersand');
    });
  });

  describe('Raw disks (--raw)', function () {
    let vm: TestVM;
    before(async () => {
      vm = await vms().createTestVM('raw', { rawDisksMiB: [8] });
    });
    after(async () => {
      if (vm) await vms().destroyVM(vm);
    });

    it('without --raw backs up the qcow2 disk only', async () => {
      const out = await freshDir('noraw');
      const result = await execVMSnap([`--domains=${vm.name}`, `--output=${out}`, '--backup']);
      expect(result.exitCode, describeRun(result)).to.equal(0);
      const files = (await backupDataFiles(t(), `${out}/${vm.name}`)).map((f) => f.split('/').pop());
      expect(files.some((f) => f?.startsWith('vda.')), files.join(', ')).to.equal(true);
      expect(files.some((f) => f?.startsWith('vdb.')), files.join(', ')).to.equal(false);
    });

    it('with --raw also backs up the raw disk', async () => {
      const out = await freshDir('raw');
      const result = await execVMSnap([`--domains=${vm.name}`, `--output=${out}`, '--backup', '--raw']);
      expect(result.exitCode, describeRun(result)).to.equal(0);
      const files = (await backupDataFiles(t(), `${out}/${vm.name}`)).map((f) => f.split('/').pop());
      expect(files.some((f) => f?.startsWith('vda.')), files.join(', ')).to.equal(true);
      expect(files.some((f) => f?.startsWith('vdb.')), files.join(', ')).to.equal(true);
    });
  });
});
