// The editor's part of `npm run reliability`: figures, not a pass/fail check of one case. Runs only
// when DIFFUSE_RELIABILITY_OUT names the JSON file to write (absolute path); the normal suite skips it.
//
// edits_during_refine: 100 Refine runs with the real model, each with random user edits (typing
// markers, deleting characters, adding lines) before, inside and after the span while the model
// works, then Accept or Reject at random when a proposal is shown. Counted per run:
//   lost_keystrokes      typed markers missing from the document afterwards (Diffuse overwrote typing)
//   corrupted_documents  runs whose document is not exactly what the user's edits plus their decision give
//   reject_identical     Rejects after which the document is byte-identical to before (and not edited)
//   accept_one_undo      Accepts that one Undo takes back exactly
//   accept_as_shown      Accepts after which the document is exactly the review's right side (the
//                        document the review's diff showed as what Accept will write)
// large_refine: selections longer than the model's window (LF and CRLF), accepted; lines outside the
// range the engine changed that are not byte-identical afterwards.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as vscode from 'vscode';
import type { DiffuseApi } from '../../src/extension';
import {
  captureRequests,
  closeAll,
  diffuse,
  linesLostOutside,
  longSource,
  openEditor,
  selectLines,
  setting,
  waitFor,
} from './helpers';
import { SeededRandom } from '../../src/core/sampler/rng';

const OUT = process.env.DIFFUSE_RELIABILITY_OUT;
const RUNS = Number(process.env.DIFFUSE_RELIABILITY_RUNS) || 100;

