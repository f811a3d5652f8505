// Writes docs/benchmarks.md from bench/results/*.json and docs/settings.md from package.json's
// contributes.configuration, so that no figure and no setting in docs/ is typed by hand.
//   node scripts/benchmarks-doc.mjs           write both files
//   node scripts/benchmarks-doc.mjs --check   exit 1 when either differs from what it would write
// test/docs.test.ts runs the check. Each results file is rendered by the renderer of its kind
// (told apart by its keys); a file of an unknown kind is listed key by key, never left out.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const RESULTS = path.join(ROOT, 'bench', 'results');
export const OUTPUTS = { benchmarks: 'docs/benchmarks.md', settings: 'docs/settings.md' };

/** The command that writes each results file (bench/speed/bench.ts --model DIR writes <folder>.json). */
const WRITTEN_BY = {
  'latest.json': '`npm run bench`',
  'editor-view.json': '`npm run model:eval:editor`',
  'next-edit.json': '`npm run bench:next-edit` (its standard output)',
  'reliability.json': '`npm run reliability`',
  'repair-check.json': '`npm run bench:repair-check`',
  'repair-check-ts.json': '`npm run bench:repair-check-ts`',
};
const benchOfFolder = (file) => `\`npm run bench -- --model DIR\` on a folder named ${file.replace(/\.json$/, '')}`;

// ---- small formatting helpers ----

const pct = (x) => (x === null || x === undefined ? '–' : `${Math.round(x * 1000) / 10} %`);
const pctOf = (x) => (x === null || x === undefined ? '–' : `${x} %`);
const ms = (x) => (x === null || x === undefined ? '–' : `${x} ms`);
const day = (iso) => String(iso ?? '').slice(0, 10);
const threads = (n) => `${n} thread${n === 1 ? '' : 's'}`;

