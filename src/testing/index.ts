// connector-host/testing: the golden-file runner of `host test`, for vitest (or any runner).
//
//   import { assertSuite } from 'connector-host/testing';
//   it('conforms and matches the goldens', () => assertSuite('./source.py', { suite: 'tests/golden' }), 120_000);

import { runSuite, type SuiteOptions, type SuiteReport } from './suite.js';
import { formatPretty } from './report.js';
import type { ConnectorRef } from '../connector/resolve.js';

export { runSuite, type SuiteOptions, type SuiteReport, type CaseResult, type StepResult, type Check, type Profile } from './suite.js';
export { formatReport, formatPretty, formatJunit, type ReporterName } from './report.js';

/** Run the suite and throw an Error carrying the readable report when anything fails. */
export async function assertSuite(connector: string | readonly string[] | ConnectorRef, o: SuiteOptions): Promise<SuiteReport> {
  const r = await runSuite(connector, o);
  if (!r.ok) throw new Error(`golden/conformance suite failed:\n${formatPretty(r)}`);
  return r;
}
