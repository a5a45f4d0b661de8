import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { suiteReportDir } from './report-env.js';

/**
 * Timings the suites observe (boot times, backup times) are recorded, never
 * asserted: they go to <reports>/measurements.json for the report and the bench.
 */
export function recordMeasurement(name: string, value: number): void {
  const dir = suiteReportDir;
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'measurements.json');
  let all: Record<string, number[]> = {};
  try {
    all = JSON.parse(readFileSync(file, 'utf8')) as Record<string, number[]>;
  } catch {
    // first measurement of the run
  }
  (all[name] ??= []).push(Math.round(value * 10) / 10);
  writeFileSync(file, `${JSON.stringify(all, null, 2)}\n`);
  console.log(`      measured: ${name} = ${value.toFixed(1)}`);
}
