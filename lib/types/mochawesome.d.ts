// The two mochawesome tools ship no types; only what lib/report/html-report.ts uses.
declare module 'mochawesome-merge' {
  export function merge(options: { files: string[] }): Promise<object>;
}
declare module 'mochawesome-report-generator' {
  const marge: {
    create(data: object, options: { reportDir: string; reportFilename: string; reportTitle?: string; inline?: boolean; charts?: boolean; code?: boolean; saveJson?: boolean }): Promise<string[]>;
  };
  export default marge;
}