function table(head, rows) {
  const line = (cells) => `| ${cells.map((c) => String(c).replace(/\|/g, '\\|')).join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}

// ---- renderers, one per kind of results file ----

const VIEW_ROWS = [
  ['indent', "cursor after a new line's indentation"],
  ['midline', 'mid-line, after a typed prefix'],
  ['empty_line', 'empty line (column 0)'],
  ['block', '2–4 lines after an indented cursor'],
  ['all', '**all**'],
  ['tab_files', 'tab-indented files'],
  ['space_files', 'space-indented files'],
];

function editorViewTable(summary) {
  const row = (label, s) => [label, s.cases, pctOf(s.exact), pctOf(s.normalised_exact), s.extra_indent, pctOf(s.blank)];
  const rows = VIEW_ROWS.filter(([k]) => summary[k]).map(([k, label]) => row(label, summary[k]));
  if (summary.crlf_twins) {
    rows.push(row('CRLF twins', summary.crlf_twins.crlf), row('… the same cases in LF', summary.crlf_twins.lf));
  }
  return table(
    [
      'ghost text where the editor asks',
      'cases',
      'byte-exact',
      'whitespace-normalised exact',
      'extra indentation',
      'blank',
    ],
    rows,
  );
}

function confidenceLines(c) {
  const shown = [0.3, 0.5, 0.7, 0.75, 0.8, 0.9]
    .map((t) => c.curve?.find((p) => Math.abs(p.threshold - t) < 1e-9))
    .filter(Boolean);
  const out = [];
  if (c.default_threshold !== null && c.default_threshold !== undefined)
    out.push(
      '',
      `At the default threshold ${c.default_threshold}: ${pct(c.coverage)} of requests show a suggestion, ` +
        `${pct(c.precision)} of those byte-exact.`,
    );
  if (shown.length)
    out.push(
      '',
      table(
        ['confidence threshold', 'requests shown', 'of those, byte-exact'],
        shown.map((p) => [p.threshold, pct(p.coverage), pct(p.precision)]),
      ),
    );
  return out;
}

function nextEditLines(n) {
  const kinds = n.by_kind ?? {};
  const rows = [
    ['rename-declaration', 'rename at the declaration'],
    ['rename-use', 'rename at a use'],
    ['literal', 'repeated literal'],
    ['parameter', 'parameter added'],
    ['quiet-comment', 'nothing needed: a comment line added'],
    ['quiet-literal', 'nothing needed: a literal used once changed'],
  ]
    .filter(([k]) => kinds[k])
    .map(([k, label]) => [label, kinds[k].cases, kinds[k].proposed, kinds[k].exact]);
  return [
    table(
      ['next edit', 'figure'],
      [
        ['cases with a follow-up', n.cases],
        ['share proposed', pct(n.proposed)],
        ['share with an exact follow-up', pct(n.exact_follow_up)],
        ['wrong (share of proposals)', pct(n.wrong)],
        [`quiet when nothing is needed (${n.quiet_cases} cases)`, pct(n.quiet_when_nothing_needed)],
        ['time per case', ms(n.ms_per_case)],
      ],
    ),
    '',
    table(['kind of case', 'cases', 'proposed', 'exact'], rows),
  ];
}

function benchLines(r) {
  const out = [
    `Model ${r.model}, ${day(r.date)}, ${r.machine}, the model on ${threads(r.threads)}${r.quick ? ', --quick' : ''}.`,
  ];
  const latency = [
    ['ghost', `ghost text (${r.ghost?.cases} cursors)`],
    ['refine64', `refine64 (${r.refine64?.cases} selections, strength 1)`],
    ['fim128', `fim128 (${r.fim128?.cases} spans of 128 slots)`],
  ].filter(([k]) => r[k]);
  if (latency.length)
    out.push(
      '',
      table(
        ['case', 'p50', 'p95', 'model calls'],
        latency.map(([k, label]) => [label, ms(r[k].p50_ms), ms(r[k].p95_ms), r[k].mean_model_calls]),
      ),
    );
  const p = r.parallel_vs_sequential;
  if (p)
    out.push(
      '',
      table(
        [`parallel vs one token per step (${p.cases} single-line infills)`, ''],
        [
          ['speedup (output characters per second)', `${p.speedup}×`],
          ['exact match, parallel / sequential', `${p.exact_parallel} % / ${p.exact_sequential} %`],
          ['model calls per line, parallel / sequential', `${p.calls_parallel} / ${p.calls_sequential}`],
          ['calls a left-to-right model would make (tokens + 1)', p.autoregressive_calls],
        ],
      ),
    );
  const f = r.forward_ms;
  if (f)
    out.push(
      '',
      table(
        ['forward pass (32 positions asked)', '128 tokens', '256 tokens', '512 tokens'],
        [1, 2].map((t) => [threads(t), ms(f[`128_t${t}`]), ms(f[`256_t${t}`]), ms(f[`512_t${t}`])]),
      ),
    );
  const g = r.ghost_profile;
  if (g)
    out.push(
      '',
      `A ghost-text request in-process (${g.cases} cases): ${ms(g.request_ms)} = ONNX ${ms(g.onnx_ms)} ` +
        `(${g.model_calls} calls) + tokenizer ${ms(g.tokenizer_ms)} + sampler ${ms(g.sampler_ms)}, ` +
        `of which the softmax over the vocabulary is ${ms(g.softmax_ms)}.` +
        (r.ghost?.ipc_ms_mean !== undefined
          ? ` Through the worker: ${ms(r.ghost.worker_ms_mean)} in the worker, ${ms(r.ghost.ipc_ms_mean)} outside it.`
          : ''),
    );
  out.push('', `Model load ${ms(r.load_ms)}; worker peak RSS ${r.worker_rss_mb} MB; whole run ${r.bench_seconds} s.`);
  if (r.editor_view) out.push('', editorViewTable(r.editor_view));
  if (r.ghost_confidence) out.push(...confidenceLines(r.ghost_confidence));
  const rr = r.refine_repair;
  if (rr)
    out.push(
      '',
      table(
        [`Refine at the default strength (${rr.cases} held-out regions, half with one injected fault)`, ''],
        [
          ['clean regions left unchanged', pct(rr.clean_unchanged)],
          ['cases where a line without a fault changed', pct(rr.damaged)],
          ['faults repaired exactly', pct(rr.repaired_exact)],
          ['faulty regions left unchanged', pct(rr.faulty_unchanged)],
        ],
      ),
    );
  const s = r.serve;
  if (s) {
    const tp = (t) =>
      `${t.requests_per_s} requests/s, p50 ${ms(t.p50_ms)}, p95 ${ms(t.p95_ms)}, ${t.cut_by_budget} of ${t.requests} cut by the budget`;
    out.push(
      '',
      table(
        [`through \`diffuse serve\` (${s.cases} ghost cursors)`, ''],
        [
          ['p50 in-process / through serve', `${ms(s.direct_p50_ms)} / ${ms(s.serve_p50_ms)}`],
          ['p95 in-process / through serve', `${ms(s.direct_p95_ms)} / ${ms(s.serve_p95_ms)}`],
          [
            "serve's cost: p50 difference (median of paired differences)",
            `${ms(s.overhead_p50_ms)} (${ms(s.overhead_paired_median_ms)})`,
          ],
          [`${s.serve_throughput.clients} clients at once through serve`, tp(s.serve_throughput)],
          [`${s.direct_throughput.clients} clients at once in-process`, tp(s.direct_throughput)],
        ],
      ),
    );
  }
  const w = r.serve_workers;
  if (w) {
    const tp = (t) =>
      `${t.requests_per_s} requests/s, p50 ${ms(t.p50_ms)}, p95 ${ms(t.p95_ms)}, ${t.cut_by_budget} of ${t.requests} cut by the budget`;
    out.push(
      '',
      table(
        [`\`diffuse serve --workers N\`, ${w.workers_1.clients} ghost clients at once`, ''],
        [
          ['1 worker', tp(w.workers_1)],
          ['2 workers', tp(w.workers_2)],
        ],
      ),
    );
  }
  const e = r.engines;
  if (e) {
    const row = (label, c) => [
      label,
      c.fim_route,
      `${ms(c.diffuse_p50_ms)} / ${ms(c.diffuse_p95_ms)}`,
      `${ms(c.client_p50_ms)} / ${ms(c.client_p95_ms)}`,
      ms(c.replay_p50_ms),
    ];
    out.push(
      '',
      table(
        [
          `engines (${e.vllm.requests} ghost requests each; goal ≤ ${e.goal_p95_ms} ms p95)`,
          'FIM asked by',
          "Diffuse's side p50 / p95",
          'whole call p50 / p95',
          'bare replay p50',
        ],
        [
          row('vLLM serving DiffusionGemma (stand-in)', e.vllm),
          row('vLLM serving Qwen2.5-Coder (stand-in)', e.vllm_template),
          row('Mercury (stand-in)', e.mercury),
        ],
      ),
    );
  }
  if (r.next_edit) out.push('', ...nextEditLines(r.next_edit));
  return out;
}

