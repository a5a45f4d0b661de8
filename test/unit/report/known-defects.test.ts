import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { defectsFileFor, defectSummaryLines, readDefectRecords, type DefectRecord } from '../../../lib/report/known-defects.js';

describe('known-defect records', () => {
  const records: DefectRecord[] = [
    { test: 'A fails', defect: 'VMSNAP-1', link: 'docs/x.md#vmsnap-1', outcome: 'known failure', error: 'expected 0 to equal 3' },
    { test: 'B passes', defect: 'VMSNAP-2', link: 'docs/x.md#vmsnap-2', outcome: 'now passing' },
  ];

  it('sits next to the suite’s JUnit file', () => {
    expect(defectsFileFor('/r/integration.xml')).to.equal('/r/integration.known-defects.json');
  });

  it('reads every suite’s records from a report folder', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'kd-'));
    writeFileSync(path.join(dir, 'integration.known-defects.json'), JSON.stringify(records));
    writeFileSync(path.join(dir, 'integration.xml'), '<testsuites/>');
    expect(readDefectRecords(dir)).to.deep.equal(records);
    expect(readDefectRecords(path.join(dir, 'missing'))).to.deep.equal([]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('lists known failures with their link, and flags the ones now passing', () => {
    const lines = defectSummaryLines(records);
    expect(lines[0]).to.match(/known VMSnap defects .*: 1$/);
    expect(lines.join('\n')).to.include('KNOWN FAILURE  A fails  [VMSNAP-1: docs/x.md#vmsnap-1]');
    expect(lines.join('\n')).to.include('NOW PASSING    B passes  [VMSNAP-2 no longer reproduces, so the test FAILED: VMSnap changed; read the change, remove the mark]');
    expect(defectSummaryLines([])).to.deep.equal([]);
  });
});
