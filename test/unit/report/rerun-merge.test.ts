import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { countJunit, listCases } from '../../../lib/report/junit-summary.js';
import { eventLine, exactTitles, finishedTests, mergeDefects, mergeJunit, mergeMochawesome, type InfraEvent } from '../../../lib/report/rerun-merge.js';

// Two attempts of one suite, shaped as mocha-junit-reporter and mochawesome write
// them: the first ends when the lab host dies in test B (C never ran; the root
// hook's failure stands for it), the second runs B and C on the new lab host.
const junit = (cases: string) => `<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="Mocha Tests" time="1" tests="3" failures="1">
  <testsuite name="Root Suite" timestamp="2026-12-01T00:00:00" tests="0" time="0.000" failures="0">
  </testsuite>
  <testsuite name="S" timestamp="2026-12-01T00:00:00" tests="3" file="/x.test.ts" time="1" failures="1">
${cases}
  </testsuite>
</testsuites>`;
const q = (t: string) => t.replace(/"/g, '&quot;');
const ok = (t: string) => `    <testcase name="S ${q(t)}" time="0.1" classname="${q(t)}">\n    </testcase>`;
const bad = (t: string, why: string) => `    <testcase name="S ${q(t)}" time="0.1" classname="${q(t)}">\n      <failure message="${why}" type="Error"><![CDATA[Error: ${why}\n    at x]]></failure>\n    </testcase>`;
const skipped = (t: string) => `    <testcase name="S ${t}" time="0" classname="${t}">\n      <skipped/>\n    </testcase>`;

const FIRST = junit([ok('A'), skipped('K'), bad('F', 'expected 1 to equal 2'), bad('B', 'timed out'), bad('"before each" hook for "C"', 'lab host gone')].join('\n'));
const SECOND = junit([ok('B'), ok('C')].join('\n'));

const ma = (tests: { t: string; state: string; hook?: boolean }[]) => ({
  stats: { start: '2026-12-01T00:00:00.000Z', end: '2026-12-01T00:00:01.000Z' },
  meta: {},
  results: [
    {
      title: '',
      tests: [],
      passes: [],
      failures: [],
      pending: [],
      skipped: [],
      suites: [
        {
          title: 'S',
          suites: [],
          tests: tests.map((x) => ({ title: x.t, fullTitle: `S ${x.t}`, state: x.state, uuid: `u-${x.t}`, isHook: x.hook ?? false, context: null })),
          passes: tests.filter((x) => x.state === 'passed').map((x) => `u-${x.t}`),
          failures: tests.filter((x) => x.state === 'failed').map((x) => `u-${x.t}`),
          pending: tests.filter((x) => x.state === 'pending').map((x) => `u-${x.t}`),
          skipped: [],
        },
      ],
    },
  ],
});

describe('rerun-merge: two attempts of a suite read as one run', function () {
  let dir: string;
  const f = (n: string) => path.join(dir, n);
  const event: InfraEvent = { suite: 's', test: 'S B', why: 'no answer within 30 s', console: [], replacedInS: 212.5, rerun: 'passed' };

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'rerun-merge-'));
    await writeFile(f('1.xml'), FIRST);
    await writeFile(f('2.xml'), SECOND);
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('keeps from the first attempt what finished, its own failures included, but not the test the death hit nor hook entries', async () => {
    expect(await finishedTests(f('1.xml'), 'S B')).to.deep.equal(['S A', 'S K', 'S F']);
  });

  it('makes a --grep pattern that matches exactly those titles, whatever their characters', () => {
    const re = new RegExp(exactTitles(['S a.b (x)', 'S [y]|z']));
    expect(re.test('S a.b (x)')).to.equal(true);
    expect(re.test('S [y]|z')).to.equal(true);
    expect(re.test('S a.b (x) and more'), 'a longer title is another test').to.equal(false);
    expect(re.test('S aXb (x)')).to.equal(false);
  });

  it('merges the JUnit: each test once, the real failure kept, the re-run test with its event as a property', async () => {
    const keep = await finishedTests(f('1.xml'), 'S B');
    await mergeJunit([{ junit: f('1.xml'), mochawesome: '', defects: '', keep }, { junit: f('2.xml'), mochawesome: '', defects: '' }], f('out.xml'), [event]);
    const cases = await listCases(f('out.xml'), 's');
    expect(cases.map((c) => [c.name, c.status])).to.deep.equal([
      ['A S A', 'passed'],
      ['K S K', 'skipped'],
      ['F S F', 'failed'],
      ['B S B', 'passed'],
      ['C S C', 'passed'],
    ]);
    expect(cases.find((c) => c.name.endsWith('S F'))?.message).to.equal('expected 1 to equal 2');
    expect(await countJunit(f('out.xml'))).to.deep.equal({ passed: 3, failed: 1, skipped: 1 });
    const xml = await readFile(f('out.xml'), 'utf8');
    expect(xml).to.include(`<property name="infrastructure-event" value="${eventLine(event).replace(/"/g, '&quot;')}"/>`);
    expect(xml.match(/infrastructure-event/g)).to.have.length(1);
    expect(xml).to.match(/<testsuites [^>]*tests="5" failures="1" skipped="1"/);
  });

  it('merges the mochawesome JSON the same way, the event in the re-run test\'s context', async () => {
    await writeFile(f('1.json'), JSON.stringify(ma([{ t: 'A', state: 'passed' }, { t: 'F', state: 'failed' }, { t: 'B', state: 'failed' }, { t: '"before each" hook for "C"', state: 'failed', hook: true }])));
    // The second attempt ran with --grep --invert: mochawesome lists the left-out A and F without a state.
    await writeFile(f('2.json'), JSON.stringify(ma([{ t: 'A', state: '' }, { t: 'F', state: '' }, { t: 'B', state: 'passed' }, { t: 'C', state: 'passed' }])));
    await mergeMochawesome([{ junit: '', mochawesome: f('1.json'), defects: '', keep: ['S A', 'S F'] }, { junit: '', mochawesome: f('2.json'), defects: '' }], f('out.json'), [event]);
    const out = JSON.parse(await readFile(f('out.json'), 'utf8')) as { stats: { tests: number; passes: number; failures: number }; results: { suites: { tests: { fullTitle: string; context: string | null }[] }[] }[] };
    const tests = out.results.flatMap((r) => r.suites.flatMap((s) => s.tests));
    expect(tests.map((t) => t.fullTitle)).to.deep.equal(['S A', 'S F', 'S B', 'S C']);
    expect(out.stats).to.include({ tests: 4, passes: 3, failures: 1 });
    expect(JSON.parse(tests.find((t) => t.fullTitle === 'S B')!.context!)).to.deep.equal([{ title: 'infrastructure event', value: eventLine(event) }]);
  });

  it('keeps the known-defect records of the tests each attempt keeps', async () => {
    await writeFile(f('1.d.json'), JSON.stringify([{ test: 'S K' }, { test: 'S B' }]));
    await writeFile(f('2.d.json'), JSON.stringify([{ test: 'S B' }]));
    await mergeDefects([{ junit: '', mochawesome: '', defects: f('1.d.json'), keep: ['S A', 'S K'] }, { junit: '', mochawesome: '', defects: f('2.d.json') }], f('out.d.json'));
    expect(JSON.parse(await readFile(f('out.d.json'), 'utf8'))).to.deep.equal([{ test: 'S K' }, { test: 'S B' }]);
  });
});