function editorViewLines(r) {
  return [
    `Model ${r.model}, ${r.per_kind} cursors per kind.`,
    '',
    editorViewTable(r.summary),
    ...confidenceLines(r.ghost_confidence ?? {}),
  ];
}

function reliabilityLines(r) {
  const rows = [];
  const k = r.worker_kills;
  if (k)
    rows.push([
      '`worker_kills`',
      `${k.kills} kills of the worker mid-refine: ${k.failed_with_cause} of ${k.in_flight} requests failed with the kill as cause; recovery p50 ${ms(k.recovery_ms_p50)}, max ${ms(k.recovery_ms_max)}`,
    ]);
  const b = r.bad_inputs;
  if (b)
    rows.push([
      '`bad_inputs`',
      `${b.cases} cases: ${b.one_line_causes} refused with a one-line cause, ${b.answered} answered, ${b.wrong} wrong, ${b.hangs} hangs, ${b.host_crashes} host crashes`,
    ]);
  const c = r.cancel_storm;
  if (c)
    rows.push([
      '`cancel_storm`',
      `${c.requests} requests each cancelled by the next: peak RSS ${c.peak_rss_before_mb} → ${c.peak_rss_after_mb} MB (+${c.rss_growth_pct} %), ${c.left_running} left running`,
    ]);
  const n = r.no_network;
  if (n)
    rows.push([
      '`no_network`',
      `${n.sockets_opened} inet sockets in ${n.processes_watched} processes over ${n.samples} samples`,
    ]);
  const e = r.edits_during_refine;
  if (e)
    rows.push([
      '`edits_during_refine`',
      `${e.runs} Refines in VS Code with edits meanwhile: ${e.lost_keystrokes} lost keystrokes, ${e.corrupted_documents} corrupted documents; ${e.reject_identical} Rejects byte-identical, ${e.accept_one_undo} Accepts one undo step`,
    ]);
  const l = r.large_refine;
  if (l)
    rows.push([
      '`large_refine`',
      `${l.runs} Refines longer than the window: ${l.lines_outside_change_lost} lines lost outside the change`,
    ]);
  const m = r.remote;
  if (m)
    rows.push([
      '`remote`',
      `${m.requests} requests with injected faults (${m.mercury_requests} mercury, ${m.vllm_requests !== undefined ? `${m.vllm_requests} openai against vLLM, ` : ''}${m.diffuse_requests} diffuse): ${m.answered} answered, ${m.failures} failed, ${m.one_line_causes} with a one-line cause; ${m.hangs} hangs, ${m.host_crashes} host crashes, ${m.sockets_left_open} sockets left open`,
    ]);
  return [
    `Version ${r.version}, model ${r.model}, ${day(r.date)}, ${r.machine}, load average ${r.load_average}.`,
    '',
    table(['part', 'figures'], rows),
    '',
    'The cases and their messages are in the JSON file (`details`, `by_case`).',
  ];
}

