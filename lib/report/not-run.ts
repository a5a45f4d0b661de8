import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { XMLBuilder } from 'fast-xml-parser';
import { xmlSafe } from './junit-xml.js';

/**
 * A JUnit file for a suite that could not run: each test it would have run is a
 * <skipped> case with the reason, so the report and CI's summary count it as
 * not run (never as passed) and say why.
 */
export async function writeNotRun(file: string, suite: string, cases: string[], reason: string, as: 'skipped' | 'failure' = 'skipped'): Promise<void> {
  const builder = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: '@', format: true });
  const xml = builder.build({
    '?xml': { '@version': '1.0', '@encoding': 'UTF-8' },
    testsuites: {
      '@name': suite,
      '@tests': cases.length,
      '@skipped': as === 'skipped' ? cases.length : 0,
      '@failures': as === 'failure' ? cases.length : 0,
      testsuite: {
        '@name': suite,
        '@tests': cases.length,
        testcase: cases.map((name) => ({ '@name': name, '@classname': suite, [as]: { '@message': `not run: ${reason}` } })),
      },
    },
  }) as string;
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, xmlSafe(xml));
}
