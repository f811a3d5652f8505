// The figures of a repair bench (bench/quality/repairCheck.ts for Python, repairCheckTs.ts for
// TypeScript), from one row per case: the same measures for both sets, so that their results
// files and docs/benchmarks.md read alike.
import { quantile } from './cases';

/** One repaired case. `refine_fixed` is there where the set also ran Refine's corrector. */
export interface RepairRow {
  fault: string;
  fixed: boolean;
  exact: boolean;
  /** `source: template` of the fix, null without one. */
  source: string | null;
  checks: number;
  seconds: number;
  files_written: boolean;
  refine_fixed?: boolean;
}

/** The case's line on stderr while the bench runs. */
export function caseLine(k: number, cases: number, what: string, row: RepairRow): string {
  const outcome = row.fixed ? (row.exact ? 'fixed, exact' : 'fixed') : 'no fix';
  return `${k + 1}/${cases} ${what} ${row.fault}: ${outcome} (${row.checks} checks, ${row.seconds.toFixed(1)} s${row.source ? `, ${row.source}` : ''})`;
}

/** Shares of cases and fixes, checks and seconds per fix (p50, p90), per fault kind and per source of the fix. */
export function repairFigures(rows: RepairRow[]) {
  const fixed = rows.filter((r) => r.fixed);
  const refine = rows.some((r) => r.refine_fixed !== undefined);
  const share = (n: number, d: number) => (d ? Math.round((1000 * n) / d) / 1000 : 0);
  const perFix = (xs: number[], q: number) => (xs.length ? quantile(xs, q) : null);
  const checks = fixed.map((r) => r.checks);
  const seconds = fixed.map((r) => Math.round(r.seconds * 10) / 10);
  const byFault: Record<string, { cases: number; fixed: number; exact: number; refine_fixed?: number }> = {};
  for (const r of rows) {
    const f = (byFault[r.fault] ??= { cases: 0, fixed: 0, exact: 0, ...(refine ? { refine_fixed: 0 } : {}) });
    f.cases++;
    if (r.fixed) f.fixed++;
    if (r.exact) f.exact++;
    if (r.refine_fixed) f.refine_fixed = (f.refine_fixed ?? 0) + 1;
  }
  const bySource: Record<string, number> = {};
  for (const r of fixed) bySource[r.source!] = (bySource[r.source!] ?? 0) + 1;
  return {
    cases: rows.length,
    fixed: share(fixed.length, rows.length),
    exact_of_fixed: share(fixed.filter((r) => r.exact).length, fixed.length),
    files_written: rows.filter((r) => r.files_written).length,
    checks_per_fix_p50: perFix(checks, 0.5),
    checks_per_fix_p90: perFix(checks, 0.9),
    seconds_per_fix_p50: perFix(seconds, 0.5),
    seconds_per_fix_p90: perFix(seconds, 0.9),
    ...(refine ? { refine_fixed: share(rows.filter((r) => r.refine_fixed).length, rows.length) } : {}),
    by_fault: byFault,
    fixes_by_source: bySource,
  };
}