/** Any other results file: its scalar figures, key by key. */
function genericLines(r) {
  const rows = [];
  const walk = (v, key) => {
    if (v !== null && typeof v === 'object' && !Array.isArray(v))
      for (const [k, x] of Object.entries(v)) walk(x, key ? `${key}.${k}` : k);
    else if (!Array.isArray(v)) rows.push([`\`${key}\``, v]);
  };
  walk(r, '');
  return [table(['key', 'value'], rows)];
}

// How each kind is measured: prose, no figures (those come from the files).
const GHOST_CASES =
  "- **Ghost text where the editor asks**: the cursor after a new line's indentation, mid-line after a typed prefix, an empty line, and a block of 2–4 lines after an indented cursor, in space- and tab-indented files, with a quarter of the cases again in CRLF. Each answer is trimmed as the editor trims it and scored byte for byte against what the file had; the whitespace-normalised score beside it shows what a looser score would hide.";
const CONFIDENCE =
  '- **Confidence threshold**: the share of requests whose confidence reaches the threshold (shown automatically), and the share of those that are byte-exact. The default `diffuse.ghostText.minConfidence` is the lowest threshold at which at least half of what is shown is exact.';
const NEXT_EDIT =
  '- **Next edit**: cases made from held-out files: a local renamed at its declaration or at one use, a repeated literal changed once, a parameter added to a function with calls below, and cases that need nothing (a comment line added, a literal used once changed). A proposal is exact when it applies one or more of the needed follow-ups and nothing else; for an added parameter a call counts when it gains exactly one argument. Wrong is the share of proposals that are not exact.';

