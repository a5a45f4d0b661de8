import { expect } from 'chai';
import { parse as parseYaml } from 'yaml';
import { execOk, shellQuote } from '../../lib/transport/transport.js';
import { checkpointFiles } from '../../lib/vmsnap/assertions.js';
import { periodFolder } from '../../lib/vmsnap/periods.js';
import { describeRun, type VMSnapResult } from '../../lib/vmsnap/vmsnap-runner.js';
import type { TestVM } from '../../lib/vm/test-vm.js';
import { itExtra } from '../support/extra-tests.js';
import { lab } from '../support/lab-fixture.js';
import { execVMSnap, freshDir, labNow } from '../support/vmsnap-fixture.js';

// Plan §5 "Status and Information Commands", plus every output form the README
// documents: text, --json, --yaml/--yml, --machine, --output stats, --pretty,
// --groupBy, several domains, --verbose, and status as the default command.

interface DomainStatus {
  checkpoints: string[];
  disks: { disk: string; virtualSize: number | string; actualSize: number | string; bitmaps: string[] }[];
  overallStatus: number;
  backupDirStats?: { path: string; totalFiles: number; checkpoints: number; totalSize: number | string };
}

/**
 * The items VMSnap's text status lists under `header` (one per line, indented
 * deeper than the header), up to the next line at the header's depth or less.
 */
