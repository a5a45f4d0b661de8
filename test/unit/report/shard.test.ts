import { expect } from 'chai';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { PROJECT_ROOT } from '../../../lib/config.js';
import { countJunit, listCases } from '../../../lib/report/junit-summary.js';
import { mergeShardReports, mergeSuiteJunit } from '../../../lib/report/shard-merge.js';
import { assignUnits, durationsByFile, filesToIgnore, parseShard, PER_LAB_FILES, planShards, SHARD_RECORD, shardRecord, shardsDisagree, suiteSpecFiles } from '../../../lib/report/shard.js';

describe('shards: a balanced share of the suites per shard, and one report from all of them', function () {
  this.timeout(120_000);
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'vmsnap-lab-shard-'));
  });
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('reads SHARD=i/n, and nothing else', () => {
    expect(parseShard('1/2')).to.deep.equal({ index: 1, total: 2 });
    expect(parseShard('3/3')).to.deep.equal({ index: 3, total: 3 });
    for (const bad of ['0/2', '3/2', '1/0', '1', 'a/b', '1/2/3', ' 1/2']) expect(parseShard(bad), bad).to.equal(undefined);
  });

  it('gives the longest unit first to the least loaded shard: balanced, and the same plan every time', () => {
    const d = new Map([['a', 100], ['b', 60], ['c', 50], ['d', 40], ['e', 10]]);
    const plan = assignUnits(['e', 'd', 'c', 'b', 'a'], 2, d);
    expect(Object.fromEntries(plan)).to.deep.equal({ a: 1, b: 2, c: 2, d: 1, e: 2 });
    expect(Object.fromEntries(assignUnits(['a', 'b', 'c', 'd', 'e'], 2, d)), 'order of the input does not matter').to.deep.equal(Object.fromEntries(plan));
    // Loads 140 / 120: no better split puts a on its own.
  });

  it('weighs a unit with no known duration as the median, and balances by count when none is known', () => {
    expect(Object.fromEntries(assignUnits(['x', 'y', 'z', 'w'], 2, new Map()))).to.deep.equal({ w: 1, x: 2, y: 1, z: 2 });
    // new weighs the median of 10 and 30 (30): b and new first, one each, then a to the lower index of equal loads.
    expect(Object.fromEntries(assignUnits(['a', 'b', 'new'], 2, new Map([['a', 10], ['b', 30]])))).to.deep.equal({ b: 1, new: 2, a: 1 });
  });

  it("lists a suite's spec files from its .mocharc.json, and shares out the lab-backed suites' files so each is in exactly one shard (the per-lab checks in none: every shard runs them)", () => {
    const integration = suiteSpecFiles(PROJECT_ROOT, 'integration');
    expect(integration).to.include('test/integration/backup-operations.test.ts');
    expect(integration).to.include('test/audit/leftover-audit.test.ts');
    const suites = ['lab', 'integration', 'recovery'];
    const all = suites.flatMap((s) => suiteSpecFiles(PROJECT_ROOT, s)).filter((f) => !PER_LAB_FILES.includes(f));
    for (const total of [1, 2, 3]) {
      const plan = planShards(PROJECT_ROOT, suites, total, new Map());
      expect([...plan.shardOf.keys()].sort(), `${total} shards`).to.deep.equal([...new Set(all)].sort());
      for (let i = 1; i <= total; i++) {
        const ignored = filesToIgnore(PROJECT_ROOT, 'integration', i, plan);
        expect(ignored ?? [], 'the audit is never left out').to.not.include('test/audit/leftover-audit.test.ts');
      }
    }
  });

  it('reads the durations per spec file from a report (the files of its <testsuite> elements)', async () => {
    const r = path.join(dir, 'last');
    await mkdir(r);
    await writeFile(
      path.join(r, 'x.xml'),
      `<?xml version="1.0"?><testsuites><testsuite name="A" file="${PROJECT_ROOT}/test/x/a.test.ts"><testcase name="A 1" time="1.5"/><testcase name="A 2" time="2"/></testsuite><testsuite name="A inner" file="${PROJECT_ROOT}/test/x/a.test.ts"><testcase name="A inner 3" time="0.5"/></testsuite><testsuite name="Root Suite"/></testsuites>`,
    );
    expect(Object.fromEntries(durationsByFile(r, PROJECT_ROOT))).to.deep.equal({ 'test/x/a.test.ts': 4 });
  });

  it('reads the durations of a report made in another checkout (a CI clone) as this checkout\'s files', async () => {
    const r = path.join(dir, 'elsewhere');
    await mkdir(r);
    await writeFile(path.join(r, 'x.xml'), '<?xml version="1.0"?><testsuites><testsuite name="B" file="/tmp/ci-x5IF/test/x/b.test.ts"><testcase name="B 1" time="3"/></testsuite></testsuites>');
    expect(Object.fromEntries(durationsByFile(r, PROJECT_ROOT))).to.deep.equal({ 'test/x/b.test.ts': 3 });
  });

  it('keeps a test several shards ran once, with its worst result (a per-lab check that failed in one shard failed)', async () => {
    const [a, b] = [path.join(dir, 'dup-a.xml'), path.join(dir, 'dup-b.xml')];
    await writeFile(a, '<?xml version="1.0"?><testsuites><testsuite name="S"><testcase name="S one" time="1"/><testcase name="S audit" time="1"/></testsuite></testsuites>');
    await writeFile(b, '<?xml version="1.0"?><testsuites><testsuite name="S"><testcase name="S two" time="1"><skipped/></testcase><testcase name="S audit" time="1"><failure message="left a guest"/></testcase></testsuite></testsuites>');
    const out = path.join(dir, 'dup-out.xml');
    mergeSuiteJunit([a, b], out);
    const cases = await listCases(out, 's');
    expect(cases.map((c) => [c.name.replace(/^.*? S /, 'S '), c.status])).to.deep.equal([
      ['S one', 'passed'],
      ['S audit', 'failed'],
      ['S two', 'skipped'],
    ]);
    expect(await countJunit(out)).to.deep.equal({ passed: 1, failed: 1, skipped: 1 });
  });

  it('two shards of a real suite, run by Mocha with their --ignores and the suites’ reporters, merge to the tests and counts of one unsharded run', async () => {
    // The unit suite, dry-run (every test listed, none run): the selection and the merge are what is tested.
    const run = async (name: string, args: string[]) => {
      const out = path.join(dir, name);
      await mkdir(out, { recursive: true });
      const r = await execa(path.join(PROJECT_ROOT, 'node_modules/.bin/mocha'), ['--config', 'test/unit/.mocharc.json', '--dry-run', ...args], {
        cwd: PROJECT_ROOT,
        reject: false,
        env: { MOCHA_FILE: path.join(out, 'unit.xml'), MOCHAWESOME_REPORTDIR: out, MOCHAWESOME_REPORTFILENAME: 'unit' },
      });
      expect(r.exitCode, r.stderr).to.equal(0);
      return out;
    };
    const whole = await run('whole', []);
    const plan = planShards(PROJECT_ROOT, ['unit'], 2, new Map());
    const shards = await Promise.all([1, 2].map(async (i) => run(`shard-${i}`, (filesToIgnore(PROJECT_ROOT, 'unit', i, plan) ?? []).flatMap((f) => ['--ignore', f]))));
    // What test-all writes beside each shard's report: the merge checks the shards planned alike.
    for (const [i, s] of shards.entries()) await writeFile(path.join(s, SHARD_RECORD), JSON.stringify(shardRecord({ index: i + 1, total: 2 }, plan, new Map(), undefined)));
    const [c1, c2] = await Promise.all(shards.map((s) => countJunit(path.join(s, 'unit.xml'))));
    expect(c1!.passed, 'each shard runs a share').to.be.greaterThan(0);
    expect(c2!.passed).to.be.greaterThan(0);
    const merged = await mergeShardReports(shards, path.join(dir, 'merged'));
    expect(merged.counts).to.deep.equal(await countJunit(path.join(whole, 'unit.xml')));
    const names = async (f: string) => (await listCases(f, 'unit')).map((c) => c.name).sort();
    expect(await names(path.join(dir, 'merged', 'unit.xml'))).to.deep.equal(await names(path.join(whole, 'unit.xml')));
    const html = JSON.parse(await readFile(path.join(dir, 'merged', 'unit.json'), 'utf8')) as { stats: { tests: number } };
    expect(html.stats.tests, 'the merged HTML report counts each test once').to.equal(merged.counts.passed);
  });

  it('merges only the shards of one plan: every shard once, of one total, planned alike; anything else is refused in one line', async () => {
    const units = ['test/a.test.ts', 'test/b.test.ts', 'test/c.test.ts'];
    const planOf = (durations: Map<string, number>) => ({ shardOf: assignUnits(units, 2, durations), loads: [] });
    const same = planOf(new Map());
    // Other durations move a file from one shard to the other: a different plan.
    const moved = planOf(new Map([['test/a.test.ts', 1], ['test/b.test.ts', 100], ['test/c.test.ts', 1]]));
    expect(JSON.stringify(Object.fromEntries(moved.shardOf))).to.not.equal(JSON.stringify(Object.fromEntries(same.shardOf)));
    const folder = async (name: string, record?: object) => {
      const d = path.join(dir, 'records', name);
      await mkdir(d, { recursive: true });
      if (record) await writeFile(path.join(d, SHARD_RECORD), JSON.stringify(record));
      return d;
    };
    const s1 = await folder('s1', shardRecord({ index: 1, total: 2 }, same, new Map(), undefined));
    const s2 = await folder('s2', shardRecord({ index: 2, total: 2 }, same, new Map(), undefined));
    expect(shardsDisagree([s1, s2])).to.equal(undefined);
    expect(shardsDisagree([s2, s1]), 'in any order').to.equal(undefined);
    expect(shardsDisagree([s1])).to.match(/^shard 2\/2 is missing/);
    expect(shardsDisagree([s1, s1])).to.match(/^shard 1\/2 is given twice/);
    const bare = await folder('bare');
    expect(shardsDisagree([s1, bare])).to.match(/bare has no shard\.json: it is not a shard's report/);
    const of3 = await folder('of3', shardRecord({ index: 2, total: 3 }, same, new Map(), undefined));
    expect(shardsDisagree([s1, of3])).to.match(/is a shard of 2, .* of 3: not the shards of one run$/);
    const other = await folder('other', shardRecord({ index: 2, total: 2 }, moved, new Map([['test/b.test.ts', 100]]), 'artifacts/reports/x'));
    const why = shardsDisagree([s1, other]);
    expect(why).to.match(/^the shards planned differently: shard 1 planned by file, shard 2 artifacts\/reports\/x \(durations [0-9a-f]{12}\); test\/\w\.test\.ts is in shard \d by one and \d by the other/);
    // The merge refuses before it writes anything.
    const out = path.join(dir, 'records', 'merged');
    let error: Error | undefined;
    await mergeShardReports([s1, other], out).catch((e: Error) => (error = e));
    expect(error?.message).to.equal(`cannot merge: ${why}`);
    expect(existsSync(out), 'nothing written').to.equal(false);
  });
});