suite('reliability (editor)', () => {
  let api: DiffuseApi;
  const figures = {
    edits_during_refine: {
      runs: 0,
      lost_keystrokes: 0,
      corrupted_documents: 0,
      reject_identical: 0,
      accept_one_undo: 0,
      accept_as_shown: 0,
    },
    large_refine: { runs: 0, lines_outside_change_lost: 0 },
    /** Denominators and what happened in the runs, for reading the figures. */
    checked: {
      keystrokes: 0,
      reviewed: 0,
      accepted: 0,
      rejected: 0,
      discarded_by_edit: 0,
      no_change: 0,
      failed: 0,
      edits_after_review_opened: 0,
    },
  };
  const problems: string[] = [];

  suiteSetup(async function () {
    if (!OUT) this.skip();
    this.timeout(120_000);
    api = await diffuse();
  });

  suiteTeardown(() => {
    if (!OUT) return;
    const { checked, ...keys } = figures;
    fs.writeFileSync(OUT, JSON.stringify({ ...keys, checked, problems: problems.slice(0, 20) }, null, 2) + '\n');
    console.log(`[reliability] wrote ${OUT}: ${JSON.stringify(figures)}`);
  });

  teardown(async () => {
    for (const s of api.sessions.all()) s.end('test over');
    await closeAll();
  });

  test('edits during refine', async function () {
    this.timeout(RUNS * 30_000);
    await setting('steps', 24); // long enough runs to edit during; the default ends in a few hundred ms
    const rng = new SeededRandom(20261129); // a run can be repeated
    const rnd = (): number => rng.nextFloat();
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];
    let marker = 0;
    try {
      for (let run = 0; run < RUNS; run++) {
        const editor = await openEditor(longSource(4));
        const doc = editor.document;
        const first = 1 + Math.floor(rnd() * 20);
        selectLines(editor, first, first + 1 + Math.floor(rnd() * 5));
        const span = { first, last: editor.selection.end.line };
        const markers: string[] = [];
        const refined = vscode.commands.executeCommand('diffuse.refineSelection', { strength: 1, showAnyway: true });
        await waitFor(() => api.sessions.get(doc) !== undefined, 5_000, 'the session');
        const session = api.sessions.get(doc)!;
        // 1–3 edits while the model works: where is random (before, inside or after the span), and what.
        // `expected` replays them on the text alone: what the document must be if Diffuse wrote nothing.
        let expected = doc.getText();
        let late: { replay: (t: string) => string; marker?: string } | undefined;
        for (let e = 1 + Math.floor(rnd() * 3); e > 0; e--) {
          await new Promise((r) => setTimeout(r, Math.floor(rnd() * 150)));
          // a run that ended before the user's first edit opens its review in the editor's place: the
          // user is in the review now, and their editor is no longer there to type in
          if (!vscode.window.visibleTextEditors.includes(editor)) {
            figures.checked.edits_after_review_opened++;
            break;
          }
          const where = pick(['before', 'inside', 'after', 'after']);
          const line =
            where === 'before'
              ? Math.floor(rnd() * span.first)
              : where === 'inside'
                ? span.first + Math.floor(rnd() * (span.last - span.first + 1))
                : Math.min(doc.lineCount - 1, span.last + 1 + Math.floor(rnd() * 6));
          const col = Math.floor(rnd() * (doc.lineAt(line).text.length + 1));
          const at = new vscode.Position(line, col);
          const o = doc.offsetAt(at);
          const kind = pick(['type', 'type', 'delete', 'newline']);
          // the edit on the text alone, and the marker it types, if any
          const m = `/*k${marker++}*/`;
          const replay =
            kind === 'type'
              ? (t: string) => t.slice(0, o) + m + t.slice(o)
              : kind === 'newline'
                ? (t: string) => t.slice(0, o) + '\n' + t.slice(o)
                : at.isEqual(doc.lineAt(line).range.end)
                  ? undefined
                  : (t: string) => t.slice(0, o) + t.slice(o + 1);
          if (!replay) continue;
          // undefined: the editor went while the edit was on its way (the review opened in its place)
          const ok = await Promise.resolve(
            editor.edit((b) => {
              if (kind === 'type') b.insert(at, m);
              else if (kind === 'newline') b.insert(at, '\n');
              else b.delete(new vscode.Range(at, at.translate(0, 1)));
            }),
          ).then(
            (x) => x,
            () => undefined,
          );
          if (ok) {
            expected = replay(expected);
            if (kind === 'type') markers.push(m);
          }
          if (ok === undefined) {
            figures.checked.edits_after_review_opened++;
            late = { replay, marker: kind === 'type' ? m : undefined };
            break;
          }
          if (!ok) problems.push(`run ${run}: VS Code refused the user's ${kind} edit`);
        }
        await refined;
        // An edit refused as its editor went can still land a moment later (VS Code had sent it on):
        // judge once the document is quiet, counting that edit as the user's when it is there.
        for (let v = doc.version, quiet = 0; quiet < 300; quiet = doc.version === v ? quiet + 50 : 0, v = doc.version) {
          await new Promise((r) => setTimeout(r, 50));
        }
        if (late && doc.getText() === late.replay(expected)) {
          expected = late.replay(expected);
          if (late.marker) markers.push(late.marker);
        }
        figures.edits_during_refine.runs++;
        figures.checked.keystrokes += markers.filter((m) => expected.includes(m)).length;
        // a marker the user's own later edit broke (a deletion or newline inside it) is not Diffuse's loss
        const lost = (text: string): number => markers.filter((m) => expected.includes(m) && !text.includes(m)).length;
        if (session.phase === 'review') {
          figures.checked.reviewed++;
          const before = doc.getText();
          const version = doc.version;
          if (before !== expected) {
            figures.edits_during_refine.corrupted_documents++;
            problems.push(`run ${run}: the document changed during review`);
          }
          // the review's diff: the document against what Accept will write. VS Code asks for the
          // review document again after an edit's change event, a moment later: what the user sees
          // is the review once that has happened (within a second), not the read just before it.
          const reviewNow = () =>
            vscode.workspace.openTextDocument(session.reviewUri).then(
              (d) => d.getText(),
              () => undefined,
            );
          let shown = await reviewNow();
          for (const t0 = Date.now(); shown !== session.reviewText().text && Date.now() - t0 < 1_000; ) {
            await new Promise((r) => setTimeout(r, 20));
            shown = await reviewNow();
          }
          if (rnd() < 0.5) {
            figures.checked.accepted++;
            const r = session.regions[0];
            const want = before.slice(0, r.start) + r.proposal + before.slice(r.end);
            await vscode.commands.executeCommand('diffuse.accept');
            const after = doc.getText();
            if (after === shown) figures.edits_during_refine.accept_as_shown++;
            else
              problems.push(
                `run ${run}: the document after Accept is not what the review showed (${firstDifference(shown ?? '', after)})`,
              );
            if (after !== want) {
              figures.edits_during_refine.corrupted_documents++;
              problems.push(
                `run ${run}: Accept wrote something else than the proposal over its range (${firstDifference(want, after)}; the session: ${session.endReason}; region ${r.start}-${r.end} holds ${JSON.stringify(before.slice(r.start, r.end).slice(0, 40))}, was ${JSON.stringify(r.original.slice(0, 40))})`,
              );
            }
            // typing inside the span discards the proposal, so every marker lies outside what Accept replaces
            figures.edits_during_refine.lost_keystrokes += lost(after);
            await vscode.commands.executeCommand('undo');
            if (doc.getText() === before) figures.edits_during_refine.accept_one_undo++;
            else problems.push(`run ${run}: one Undo after Accept did not restore the document`);
          } else {
            figures.checked.rejected++;
            await vscode.commands.executeCommand('diffuse.reject');
            if (doc.getText() === before && doc.version === version) figures.edits_during_refine.reject_identical++;
            else problems.push(`run ${run}: Reject changed the document`);
            figures.edits_during_refine.lost_keystrokes += lost(doc.getText());
          }
        } else {
          const reason = session.endReason ?? '';
          if (/edited the code/.test(reason)) figures.checked.discarded_by_edit++;
          else if (/failed/.test(reason)) figures.checked.failed++;
          else figures.checked.no_change++;
          figures.edits_during_refine.lost_keystrokes += lost(doc.getText());
          if (doc.getText() !== expected) {
            figures.edits_during_refine.corrupted_documents++;
            problems.push(`run ${run}: the document is not what the user's edits made it (${reason})`);
          }
        }
        await closeAll();
      }
    } finally {
      await setting('steps', undefined);
    }
    assert.equal(figures.edits_during_refine.runs, RUNS);
  });

  test('large refine', async function () {
    this.timeout(600_000);
    for (const eol of ['\n', '\r\n', '\n', '\r\n']) {
      const editor = await openEditor(longSource(30, eol));
      const doc = editor.document;
      const original = doc.getText();
      selectLines(editor, 20, 198);
      const selStart = doc.offsetAt(editor.selection.start);
      const capture = captureRequests(api);
      try {
        await vscode.commands.executeCommand('diffuse.refineSelection', { strength: 1, showAnyway: true });
      } finally {
        capture.restore();
      }
      const call = capture.calls.find((c) => c.kind === 'refine');
      const session = api.sessions.get(doc);
      figures.large_refine.runs++;
      if (!call?.result || session?.phase !== 'review') {
        problems.push(`large refine: no proposal (${session?.endReason ?? 'no session'})`);
        await closeAll();
        continue;
      }
      const windowOffset = selStart - call.params.start!;
      const from = windowOffset + Math.min(...call.result.edits.map((e) => e.start));
      const to = windowOffset + Math.max(...call.result.edits.map((e) => e.end));
      await vscode.commands.executeCommand('diffuse.accept');
      figures.large_refine.lines_outside_change_lost += linesLostOutside(original, doc.getText(), from, to);
      await closeAll();
    }
  });
});

/** Where two texts first differ, with a little of each around it, for a problem's line. */
function firstDifference(want: string, got: string): string {
  let i = 0;
  while (i < want.length && i < got.length && want[i] === got[i]) i++;
  const near = (t: string): string => JSON.stringify(t.slice(Math.max(0, i - 30), i + 50));
  return `offset ${i}: wanted ${near(want)}, got ${near(got)}`;
}
