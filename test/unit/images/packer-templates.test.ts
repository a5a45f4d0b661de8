import { readdirSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { execa } from 'execa';
import { PROJECT_ROOT } from '../../../lib/config.js';

// Every template is checked by the Packer on this machine (Debian's 1.6.6): the
// syntax of all of them offline, and a full validate of the offline ones, whose
// builders (null + shell-local) need no plugin and no network.
const templates = readdirSync(path.join(PROJECT_ROOT, 'packer'), { recursive: true, encoding: 'utf8' })
  .filter((f) => f.endsWith('.pkr.hcl') && !f.endsWith('plugins.pkr.hcl'))
  .map((f) => path.join('packer', f))
  .sort();

describe('Packer templates', function () {
  this.timeout(60_000);

  it('finds the three templates', () => {
    expect(templates).to.deep.equal(['packer/guest-alpine/alpine.pkr.hcl', 'packer/guest-debian/guest-debian.pkr.hcl', 'packer/lab-host/lab-host.pkr.hcl']);
  });

  for (const t of templates) {
    it(`${t}: packer validate -syntax-only`, async () => {
      const r = await execa('packer', ['validate', '-syntax-only', t], { cwd: PROJECT_ROOT, reject: false });
      expect(r.exitCode, r.stdout + r.stderr).to.equal(0);
    });
  }

  for (const t of templates.filter((f) => !f.includes('alpine'))) {
    it(`${t}: full packer validate with its variables`, async () => {
      const vars = ['out_dir=/tmp/x', 'mirror=http://mirror.invalid/debian', ...(t.includes('lab-host') ? ['vagrant_pubkey=/tmp/k.pub'] : [])];
      const r = await execa('packer', ['validate', ...vars.flatMap((v) => ['-var', v]), t], { cwd: PROJECT_ROOT, reject: false });
      expect(r.exitCode, r.stdout + r.stderr).to.equal(0);
    });
  }

  it('keeps required_plugins out of the file Packer 1.6.6 is given', async () => {
    const r = await execa('grep', ['-l', 'required_plugins', '-r', 'packer'], { cwd: PROJECT_ROOT, reject: false });
    expect(r.stdout.trim().split('\n')).to.deep.equal(['packer/guest-alpine/plugins.pkr.hcl']);
  });
});