const KINDS = [
  {
    is: (r) => 'worker_kills' in r,
    title: 'Reliability',
    render: reliabilityLines,
    method: [
      '- **Recovery** counts from the kill to the next request answered: a process start and a model load.',
      '- **Bad inputs**: a refusal counts only as a model, input or usage error with a one-line message; an awkward but valid input must be answered with edits inside the text. Each case has 30 s before it counts as a hang.',
      '- **Cancel storm**: the worker is warmed by 2,000 requests first; the figure is the growth of the peak resident size (VmHWM), which rises only when the worker needs more memory than ever before.',
      "- **No network**: inet sockets among the open files of the client and of every worker, polled every 10 ms; the watch is first shown a listener of the script's own, which it must see.",
      '- **Remote**: one fault per HTTP request against the loopback Mercury stand-in and a real `serve()`, each case with its expected outcome; a hang is a request that neither answers nor fails within its deadline plus 2 s.',
      "- **Remote, vLLM**: the `openai` backend against the loopback stand-in of vLLM serving DiffusionGemma (test/fixtures/vllmStandIn.ts): a fresh backend's first ghost request meets a 404 on `/fim/completions` and on `/infill` and a refused `suffix` before the chat prompt answers (4 requests, checked); then a model the server does not serve (one line naming its models, nothing sent), a block stream cut mid-way in Fill and in Refine, a 500 and a server that never answers.",
      '- **Edits during refine** and **large refine** run in a real VS Code (`test/vscode/reliability.test.ts`, see docs/development.md).',
    ],
  },
  {
    is: (r) => 'forward_ms' in r && 'ghost' in r,
    title: 'Speed and quality',
    render: benchLines,
    method: [
      '- Cases are drawn from files of held-out packages (bench/heldout-sample.jsonl: packages the model never trained on) and run through the same client and worker the editor uses. All figures of one file come from one run on one machine.',
      '- **ghost**: a ghost-text request as the editor sends it, with its time budget; **refine64**: Refine at strength 1; **fim128**: a fill of 128 slots.',
      '- **Parallel vs one token per step**: the same single-line infills with the default schedule and with one token committed per model call.',
      '- **Forward pass**: one model call over a canvas of that many tokens, logits asked at 32 positions.',
      GHOST_CASES,
      CONFIDENCE,
      '- **Refine at the default strength**: held-out regions, half with one injected fault (two letters swapped or one dropped, a wrong operator, a missing `)`, `;` or `,`, a misspelt keyword), half without.',
      "- **Through `diffuse serve`**: the `diffuse` backend against a `serve()` in the bench's own process, so both ends of the HTTP hop share one event loop; the same cursors in-process and through serve, alternating which goes first.",
      "- **`diffuse serve --workers N`**: the same held-out ghost cases asked by 8 `diffuse` backends at once (each its own HTTP agent, each asking its share back to back) of a `serve()` in the bench's own process over a pool of 1, then 2 local workers of one denoiser thread each, as `diffuse serve --workers N` builds it; requests per second count every request that ended.",
      "- **Engines**: Diffuse's own side of a ghost request through the `openai` backend (building the request, reading the answer, trimming it): the loopback stand-ins of vLLM (no `/fim/completions`, `suffix` refused: the backend finds its fallback once, then asks by it) and of Mercury run in the bench's process and answer at once, with no block or frame delay. Each request is timed through the backend, and the very HTTP request it sent (path and body as the stand-in recorded them) is sent again by a bare client on a keep-alive agent that reads the answer and parses nothing; Diffuse's side is the paired difference, so the stand-in's own time and the HTTP hop are subtracted. Which goes first alternates.",
      NEXT_EDIT,
    ],
  },
  {
    is: (r) => 'summary' in r && 'per_kind' in r,
    title: 'Ghost text where the editor asks',
    render: editorViewLines,
    method: [GHOST_CASES, CONFIDENCE],
  },
  {
    is: (r) => Object.keys(r).join() === 'next_edit',
    title: 'Next edit',
    render: (r) => nextEditLines(r.next_edit),
    method: [NEXT_EDIT],
  },
  {
    is: (r) => 'exact_of_fixed' in r && /\btsc\b/.test(r.check ?? ''),
    title: 'Repair until tsc passes',
    render: repairLines,
    method: [
      "- **Repair, TypeScript**: functions of Diffuse's own pure core (src/core, at the commit the results name; no model here trained on it) with one seeded fault each (a wrong variable, two arguments swapped, a wrong operator, a deleted or a duplicated declaration), kept only when `tsc` then reports an error; repaired with the check `tsc -p .` over a project holding src/core and a tsconfig that checks the one file. **Fixed**: `tsc` passes on the proposed fix, re-run outside the search; **exact**: byte-exact or the same syntax tree (TypeScript's printer); a type check passing says less than a test passing, so exact is the figure to read.",
    ],
  },
  {
    is: (r) => 'exact_of_fixed' in r && 'by_fault' in r,
    title: 'Repair until the check passes',
    render: repairLines,
    method: [
      "- **Repair**: HumanEval's problems (from HumanEval-Infilling) with their canonical solutions and one seeded fault each, the seven kinds in turn, each kept only when it makes the problem's own tests fail; repaired with the check `python3 test_solution.py` in a scratch copy of a one-problem project. **Fixed**: the proposed fix passes the tests when re-run outside the search; **exact**: byte-exact or AST-equal to the original; **files written**: project files whose bytes or mtime changed before Accept; **Refine**: the corrector at its default strength over the faulty function, then the same check. docs/repair.md explains the search.",
    ],
  },
  { is: () => true, title: 'Results', render: genericLines, method: [] },
];

function repairLines(r) {
  const n = (x) => (x === null || x === undefined ? '–' : String(x));
  const refine = 'refine_fixed' in r;
  return [
    `${r.cases} cases, ${r.model} on the ${r.backend} backend (${r.cpu}, ${r.cores} cores)${r.code ? `, ${r.code}` : ''}; \`${r.command}\`.`,
    '',
    table(
      [
        'fixed',
        'exact of fixed',
        'checks per fix p50 / p90',
        'seconds per fix p50 / p90',
        'files written',
        ...(refine ? ['Refine fixed'] : []),
      ],
      [
        [
          pct(r.fixed),
          pct(r.exact_of_fixed),
          `${n(r.checks_per_fix_p50)} / ${n(r.checks_per_fix_p90)}`,
          `${n(r.seconds_per_fix_p50)} / ${n(r.seconds_per_fix_p90)}`,
          n(r.files_written),
          ...(refine ? [pct(r.refine_fixed)] : []),
        ],
      ],
    ),
    '',
    table(
      ['fault', 'cases', 'fixed', 'exact', ...(refine ? ['Refine fixed'] : [])],
      Object.entries(r.by_fault).map(([k, f]) => [k, f.cases, f.fixed, f.exact, ...(refine ? [f.refine_fixed] : [])]),
    ),
    '',
    `Fixes by source: ${
      Object.entries(r.fixes_by_source)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ') || 'none'
    }.`,
  ];
}

