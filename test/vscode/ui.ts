// Playwright through the workbench, as a user would: Quick Open, a selection made with the keyboard,
// the command palette, the live view and the review (screenshots of both, at 1280×800 with the
// minimap on, checking that every new line of the proposal is on screen), a CodeLens click, a
// 60-line Refine read page by page.
import fs from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';

const shots = path.join(__dirname, '..', 'screenshots');

/** Opens a workspace file with Quick Open and focuses its editor once `shows` is on screen. */
async function openFile(page: Page, name: string, shows: string): Promise<void> {
  await page.keyboard.press('Control+P');
  await page.waitForSelector('.quick-input-widget input');
  await page.keyboard.type(name);
  await page.waitForSelector(`.quick-input-list .monaco-list-row:has-text("${name}")`);
  await page.keyboard.press('Enter');
  await page.waitForSelector(`.monaco-editor .view-lines:has-text("${shows}")`);
  await page.click('.monaco-editor .view-lines');
}

/** Go to Line: the cursor at column 1 of `line` (Home would go to the indentation). */
async function goToLine(page: Page, line: number): Promise<void> {
  await page.keyboard.press('Control+G');
  await page.keyboard.type(String(line));
  await page.keyboard.press('Enter');
}

async function palette(page: Page, command: string): Promise<void> {
  await page.keyboard.press('F1');
  await page.waitForSelector('.quick-input-widget:not([style*="display: none"]) input');
  await page.keyboard.type(command);
  // click the row whose label is exactly the command ("Refine Selection" is a prefix of another title)
  const label = new RegExp(`^${command.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
  const row = page.locator('.quick-input-list .monaco-list-row').filter({ has: page.locator('.label-name', { hasText: label }) });
  await row.first().click();
}

module.exports = async function ui({ page, log }: { page: Page; workspace: string; log: (...m: unknown[]) => void }): Promise<void> {
  fs.mkdirSync(shots, { recursive: true });
  await page.waitForSelector('.monaco-workbench', { timeout: 60_000 });
  // the model is loaded when the status bar item says it is ready
  await page.waitForSelector('#diffuse\\.diffuse\\.diffuse\\.status:has-text("Diffuse"), [id$="diffuse.status"]', { timeout: 60_000 });
  log('workbench up');
  await openFile(page, 'sample.ts', 'centroid');
  // select lines 14–19 (the loop of centroid) with the keyboard
  await goToLine(page, 14);
  for (let i = 0; i < 6; i++) await page.keyboard.press('Shift+ArrowDown');
  await page.waitForSelector('[id$="diffuse.status"]:has-text("Diffuse")');
  await page.waitForFunction(() => !document.querySelector('[id$="diffuse.status"]')?.textContent?.includes('loading'), undefined, { timeout: 60_000 });
  const before = await editorText(page);
  // strength 1 rewrites the span: below 1 Refine changes only what the model doubts, often nothing in correct code
  await palette(page, 'Diffuse: Refine Selection with Strength…');
  await page.waitForSelector('.quick-input-widget input[placeholder], .quick-input-widget .quick-input-message');
  await page.keyboard.press('Control+A');
  await page.keyboard.type('1');
  await page.keyboard.press('Enter');
  // live: the CodeLens shows the step while the image beside the span evolves
  await page.waitForFunction(() => /step ([4-9]|\d\d+)\//.test(document.querySelector('[id$="diffuse.status"]')?.textContent ?? ''),
    undefined, { timeout: 30_000 });
  await page.screenshot({ path: path.join(shots, 'live-denoising.png') });
  log('live view captured');
  // review: Accept / Reject CodeLens over the inline diff
  await page.waitForSelector('.codelens-decoration a:has-text("Accept")', { timeout: 120_000 });
  // the running lens does not outlive its run
  await page.waitForSelector('.codelens-decoration:has-text("denoising")', { state: 'detached', timeout: 10_000 });
  const shown = await proposalOnScreen(page);
  await page.screenshot({ path: path.join(shots, 'inline-diff.png') });
  log(`inline diff captured: ${shown.length} new lines, all on screen`);
  if ((await editorText(page)) !== before) throw new Error('the document changed before Accept');
  await page.locator('.codelens-decoration a', { hasText: /^\S*\s*Accept( All)? \(/ }).first().click(); // one change or several
  await page.waitForFunction((b) => {
    const t = document.querySelector('.monaco-editor .view-lines')?.textContent?.replace(/\u00a0/g, ' ');
    return t !== b;
  }, before, { timeout: 10_000 });
  await page.waitForSelector('.codelens-decoration a:has-text("Accept")', { state: 'detached', timeout: 10_000 });
  await writtenAsShown(page, shown);
  log('accepted through the CodeLens: the document has the lines the proposal showed');
  await page.keyboard.press('Control+Z');
  await page.waitForFunction((b) => document.querySelector('.monaco-editor .view-lines')?.textContent?.replace(/\u00a0/g, ' ') === b, before, { timeout: 10_000 });
  log('one undo restored the original');
  // ghost text at a fresh line inside a function, asked for with the keybinding
  await goToLine(page, 9);
  await page.keyboard.press('End');
  await page.keyboard.press('Enter');
  // an early model often proposes only whitespace here, which is correctly not shown: give it a start
  // on the line, a few characters at a time, until ghost text appears
  const ghost = '.monaco-editor .ghost-text-decoration, .monaco-editor .ghost-text-decoration-preview';
  let ghostShown = false;
  for (const typed of ['', 'const ', 'd', 'i', 's', 't']) {
    await page.keyboard.type(typed);
    await page.keyboard.press('Alt+Backslash');
    ghostShown = await page.waitForSelector(ghost, { timeout: 8_000 }).then(() => true, () => false);
    if (ghostShown) break;
  }
  if (!ghostShown) throw new Error('no ghost text appeared');
  await page.screenshot({ path: path.join(shots, 'ghost-text.png') });
  log('ghost text shown');
  // Fill at Cursor with two cursors (the second added with Ctrl+Alt+Down), then Reject with its key
  await page.keyboard.press('Escape');
  await page.keyboard.press('Control+Z');
  await page.waitForFunction((b) => document.querySelector('.monaco-editor .view-lines')?.textContent?.replace(/\u00a0/g, ' ') === b, before, { timeout: 10_000 })
    .catch(() => undefined);
  const text = await editorText(page);
  await goToLine(page, 15);
  await page.keyboard.press('End');
  await palette(page, 'Add Cursor Below');
  await page.waitForSelector('.monaco-editor .cursors-layer .cursor.secondary', { state: 'attached', timeout: 10_000 }).catch(() => undefined);
  await page.keyboard.press('Control+Alt+F');
  await page.waitForSelector('.codelens-decoration a:has-text("Accept")', { timeout: 60_000 });
  await proposalOnScreen(page);
  await page.screenshot({ path: path.join(shots, 'fill-two-cursors.png') });
  await page.keyboard.press('Control+Shift+Backspace');
  await page.waitForSelector('.codelens-decoration a:has-text("Accept")', { state: 'detached', timeout: 10_000 });
  if ((await editorText(page)) !== text) throw new Error('Reject changed the document');
  log('fill at two cursors reviewed and rejected with the keybinding');
  // the status bar item opens the menu
  await page.click('[id$="diffuse.status"]');
  await page.waitForSelector('.quick-input-list .monaco-list-row:has-text("Choose Model Folder")', { timeout: 10_000 });
  await page.screenshot({ path: path.join(shots, 'status-menu.png') });
  await page.keyboard.press('Escape');
  log('status bar menu');

  // a 60-line Refine: every new line readable at 1280×800 with the minimap on, page by page
  await openFile(page, 'shapes.ts', 'A longer file');
  await goToLine(page, 12);
  for (let i = 0; i < 60; i++) await page.keyboard.press('Shift+ArrowDown');
  await page.keyboard.press('Control+Alt+R');
  await page.waitForSelector('.codelens-decoration a:has-text("Accept")', { timeout: 120_000 });
  const first = await proposalOnScreen(page);
  await page.screenshot({ path: path.join(shots, 'large-refine.png') });
  // the rest of the proposal, a page at a time
  let seen = first.length;
  for (let i = 0; i < 4; i++) {
    await page.keyboard.press('PageDown');
    seen += (await proposalOnScreen(page, true)).length;
  }
  log(`60-line refine: ${seen} new-line views checked on screen`);
  await page.keyboard.press('Control+Shift+Backspace');
  await page.waitForSelector('.codelens-decoration a:has-text("Accept")', { state: 'detached', timeout: 10_000 });
  log('60-line refine rejected');

  // Escape cancels a run: Fill at every `return` of the file (a long joint run), Escape once it steps
  await goToLine(page, 13);
  await page.keyboard.press('End');
  await page.keyboard.press('Home'); // to the indentation's end, before `return`
  await page.keyboard.press('Control+Shift+ArrowRight');
  await page.keyboard.press('Control+Shift+L'); // every occurrence
  const beforeFill = await editorText(page);
  await page.keyboard.press('Control+Alt+F');
  const status = '[id$="diffuse.status"]';
  await page.waitForSelector(`${status}:has-text("step")`, { timeout: 30_000 });
  await page.keyboard.press('Escape');
  await page.waitForSelector(`${status}:not(:has-text("step"))`, { timeout: 10_000 });
  // no lens outlives its run: the running lens goes, and no Accept lens comes
  await page.waitForSelector('.codelens-decoration:has-text("Diffuse Fill"), .codelens-decoration a:has-text("Cancel")',
    { state: 'detached', timeout: 10_000 });
  if (await page.$('.codelens-decoration a:has-text("Accept")')) throw new Error('a cancelled run still offered a proposal');
  if ((await editorText(page)) !== beforeFill) throw new Error('cancelling changed the document');
  log('Escape cancelled');
};

interface ShownLine {
  text: string;
  top: number;
}

/**
 * The new lines of the proposal drawn in the editor now (the review's line overlays), after checking
 * that each lies wholly inside the visible text area: right of the gutter, left of the minimap,
 * between the editor's top and bottom. `maybeNone`: a page of the document may show none.
 */
async function proposalOnScreen(page: Page, maybeNone = false): Promise<ShownLine[]> {
  const read = () => page.evaluate(() => {
    const editor = document.querySelector('.editor-instance .monaco-editor') as HTMLElement;
    const guard = editor.querySelector('.overflow-guard')!.getBoundingClientRect();
    const text = editor.querySelector('.view-lines')!.getBoundingClientRect();
    const minimap = editor.querySelector('.minimap') as HTMLElement | null;
    const right = minimap && minimap.getBoundingClientRect().width > 0 ? minimap.getBoundingClientRect().left : guard.right;
    const ctx = document.createElement('canvas').getContext('2d')!;
    const lines: { text: string; top: number; off?: string }[] = [];
    for (const span of Array.from(editor.querySelectorAll('.view-lines span'))) {
      const st = getComputedStyle(span, '::before');
      if (st.position !== 'absolute' || st.zIndex !== '21' || !st.content.startsWith('"')) continue;
      const shown = st.content.slice(1, -1).replace(/\\(.)/g, '$1');
      const line = span.closest('.view-line')!.getBoundingClientRect();
      ctx.font = `${st.fontWeight} ${st.fontSize} ${st.fontFamily}`;
      const left = line.left;
      const top = line.top + parseFloat(st.top || '0');
      const width = ctx.measureText(shown.trimEnd()).width;
      const height = line.height;
      const off = left < Math.max(guard.left, text.left) - 1 ? 'left of the text area'
        : left + width > right + 1 ? `cut at the right (${Math.round(left + width)} > ${Math.round(right)})`
          : top < guard.top - 1 || top + height > guard.bottom + 1 ? 'outside the editor\'s height' : undefined;
      lines.push({ text: shown, top, off });
    }
    return lines;
  });
  // the overlays come with the review's first paint: wait for them rather than for a fixed time
  let lines = await read();
  for (let i = 0; i < 50 && lines.length === 0 && !maybeNone; i++) {
    await page.waitForTimeout(100);
    lines = await read();
  }
  if (lines.length === 0 && !maybeNone) throw new Error('the proposal shows no new lines');
  const bad = lines.filter((l) => l.off && l.top >= 0);
  // lines above or below the viewport are not drawn by the editor; partly visible edge lines are allowed
  const cut = bad.filter((l) => !/height/.test(l.off!));
  if (cut.length) throw new Error(`proposal lines not readable: ${cut.map((l) => `"${l.text}" ${l.off}`).join('; ')}`);
  return lines.filter((l) => !l.off).map(({ text, top }) => ({ text, top }));
}

/** After Accept: every line the proposal showed is a line of the document now (as far as it is on screen). */
async function writtenAsShown(page: Page, shown: ShownLine[]): Promise<void> {
  const lines = await page.evaluate(() => Array.from(document.querySelectorAll('.editor-instance .monaco-editor .view-line'))
    .map((l) => (l.textContent ?? '').replace(/\u00a0/g, ' ').trimEnd()));
  const missing = shown.map((l) => l.text.trimEnd()).filter((t) => t.trim() && !lines.includes(t));
  if (missing.length) throw new Error(`Accept did not write what the proposal showed: ${missing.map((t) => JSON.stringify(t)).join(', ')}`);
}

/** The text the editor shows, without ghost text (automatic ghost text is on in this test). */
async function editorText(page: Page): Promise<string> {
  return page.evaluate(() => {
    const lines = document.querySelector('.editor-instance .monaco-editor .view-lines');
    if (!lines) return '';
    const copy = lines.cloneNode(true) as HTMLElement;
    copy.querySelectorAll('[class*="ghost-text"]').forEach((e) => e.remove());
    return (copy.textContent ?? '').replace(/\u00a0/g, ' ');
  });
}
