import { expect } from 'chai';
import { parse as parseYaml } from 'yaml';
import { execOk } from '../../lib/transport/transport.js';
import { checkpointFiles } from '../../lib/vmsnap/assertions.js';
import { periodFolderTotals, statusBlock, statusFromLibvirt, statusText, type DomainStatus } from '../../lib/vmsnap/status.js';
import { periodFolder } from '../../lib/vmsnap/periods.js';
import { describeRun, type VMSnapResult } from '../../lib/vmsnap/vmsnap-runner.js';
import type { TestVM } from '../../lib/vm/test-vm.js';
import { itKnownDefect } from '../support/known-defect.js';
import { lab } from '../support/lab-fixture.js';
import { execVMSnap, freshDir, labNow } from '../support/vmsnap-fixture.js';
import { DEFECTS } from './known-defects.js';

// Plan §5 "Status and Information Commands", plus every output form the README
// documents: text, --json, --yaml/--yml, --machine, --output stats, --pretty,
// --groupBy, several domains, --verbose, and status as the default command.
// Every field is compared whole with what libvirt and qemu-img say of the domain
// (lib/vmsnap/status.ts): the checkpoints, each disk's sizes and bitmaps, the
// overall status. Both guests stay shut off, so qemu-img reads the disks VMSnap reads.

/** The serialized status in VMSnap's output (winston prints it as one message). */
function jsonOf(r: VMSnapResult): Record<string, DomainStatus> {
  const start = r.stdout.indexOf('{');
  const end = r.stdout.lastIndexOf('}');
  expect(start, `no JSON in the output\n${describeRun(r)}`).to.be.greaterThan(-1);
  return JSON.parse(r.stdout.slice(start, end + 1)) as Record<string, DomainStatus>;
}

