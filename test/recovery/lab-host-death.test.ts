import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { XMLParser } from 'fast-xml-parser';
import { getLabConfig } from '../../lib/config.js';
import { driverFor } from '../../lib/lab/drivers/index.js';
import { labPaths, outerNames } from '../../lib/lab/lab-paths.js';
import { readState } from '../../lib/lab/lab-state.js';
import { labRecovery } from '../../lib/lab/lab-up.js';
import { filesInUse } from '../../lib/lab/box-cache.js';
import { auditOuter, poolVolumes } from '../../lib/lab/outer-libvirt.js';
import { listCases } from '../../lib/report/junit-summary.js';
import { runSuite, type Recovery } from '../../lib/suites.js';
import { LocalTransport } from '../../lib/transport/local-transport.js';
import { execOk, VIRSH_URI } from '../../lib/transport/transport.js';
import { suiteReportDir } from '../support/report-env.js';

// A lab host that dies in the middle of a suite is replaced, the test it hit runs
// once more on the new one, and the rest of the suite runs there. Proven for real:
// test/recovery-target's second test destroys the lab host from this machine.
// Runs on this machine (no lab fixture: the lab host it would hold dies).
describe('Recovery: a lab host destroyed in the middle of a suite is replaced, and the suite goes on', function () {
  const config = getLabConfig();
  const outer = new LocalTransport();
  const virshOut = async (args: string[]) => (await execOk(outer, ['virsh', ...VIRSH_URI, ...args])).stdout.trim();
  let work: string;

  before(async function () {
    if (!driverFor(config.provider).hasLabHost) {
      const test = this.test as Mocha.Hook;
      test.title = `${test.title} [not run: the local provider has no lab host to destroy and replace]`;
      this.skip();
    }
    work = await mkdtemp(path.join(tmpdir(), 'vmsnap-lab-recovery-'));
  });
  after(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('kills the lab host during a test: one infrastructure event, that test passes on the new lab host with the event on it, every other test passes once, nothing of the dead lab host is left', async () => {
    const mark = path.join(work, 'dead-lab-host.json');
    // The run's own replacement path; room for one death whatever LAB_MAX_DEATHS says.
    const recovery: Recovery = { ...(labRecovery(config) as Recovery), max: 3 };
    const dir = path.join(suiteReportDir, 'recovery-target');
    const r = await runSuite('recovery-target', dir, { RECOVERY_MARK: mark }, recovery);

    const killed = 'Recovery target: the lab host is destroyed in the middle of this suite the lab host is destroyed from the outer machine during this test; on its replacement a test guest runs';
    expect(r.events.map((e) => e.test), JSON.stringify(r.events)).to.deep.equal([killed]);
    const event = r.events[0]!;
    expect(event.rerun).to.equal('passed');
    expect(event.replacedInS).to.be.greaterThan(0);
    expect(event.why).to.match(/no answer within 30 s|restarted|ECONNRESET|EHOSTUNREACH|timed out|Keepalive/i);
    expect(recovery.events).to.have.length(1);

    // One run's report: every test once, all passed, the killed one with its event as a JUnit property.
    const cases = await listCases(r.junit, 'recovery-target');
    const names = cases.map((c) => c.name);
    expect(new Set(names).size, `each test once: ${names.join(' | ')}`).to.equal(names.length);
    expect(cases.filter((c) => c.status !== 'passed'), JSON.stringify(cases)).to.deep.equal([]);
    expect(cases).to.have.length(7); // 3 tests + the 4 leftover-audit checks
    expect(r.counts).to.deep.equal({ passed: 7, failed: 0, skipped: 0 });
    expect(r.exitCode).to.equal(0);
    const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' }).parse(await readFile(r.junit, 'utf8')) as {
      testsuites: { testsuite: { testcase?: { name: string; properties?: { property: { name: string; value: string } } } | { name: string }[] }[] };
    };
    const all = doc.testsuites.testsuite.flatMap((s) => (Array.isArray(s.testcase) ? s.testcase : s.testcase ? [s.testcase] : [])) as { name: string; properties?: { property: { name: string; value: string } } }[];
    const tc = all.find((c) => c.name === killed);
    expect(tc?.properties?.property.name).to.equal('infrastructure-event');
    expect(tc?.properties?.property.value).to.match(/^lab host died during ".+": .+; replaced in [\d.]+ s; re-run on the new lab host: passed$/);
    expect(all.filter((c) => c.name !== killed && c.properties), 'no other test carries an event').to.deep.equal([]);
    const html = await readFile(path.join(dir, 'recovery-target.json'), 'utf8');
    expect(html, 'the HTML report source carries the event').to.include('infrastructure event');

    // Nothing of the dead lab host is left on this machine's libvirt: a new lab host
    // (another QEMU), the same objects, and no volume the new one does not use.
    const dead = JSON.parse(await readFile(mark, 'utf8')) as { uuid: string; pid: string; volumes: string[] };
    const names_ = outerNames(config);
    const state = await readState(config);
    if (state?.startPath === 'restored') {
      // Restored from the saved lab-host state: the same domain definition (libvirt restores
      // a state only under its own name and UUID), started again (a new QEMU, checked below;
      // a new lab host id, checked by the recovery-target suite).
      expect(await virshOut(['domuuid', names_.domain]), 'the restored lab host is the saved domain').to.equal(dead.uuid);
    } else {
      expect(await virshOut(['domuuid', names_.domain]), 'the lab host is a new domain').to.not.equal(dead.uuid);
      expect((await outer.exec(['virsh', ...VIRSH_URI, 'dominfo', dead.uuid])).exitCode, 'the dead domain is undefined').to.not.equal(0);
    }
    expect((await execOk(outer, ['pgrep', '-f', `guest=${names_.domain},`])).stdout.trim().split('\n'), 'one lab-host QEMU, not the dead one').to.have.length(1).and.not.include(dead.pid);
    expect(await auditOuter(outer, config.prefix)).to.deep.equal({ domains: [names_.domain], networks: [names_.network], pools: [names_.pool] });
    // Its disks with their backing chains (as the box cache counts them), its kernel and initrd.
    const kernelFiles = [...(await virshOut(['dumpxml', names_.domain])).matchAll(/<(?:kernel|initrd)>([^<]+)</g)].map((m) => m[1] as string);
    const used = new Set([...(await filesInUse(outer)), ...kernelFiles]);
    const poolDir = labPaths(config).poolDir;
    const vols = await poolVolumes(outer, names_.pool);
    expect(vols.filter((v) => !used.has(path.join(poolDir, v))), `volumes the new lab host does not use (before the kill: ${dead.volumes.join(' ')})`).to.deep.equal([]);
    expect(vols.length, 'its disk, kernel and initrd').to.be.greaterThanOrEqual(3);
    expect((await readState(config))?.ssh, 'the lab state names the new lab host').to.not.equal(undefined);
  });
});
