// Reporters for `host test`: pretty (a human reading a diff), json, junit (CI).

import type { SuiteReport } from './suite.js';

export type ReporterName = 'pretty' | 'json' | 'junit';

export function formatPretty(r: SuiteReport): string {
  const out: string[] = [`suite ${r.suite} (profile ${r.profile})`];
  for (const c of r.cases) {
    out.push(`${c.ok ? 'PASS' : 'FAIL'} case ${c.name}`);
    for (const s of c.steps) {
      const passed = s.checks.filter((x) => x.ok && !x.skipped).length;
      out.push(`  ${s.ok ? 'ok  ' : 'FAIL'} ${s.step.padEnd(11)} ${passed}/${s.checks.length} checks${s.golden.length ? `, ${s.golden.length} golden difference(s)` : ''}`);
      if (s.error) out.push(`       error: ${s.error}`);
      for (const x of s.checks) {
        if (x.skipped) out.push(`       skipped ${x.name}: ${x.skipped}`);
        else if (!x.ok) out.push(`       check ${x.name} failed: ${x.message}`);
      }
      for (const g of s.golden.slice(0, 30)) out.push(`       golden ${s.step}: ${g}`);
      if (s.golden.length > 30) out.push(`       ... ${s.golden.length - 30} more differences`);
      for (const u of s.updated) out.push(`       updated ${u}`);
    }
  }
  const failed = r.cases.filter((c) => !c.ok).length;
  out.push(`${r.cases.length} case(s), ${failed} failed, in ${(r.durationMs / 1000).toFixed(1)} s`);
  return out.join('\n') + '\n';
}

const xml = (s: string) => s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);

export function formatJunit(r: SuiteReport): string {
  const out = ['<?xml version="1.0" encoding="UTF-8"?>', `<testsuites name="${xml(r.suite)}" time="${(r.durationMs / 1000).toFixed(3)}">`];
  for (const c of r.cases) {
    const cases: string[] = [];
    for (const s of c.steps) {
      const golden = `golden ${s.step}`;
      cases.push(s.golden.length || s.error ? `    <testcase classname="${xml(c.name)}" name="${xml(golden)}"><failure message="${xml(s.error ?? s.golden[0] ?? '')}">${xml([s.error, ...s.golden].filter(Boolean).join('\n'))}</failure></testcase>` : `    <testcase classname="${xml(c.name)}" name="${xml(golden)}"/>`);
      for (const x of s.checks) {
        if (x.skipped) cases.push(`    <testcase classname="${xml(c.name)}" name="${xml(x.name)}"><skipped message="${xml(x.skipped)}"/></testcase>`);
        else if (!x.ok) cases.push(`    <testcase classname="${xml(c.name)}" name="${xml(x.name)}"><failure message="${xml(x.message)}"/></testcase>`);
        else cases.push(`    <testcase classname="${xml(c.name)}" name="${xml(x.name)}"/>`);
      }
    }
    const failures = cases.filter((x) => x.includes('<failure')).length;
    const skipped = cases.filter((x) => x.includes('<skipped')).length;
    out.push(`  <testsuite name="${xml(c.name)}" tests="${cases.length}" failures="${failures}" skipped="${skipped}">`, ...cases, '  </testsuite>');
  }
  out.push('</testsuites>');
  return out.join('\n') + '\n';
}

export function formatReport(r: SuiteReport, reporter: ReporterName): string {
  if (reporter === 'json') return JSON.stringify(r, null, 2) + '\n';
  if (reporter === 'junit') return formatJunit(r);
  return formatPretty(r);
}
