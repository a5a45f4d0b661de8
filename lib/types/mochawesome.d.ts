// The mochawesome tools ship no types; only what lib/report/html-report.ts and test/support/test-marks.ts use.
declare module 'mochawesome-merge' {
  export function merge(options: { files: string[] }): Promise<object>;
}
declare module 'mochawesome-report-generator' {
  const marge: {
    create(data: object, options: { reportDir: string; reportFilename: string; reportTitle?: string; inline?: boolean; charts?: boolean; code?: boolean; saveJson?: boolean }): Promise<string[]>;
  };
  export default marge;
}
declare module 'mochawesome/addContext.js' {
  /** Adds a titled value to the test's entry in the HTML report. */
  export default function addContext(ctx: Mocha.Context, context: string | { title: string; value: unknown }): void;
}