describe('Status Commands', function () {
  let testVM: TestVM;
  let other: TestVM;
  let out: string;
  const t = () => lab().lab.transport;

  const status = async (args: string[]) => {
    const r = await execVMSnap(args);
    expect(r.exitCode, describeRun(r)).to.equal(0);
    return r;
  };
  /** What VMSnap must say of `vm`, read from libvirt and qemu-img now. */
  const truth = (vm: TestVM, pretty = false) => statusFromLibvirt(t(), vm.name, pretty);
  const machineJson = async (args: string[]) => {
    const r = await status([...args, '--json', '--machine']);
    // --machine: the serialized status alone, on one line.
    expect(r.stdout.trim().split('\n'), `--machine prints one line\n${describeRun(r)}`).to.have.length(1);
    return JSON.parse(r.stdout) as Record<string, DomainStatus>;
  };

  before(async () => {
    [testVM, other] = (await Promise.all([lab().vms.createTestVM('status'), lab().vms.createTestVM('status-2')])) as [TestVM, TestVM];
    out = await freshDir('status');
    const r = await execVMSnap([`--domains=${testVM.name}`, `--output=${out}`, '--backup']);
    expect(r.exitCode, describeRun(r)).to.equal(0);
    // The backup started the shut-off guest paused and stopped it again: qemu-img can read its disk.
    expect(await testVM.state(), 'the backed-up guest').to.equal('shut off');
  });
  after(async () => {
    await Promise.all([testVM, other].filter(Boolean).map((vm) => lab().vms.destroyVM(vm)));
  });

  it('displays VM status correctly', async () => {
    const result = await status([`--domains=${testVM.name}`, '--status']);

    expect(result.exitCode).to.equal(0);
    const expected = await truth(testVM);
    expect(expected.checkpoints, 'libvirt, after one backup').to.deep.equal(['virtnbdbackup.0']);
    // The README's text report, every line: the checkpoint under the checkpoints, the disk
    // with qemu-img's virtual and actual size, its bitmap under the disk, overall OK.
    expect(statusBlock(result.stdout, testVM.name), describeRun(result)).to.deep.equal(statusText(testVM.name, expected));
  });

  it('outputs JSON format correctly', async () => {
    const result = await status([`--domains=${testVM.name}`, '--status', '--json', '--machine']);

    expect(result.exitCode).to.equal(0);
    const output = JSON.parse(result.stdout) as Record<string, DomainStatus>;
    expect(output).to.have.property(testVM.name);
    expect(output[testVM.name]).to.have.property('checkpoints');
    expect(output[testVM.name]).to.have.property('disks');
    expect(output[testVM.name]).to.have.property('overallStatus');
  });

  it('--json --machine is one line: the checkpoint, vda with qemu-img’s virtual and actual size and its bitmap, status 0 (OK)', async () => {
    const s = await machineJson([`--domains=${testVM.name}`]);
    const expected = await truth(testVM);
    expect(expected.disks.map((d) => [d.disk, d.bitmaps]), 'qemu-img, after one backup').to.deep.equal([['vda', ['virtnbdbackup.0']]]);
    expect(expected.overallStatus).to.equal(0);
    expect(s).to.deep.equal({ [testVM.name]: expected });
  });

  it('--json without --machine frames the same JSON for people', async () => {
    const r = await status([`--domains=${testVM.name}`, '--json']);
    const line = '-'.repeat(80);
    const framed = `JSON:\n${line}\n${JSON.stringify({ [testVM.name]: await truth(testVM) }, undefined, 2)}\n${line}`;
    expect(r.stdout.trim(), describeRun(r)).to.equal(framed);
  });

  it('--yaml --machine prints YAML with the same content as the JSON', async () => {
    const json = JSON.parse((await status([`--domains=${testVM.name}`, '--json', '--machine'])).stdout) as unknown;
    const yaml = parseYaml((await status([`--domains=${testVM.name}`, '--yaml', '--machine'])).stdout) as unknown;
    expect(yaml).to.deep.equal(json);
    expect(yaml).to.deep.equal({ [testVM.name]: await truth(testVM) });
  });

  it('--yaml without --machine frames the YAML for people', async () => {
    const r = await status([`--domains=${testVM.name}`, '--yaml']);
    const line = '-'.repeat(80);
    const m = new RegExp(`^YAML:\\n${line}\\n([\\s\\S]*)\\n${line}$`).exec(r.stdout.trim());
    expect(m, `the frame\n${describeRun(r)}`).to.not.equal(null);
    expect(parseYaml(m![1] as string)).to.deep.equal({ [testVM.name]: await truth(testVM) });
  });

  it('--yml is the same as --yaml', async () => {
    // The YAML of --yaml is pinned against libvirt above: --yml must give the same.
    const yml = (await status([`--domains=${testVM.name}`, '--yml', '--machine'])).stdout;
    expect(parseYaml(yml)).to.deep.equal({ [testVM.name]: await truth(testVM) });
  });

  it('status is the default command: no --status gives the same report', async () => {
    const r = await status([`--domains=${testVM.name}`]);
    expect(statusBlock(r.stdout, testVM.name), describeRun(r)).to.deep.equal(statusText(testVM.name, await truth(testVM)));
  });

  // --output: "statistics about the backups already saved to disk" (README). VMSnap's
  // unit tests pin what they hold (test/unit/libs/serialization.test.js): the path of the
  // current period's folder, the count of its checkpoint files, INCONSISTENT when that
  // count differs from libvirt's, and zeros for a folder that is not there.

  it('--output adds the backup folder stats of the current period (path, one checkpoint), in JSON and in text', async () => {
    const dir = `${out}/${testVM.name}/${periodFolder('month', await labNow())}`;
    const r = await status([`--domains=${testVM.name}`, `--output=${out}`, '--json', '--machine']);
    const s = jsonOf(r)[testVM.name] as DomainStatus;
    // Read from the folder: as many as it holds checkpoint files, which the backup made one of.
    expect(await checkpointFiles(t(), dir), `checkpoint files in ${dir}`).to.deep.equal(['virtnbdbackup.0']);
    const { backupDirStats, ...rest } = s;
    expect(rest, describeRun(r)).to.deep.equal(await truth(testVM));
    expect(backupDirStats, describeRun(r)).to.include({ path: dir, checkpoints: 1 });
    const text = await status([`--domains=${testVM.name}`, `--output=${out}`]);
    expect(statusBlock(text.stdout, testVM.name), describeRun(text)).to.deep.equal(statusText(testVM.name, s));
  });

  itKnownDefect('--output’s totals are the period folder’s files and their bytes', DEFECTS.statusTotalsMiscounted, async (known) => {
    const dir = `${out}/${testVM.name}/${periodFolder('month', await labNow())}`;
    const r = await status([`--domains=${testVM.name}`, `--output=${out}`, '--json', '--machine']);
    const stats = (jsonOf(r)[testVM.name] as DomainStatus).backupDirStats;
    const on = await periodFolderTotals(t(), dir);
    expect(stats?.checkpoints, describeRun(r)).to.equal(on.checkpointFiles);
    // What VMSnap's walk adds up (VMSNAP-14): the signature holds only when its totals are exactly these.
    const walk = { totalFiles: on.checkpointFiles + on.walkEntries, totalSize: on.checkpointBytes + on.walkBytes };
    const got = { totalFiles: stats?.totalFiles, totalSize: stats?.totalSize };
    const isWalk = got.totalFiles === walk.totalFiles && got.totalSize === walk.totalSize;
    await known(() =>
      expect(got, `the totals of ${dir} (${on.files} files of ${on.bytes} bytes; VMSnap's walk: ${walk.totalFiles} entries, ${walk.totalSize} bytes, ${isWalk ? 'VMSNAP-14 exactly' : 'not that either'})`).to.deep.equal({
        totalFiles: on.files,
        totalSize: on.bytes,
      }),
    );
  });

  it('--output where the folder holds fewer checkpoints than libvirt reports INCONSISTENT, with zero stats', async () => {
    const empty = await freshDir('status-empty');
    const s = await machineJson([`--domains=${testVM.name}`, `--output=${empty}`]);
    const dir = `${empty}/${testVM.name}/${periodFolder('month', await labNow())}`;
    expect(s).to.deep.equal({ [testVM.name]: { ...(await truth(testVM)), overallStatus: 1, backupDirStats: { path: dir, totalFiles: 0, checkpoints: 0, totalSize: 0 } } });
    const r = await status([`--domains=${testVM.name}`, `--output=${empty}`]);
    expect(r.stdout).to.include('  Overall status: INCONSISTENT\n');
  });

  it('--groupBy=year with --output reads the yearly folder, not the monthly one', async () => {
    // The month's backup copied under the yearly folder's name only: the stats can come from nowhere else.
    const now = await labNow();
    const copy = await freshDir('status-year');
    const yearly = `${copy}/${testVM.name}/${periodFolder('year', now)}`;
    await execOk(t(), ['mkdir', '-p', `${copy}/${testVM.name}`]);
    await execOk(t(), ['cp', '-a', `${out}/${testVM.name}/${periodFolder('month', now)}`, yearly]);
    const year = jsonOf(await status([`--domains=${testVM.name}`, `--output=${copy}`, '--groupBy=year', '--json', '--machine']))[testVM.name] as DomainStatus;
    expect(year.backupDirStats).to.include({ path: yearly, checkpoints: 1 });
    expect(year.overallStatus, 'the yearly folder matches libvirt').to.equal(0);
    const month = jsonOf(await status([`--domains=${testVM.name}`, `--output=${copy}`, '--json', '--machine']))[testVM.name] as DomainStatus;
    expect(month.backupDirStats, 'no monthly folder there').to.deep.equal({ path: `${copy}/${testVM.name}/${periodFolder('month', now)}`, totalFiles: 0, checkpoints: 0, totalSize: 0 });
    expect(month.overallStatus, 'libvirt has a checkpoint the (missing) monthly folder does not').to.equal(1);
  });

  it('--pretty prints each size as the README shows it (qemu-img’s bytes as 42.6 GB, 120 GB), in JSON and in text', async () => {
    const expected = await truth(testVM, true);
    expect(String(expected.disks[0]?.virtualSize)).to.match(/^[\d.]+ [kMG]B$/);
    expect(await machineJson([`--domains=${testVM.name}`, '--pretty'])).to.deep.equal({ [testVM.name]: expected });
    const r = await status([`--domains=${testVM.name}`, '--pretty']);
    expect(statusBlock(r.stdout, testVM.name), describeRun(r)).to.deep.equal(statusText(testVM.name, expected));
  });

  // Several domains: each must show its own data. The two guests differ (one checkpoint
  // and bitmap against none), so one domain's data under the other's name fails.
  it('reports several domains at once (--domains=a,b), each with its own data', async () => {
    const s = await machineJson([`--domains=${testVM.name},${other.name}`]);
    const mine = await truth(other);
    expect(mine.checkpoints, 'the second guest was never backed up').to.deep.equal([]);
    expect(s).to.deep.equal({ [testVM.name]: await truth(testVM), [other.name]: mine });
    const text = await status([`--domains=${testVM.name},${other.name}`]);
    for (const vm of [testVM, other]) expect(statusBlock(text.stdout, vm.name), describeRun(text)).to.deep.equal(statusText(vm.name, await truth(vm)));
  });

  it('a pattern (--domains=<run>-status*) reports the domains it matches, each with its own data', async () => {
    const pattern = `${lab().vms.vmName('status')}*`;
    expect(await machineJson([`--domains=${pattern}`])).to.deep.equal({ [testVM.name]: await truth(testVM), [other.name]: await truth(other) });
  });

  const allDomains = async () => (await execOk(t(), ['virsh', '-c', 'qemu:///system', 'list', '--all', '--name'])).stdout.split('\n').map((l) => l.trim()).filter(Boolean).sort();
  for (const [how, args] of [
    ['--domains=*', ['--domains=*']],
    ['no --domains (VMSnap’s default, "*")', []],
  ] as const) {
    it(`${how} reports every domain of the lab host, ours each with its own data`, async () => {
      const s = await machineJson([...args]);
      expect(Object.keys(s).sort(), 'the domains libvirt has').to.deep.equal(await allDomains());
      expect({ [testVM.name]: s[testVM.name], [other.name]: s[other.name] }).to.deep.equal({ [testVM.name]: await truth(testVM), [other.name]: await truth(other) });
    });
  }

  it('--verbose says what it does', async () => {
    const r = await status([`--domains=${testVM.name}`, '--status', '--verbose']);
    expect(r.stdout).to.include('Starting status check');
    expect(r.stdout).to.include('Overall status: OK');
  });

  // The other direction of INCONSISTENT: a folder with more checkpoint definitions than
  // libvirt has checkpoints, as a scrub leaves it (the second guest: backed up, then scrubbed).
  it('--output where the folder holds more checkpoints than libvirt (after a scrub) reports INCONSISTENT', async () => {
    const dir = await freshDir('status-scrubbed');
    const b = await execVMSnap([`--domains=${other.name}`, `--output=${dir}`, '--backup']);
    expect(b.exitCode, describeRun(b)).to.equal(0);
    const folder = `${dir}/${other.name}/${periodFolder('month', await labNow())}`;
    const before = await machineJson([`--domains=${other.name}`, `--output=${dir}`]);
    expect(before[other.name]?.overallStatus, 'before the scrub: the folder and libvirt agree').to.equal(0);
    const sc = await execVMSnap([`--domains=${other.name}`, '--scrub', '--scrubType=*']);
    expect(sc.exitCode, describeRun(sc)).to.equal(0);
    const after = await truth(other);
    expect([after.checkpoints, after.disks.map((d) => d.bitmaps)], 'libvirt and qemu-img after the scrub').to.deep.equal([[], [[]]]);
    const s = (await machineJson([`--domains=${other.name}`, `--output=${dir}`]))[other.name] as DomainStatus;
    const { backupDirStats, ...rest } = s;
    expect(rest).to.deep.equal({ ...after, overallStatus: 1 });
    expect(backupDirStats).to.include({ path: folder, checkpoints: 1 });
  });
});