function textList(stdout: string, header: string): string[] {
  const lines = stdout.split('\n');
  const at = lines.findIndex((l) => l.includes(header));
  if (at < 0) return [];
  const indent = (l: string) => l.length - l.trimStart().length;
  const depth = indent(lines[at] as string);
  const items: string[] = [];
  for (const l of lines.slice(at + 1)) {
    if (!l.trim() || indent(l) <= depth) break;
    items.push(l.trim().split(/\s+/).at(-1) as string);
  }
  return items;
}

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

  before(async () => {
    [testVM, other] = (await Promise.all([lab().vms.createTestVM('status'), lab().vms.createTestVM('status-2')])) as [TestVM, TestVM];
    out = await freshDir('status');
    const r = await execVMSnap([`--domains=${testVM.name}`, `--output=${out}`, '--backup']);
    expect(r.exitCode, describeRun(r)).to.equal(0);
  });
  after(async () => {
    await Promise.all([testVM, other].filter(Boolean).map((vm) => lab().vms.destroyVM(vm)));
  });

  it('displays VM status correctly', async () => {
    const result = await status([`--domains=${testVM.name}`, '--status']);

    expect(result.exitCode).to.equal(0);
    expect(result.stdout).to.include('Overall status: OK');
    expect(result.stdout).to.include(`Checkpoints found for ${testVM.name}:`);
    // Each list on its own: the checkpoint name must be under the checkpoints, not only under the bitmaps.
    expect(textList(result.stdout, `Checkpoints found for ${testVM.name}:`), describeRun(result)).to.deep.equal(['virtnbdbackup.0']);
    expect(textList(result.stdout, 'Bitmaps found for vda:'), describeRun(result)).to.deep.equal(['virtnbdbackup.0']);
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

  it('--json --machine reports the checkpoint, the disk vda with its bitmap, and status 0 (OK)', async () => {
    const s = JSON.parse((await status([`--domains=${testVM.name}`, '--json', '--machine'])).stdout) as Record<string, DomainStatus>;
    const d = s[testVM.name] as DomainStatus;
    expect(d.checkpoints).to.deep.equal(['virtnbdbackup.0']);
    expect(d.disks.map((x) => x.disk)).to.deep.equal(['vda']);
    expect(d.disks[0]?.bitmaps).to.deep.equal(['virtnbdbackup.0']);
    expect(d.disks[0]?.virtualSize).to.be.a('number').greaterThan(0);
    expect(d.overallStatus).to.equal(0);
  });

  itExtra('--json without --machine frames the same JSON for people', async () => {
    const r = await status([`--domains=${testVM.name}`, '--json']);
    expect(r.stdout).to.match(/JSON:\n-{80}\n/);
    expect(jsonOf(r)[testVM.name]?.checkpoints).to.deep.equal(['virtnbdbackup.0']);
  });

  it('--yaml --machine prints YAML with the same content as the JSON', async () => {
    const json = JSON.parse((await status([`--domains=${testVM.name}`, '--json', '--machine'])).stdout) as unknown;
    const yaml = parseYaml((await status([`--domains=${testVM.name}`, '--yaml', '--machine'])).stdout) as unknown;
    expect(yaml).to.deep.equal(json);
  });

  itExtra('--yml is the same as --yaml', async () => {
    const yml = (await status([`--domains=${testVM.name}`, '--yml', '--machine'])).stdout;
    const yaml = (await status([`--domains=${testVM.name}`, '--yaml', '--machine'])).stdout;
    expect(yml).to.equal(yaml);
  });

  itExtra('status is the default command: no --status gives the same report', async () => {
    const r = await status([`--domains=${testVM.name}`]);
    expect(r.stdout).to.include('Overall status: OK');
    expect(r.stdout).to.include(`Checkpoints found for ${testVM.name}:`);
  });

  // --output: "statistics about the backups already saved to disk" (README). VMSnap's
  // unit tests pin what they hold (test/unit/libs/serialization.test.js): the path of the
  // current period's folder, the count of its checkpoint files, INCONSISTENT when that
  // count differs from libvirt's, and zeros for a folder that is not there.

  itExtra('--output adds the backup folder stats of the current period (path, files, one checkpoint)', async () => {
    const dir = `${out}/${testVM.name}/${periodFolder('month', await labNow())}`;
    const r = await status([`--domains=${testVM.name}`, `--output=${out}`, '--json', '--machine']);
    const s = jsonOf(r)[testVM.name] as DomainStatus;
    expect(s.backupDirStats?.path).to.equal(dir);
    // Read from the folder: as many as it holds checkpoint files, which the backup made one of.
    expect(await checkpointFiles(t(), dir), `checkpoint files in ${dir}`).to.deep.equal(['virtnbdbackup.0']);
    expect(s.backupDirStats?.checkpoints, describeRun(r)).to.equal(1);
    const files = Number((await t().exec(`find ${shellQuote([dir])} -type f | wc -l`)).stdout.trim());
    expect(s.backupDirStats?.totalFiles, `VMSnap counts every file of ${dir} (${files})`).to.be.at.least(files);
    expect(s.overallStatus).to.equal(0);
  });

  itExtra('--output where the folder holds fewer checkpoints than libvirt reports INCONSISTENT', async () => {
    const empty = await freshDir('status-empty');
    const r = await status([`--domains=${testVM.name}`, `--output=${empty}`]);
    expect(r.stdout).to.include('Overall status: INCONSISTENT');
  });

  itExtra('--groupBy=year with --output reads the yearly folder, not the monthly one', async () => {
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

  itExtra('--pretty prints sizes for people', async () => {
    const s = jsonOf(await status([`--domains=${testVM.name}`, '--pretty', '--json', '--machine']))[testVM.name] as DomainStatus;
    expect(String(s.disks[0]?.virtualSize)).to.match(/^[\d.]+ [kMG]B$/);
  });

  itExtra('reports several domains at once (--domains=a,b)', async () => {
    const s = jsonOf(await status([`--domains=${testVM.name},${other.name}`, '--json', '--machine']));
    expect(Object.keys(s).sort()).to.deep.equal([testVM.name, other.name].sort());
    expect(s[other.name]?.checkpoints).to.deep.equal([]);
  });

  itExtra('--verbose says what it does', async () => {
    const r = await status([`--domains=${testVM.name}`, '--status', '--verbose']);
    expect(r.stdout).to.include('Starting status check');
    expect(r.stdout).to.include('Overall status: OK');
  });
});
