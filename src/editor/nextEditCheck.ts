// Whether a next-edit rename is the rename the language itself would make (issue 27: a suggestion
// that renamed one use of two was accepted with Tab and left a NameError). When the user's edit
// replaced one name by another, the language's rename provider is asked to make that rename on
// the text before the edit, in a scratch untitled document of the same language; a suggestion
// whose result differs (a use left stale, or a same-named other variable renamed) is withdrawn.
//
// Why the rename provider and not diagnostics: VS Code's TypeScript service computes diagnostics
// only for documents shown in a tab, so a scratch document no one sees never gets any, and
// showing one would flash a tab at the user. Its rename works on any open document. Where a
// language has no rename provider, or it refuses or is slow, nothing is checked here (the
// coverage rule of core/nextEdit/nextEditRegions.ts still holds for every suggestion).
import * as vscode from 'vscode';
import { textChange, tokenReplacement } from '../core/nextEdit/nextEditRegions';
import { applyEdits } from '../core/text/textEdit';

/** How long the rename provider may take (the first call may start the language server). */
const RENAME_TIMEOUT_MS = 3_000;

/** One scratch document per language, emptied after each check (an empty untitled document is not dirty). */
const scratch = new Map<string, vscode.TextDocument>();

/**
 * Why the proposal (one replacement of `after`) is not the language's rename of the name the
 * user's edit `before` → `after` changed, or undefined when it is, when the edit is no rename, or
 * when the language cannot say.
 */
export async function renameDisagrees(
  language: string,
  before: string,
  after: string,
  proposal: { start: number; end: number; text: string },
): Promise<string | undefined> {
  const r = tokenReplacement(before, after);
  const change = textChange(before, after);
  if (!r || !change || !/^[A-Za-z_$]/.test(r.from)) return undefined;
  let at = change.start;
  while (at > 0 && /[\w$]/.test(before[at - 1])) at--;
  let doc: vscode.TextDocument | undefined;
  try {
    doc = await scratchDocument(language);
    await setText(doc, before);
    const renamed = await withTimeout(
      vscode.commands.executeCommand<vscode.WorkspaceEdit | undefined>(
        'vscode.executeDocumentRenameProvider',
        doc.uri,
        doc.positionAt(at),
        r.to,
      ),
      RENAME_TIMEOUT_MS,
    );
    const edits = renamed?.get(doc.uri) ?? [];
    if (edits.length === 0) return undefined;
    const expected = applyEdits(
      before,
      edits
        .map((e) => ({ start: doc!.offsetAt(e.range.start), end: doc!.offsetAt(e.range.end), text: e.newText }))
        .sort((a, b) => a.start - b.start),
    );
    const proposed = after.slice(0, proposal.start) + proposal.text + after.slice(proposal.end);
    return proposed === expected ? undefined : `it is not the rename the ${language} language service makes`;
  } catch {
    return undefined; // no provider, or it refused (not a renamable name) or took too long
  } finally {
    if (doc && !doc.isClosed) await setText(doc, '').then(undefined, () => undefined);
  }
}

/** Whether `doc` is one of the scratch documents (their edits are no user's). */
export function isScratch(doc: vscode.TextDocument): boolean {
  return [...scratch.values()].includes(doc);
}

async function scratchDocument(language: string): Promise<vscode.TextDocument> {
  const open = scratch.get(language);
  if (open && !open.isClosed) return open;
  const doc = await vscode.workspace.openTextDocument({ language, content: '' });
  scratch.set(language, doc);
  return doc;
}

async function setText(doc: vscode.TextDocument, text: string): Promise<void> {
  const edit = new vscode.WorkspaceEdit();
  edit.replace(doc.uri, new vscode.Range(doc.positionAt(0), doc.positionAt(doc.getText().length)), text);
  await vscode.workspace.applyEdit(edit);
}

function withTimeout<T>(p: Thenable<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('timed out')), ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}
