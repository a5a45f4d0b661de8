import path from 'node:path';

// Loaded first by every suite (.mocharc "require"): the HTML/JSON report of the
// suite (mochawesome) goes next to its JUnit file, named like it.
const junit = process.env.MOCHA_FILE ?? 'artifacts/reports/latest/suite.xml';
/** The folder this suite's reports go to (next to its JUnit file). */
export const suiteReportDir = path.dirname(junit);
/** The suite's name, as its JUnit file is named (`integration` for integration.xml). */
export const suiteName = path.basename(junit, '.xml');
process.env.MOCHAWESOME_REPORTDIR ??= path.dirname(junit);
process.env.MOCHAWESOME_REPORTFILENAME ??= path.basename(junit, '.xml');
/** The suite's JUnit file (the one place the test process reads MOCHA_FILE). */
export const suiteJunitFile = junit;