export function benchmarksDoc() {
  const files = fs
    .readdirSync(RESULTS)
    .filter((f) => f.endsWith('.json'))
    .sort((a, b) => (a === 'latest.json' ? -1 : b === 'latest.json' ? 1 : a.localeCompare(b)));
  const out = [
    '# Benchmarks',
    '',
    'Generated by `npm run docs:benchmarks` (scripts/benchmarks-doc.mjs) from the files in',
    '[bench/results/](../bench/results/); do not edit it by hand. test/docs.test.ts fails when it',
    'differs from what the script writes now. Each section names the command that wrote its file;',
    'rerun that command, then `npm run docs:benchmarks`. Percentages are of the cases in the row.',
  ];
  const used = [];
  for (const file of files) {
    const r = JSON.parse(fs.readFileSync(path.join(RESULTS, file), 'utf8'));
    const kind = KINDS.find((k) => k.is(r));
    const by = WRITTEN_BY[file] ?? (kind.render === benchLines ? benchOfFolder(file) : 'a command not named here');
    out.push('', `## ${kind.title}: ${file}`, '', `Written by ${by} to bench/results/${file}.`, '', ...kind.render(r));
    if (!used.includes(kind)) used.push(kind);
  }
  const methods = [...new Set(used.flatMap((k) => k.method))];
  if (methods.length) out.push('', '## How the figures are measured', '', ...methods);
  return out.join('\n') + '\n';
}

// ---- settings ----

function settingText(p) {
  const text = (p.markdownDescription ?? p.description ?? '').replace(/\s*\n\s*/g, ' ');
  const values = p.enum ? ` Values: ${p.enum.map((v) => `\`${v}\``).join(', ')}.` : '';
  return text + values;
}

function range(p) {
  if (p.minimum === undefined && p.maximum === undefined) return '';
  return `${p.minimum ?? ''}–${p.maximum ?? ''}`;
}

export function settingsDoc(pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'))) {
  const props = pkg.contributes.configuration.properties;
  // in the order the Settings editor shows them: by `order` where given, then as written
  const entries = Object.entries(props)
    .map((e, i) => ({ e, rank: e[1].order ?? Number.POSITIVE_INFINITY, i }))
    .sort((a, b) => a.rank - b.rank || a.i - b.i)
    .map((x) => x.e);
  const rows = entries.map(([key, p]) => [
    `\`${key}\``,
    p.type,
    `\`${JSON.stringify(p.default)}\``,
    range(p),
    p.scope ?? 'window',
    settingText(p),
  ]);
  return [
    '# Settings',
    '',
    "Generated by `npm run docs:benchmarks` (scripts/benchmarks-doc.mjs) from package.json's",
    '`contributes.configuration`; do not edit it by hand. The defaults come from src/core/defaults.ts',
    '(test/defaults.test.ts checks that they agree).',
    '',
    'A `machine` setting is read only from User settings (in a remote window: the Remote tab), never',
    "from a workspace's, so a folder you open cannot send your code to another server.",
    '',
    table(['setting', 'type', 'default', 'range', 'scope', 'what it does'], rows),
    '',
  ].join('\n');
}

function main() {
  const check = process.argv.includes('--check');
  const wanted = { [OUTPUTS.benchmarks]: benchmarksDoc(), [OUTPUTS.settings]: settingsDoc() };
  const stale = [];
  for (const [file, text] of Object.entries(wanted)) {
    const full = path.join(ROOT, file);
    const now = fs.existsSync(full) ? fs.readFileSync(full, 'utf8') : undefined;
    if (now === text) continue;
    if (check) stale.push(file);
    else {
      fs.mkdirSync(path.dirname(full), { recursive: true });
      fs.writeFileSync(full, text);
      console.log(`wrote ${file}`);
    }
  }
  if (stale.length) {
    console.error(`${stale.join(', ')}: not what scripts/benchmarks-doc.mjs writes now; run npm run docs:benchmarks`);
    process.exit(1);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) main();
