import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { execa } from 'execa';
import { xmlSafe } from '../../../lib/report/junit-xml.js';
import { markJunit } from '../../../lib/report/test-marks.js';
import { writeNotRun } from '../../../lib/report/not-run.js';

// What XML 1.0 forbids never reaches a report: VMSnap's coloured log lines and
// stray control characters travel into known-defect marks and not-run reasons.
describe('JUnit XML that strict parsers read', () => {
  // eslint-disable-next-line no-control-regex -- control characters are what it looks for
  const forbidden = /[^\x09\x0A\x0D\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;
  const dirty = 'VMSnap said: \x1b[31mBackup for vm failed with code 1\x1b[39m \x07bell \x0bvt \uD800lone';

  /** Python's ElementTree (expat): a strict XML 1.0 parser, as on every machine of this kind. */
  const strictParse = async (xml: string) => {
    const dir = await mkdtemp(path.join(tmpdir(), 'vmsnap-lab-xml-'));
    try {
      const file = path.join(dir, 'r.xml');
      await writeFile(file, xml);
      return await execa('python3', ['-c', 'import sys,xml.etree.ElementTree as E; E.parse(sys.argv[1])', file], { reject: false });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  };

  it('drops colour sequences and writes other forbidden characters as \\xNN text', () => {
    expect(xmlSafe(dirty)).to.equal('VMSnap said: Backup for vm failed with code 1 \\x07bell \\x0bvt \\xd800lone');
    expect(xmlSafe('tab\tnewline\n ok é 😀')).to.equal('tab\tnewline\n ok é 😀');
  });

  it('a marked report and a not-run report parse with a strict parser, with the evidence still readable', async () => {
    const xml = '<?xml version="1.0" encoding="UTF-8"?>\n<testsuites><testsuite name="s" tests="1"><testcase name="t" classname="s"><skipped/></testcase></testsuite></testsuites>';
    const marked = markJunit(xml, [{ test: 't', name: 'known-defect', value: dirty, skipped: `known defect: ${dirty}` }]).xml;
    expect(marked).to.not.match(forbidden);
    expect(marked).to.include('Backup for vm failed with code 1');
    expect((await strictParse(marked)).exitCode).to.equal(0);
    expect((await strictParse(xml.replace('<skipped/>', '<skipped message="\x1b[31m"/>'))).exitCode, 'the parser is strict').to.not.equal(0);
    const dir = await mkdtemp(path.join(tmpdir(), 'vmsnap-lab-notrun-'));
    try {
      await writeNotRun(path.join(dir, 'n.xml'), 'suite', ['a test'], dirty);
      const { readFile } = await import('node:fs/promises');
      const notRun = await readFile(path.join(dir, 'n.xml'), 'utf8');
      expect(notRun).to.not.match(forbidden);
      expect((await strictParse(notRun)).exitCode).to.equal(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
