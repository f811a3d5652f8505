// Playwright through the workbench, as a user would: Quick Open, a selection made with the keyboard,
// the command palette, the live view and the review (screenshots of both, at 1280×800 with the
// minimap on), the review's Accept button and Reject key, ghost text, Escape. Each review (a 6-line
// Refine, a Fill at two cursors on a new empty line, a 60-line Refine) is scrolled through from top
// to end: every original line and every line Accept will write must be on screen with its line
// number and nothing over it, and the document after Accept exactly the document the review showed.
// Before those, what a new user meets: the walkthrough a first run opens, ghost text that explains
// after three held-back suggestions why it is silent, and a context menu without Refine with
// Instruction for the local model; the Fill's review opens at its first change; the live view
// beside a line longer than the editor is drawn whole on screen.
// Last, Refine with Instruction through the mercury backend against the loopback stand-in of
// Mercury's API (started in this process): a wrong key set with Set API Key…, the backend chosen
// with Choose Backend… (written to this remote window's Remote settings, shown in the status bar),
// the 401 reported with a notification whose Set API Key… fixes it, then the live frames drawn
// while they stream (screenshot) and the review (screenshot).
import fs from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { startMercuryStandIn } from '../fixtures/mercuryStandIn';

const shots = path.join(__dirname, '..', 'screenshots');

/** Opens a workspace file with Quick Open and focuses its editor once `shows` is on screen. */
async function openFile(page: Page, name: string, shows: string): Promise<void> {
  // Quick Open, until the file's own tab is in front: in two clean-clone runs out of four, the
  // first Quick Open after the settings JSON was closed left the previous editor in front
  for (let attempt = 1; ; attempt++) {
    await page.keyboard.press('Escape');
    await page.keyboard.press('Control+P');
    await page.waitForSelector('.quick-input-widget input');
    await page.keyboard.type(name);
    // the row itself, clicked: Enter picks the focused row, which can still be the previous
    // file's while the list filters (shapes.ts stayed in front after three tries)
    // a locator, not an element handle: the list re-renders while it filters, and a handle can go stale
    await page.locator(`.quick-input-list .monaco-list-row:has-text("${name}")`).first().click();
    const front = await page
      .waitForSelector(`.tabs-container .tab.active:has-text("${name}")`, { timeout: 10_000 })
      .then(
        () => true,
        () => false,
      );
    if (front) break;
    if (attempt === 3) throw new Error(`Quick Open did not bring ${name} to the front in ${attempt} tries`);
  }
  await page.waitForSelector(`.editor-instance .monaco-editor .view-lines:has-text("${shows}")`);
  await page.click('.editor-instance .monaco-editor .view-lines');
}

/** Go to Line: the cursor at column 1 of `line` (Home would go to the indentation). */
async function goToLine(page: Page, line: number): Promise<void> {
  // typed only once Go to Line's box is open, and done only once the status bar shows the line:
  // in one CI run the keys went elsewhere, and the selection made next was not in the editor
  for (let attempt = 1; ; attempt++) {
    await page.keyboard.press('Control+G');
    await page.waitForSelector('.quick-input-widget:not([style*="display: none"]) input');
    await page.keyboard.type(String(line));
    await page.keyboard.press('Enter');
    const there = await page
      .waitForSelector(`[id="status.editor.selection"]:has-text("Ln ${line},")`, { timeout: 5_000 })
      .then(
        () => true,
        () => false,
      );
    if (there) return;
    if (attempt === 3) throw new Error(`Go to Line did not reach line ${line} in ${attempt} tries`);
    await page.keyboard.press('Escape');
    await page.click('.editor-instance .monaco-editor .view-lines');
  }
}

async function palette(page: Page, command: string): Promise<void> {
  await page.keyboard.press('F1');
  await page.waitForSelector('.quick-input-widget:not([style*="display: none"]) input');
  await page.keyboard.type(command);
  // click the row whose label is exactly the command ("Refine Selection" is a prefix of another title)
  const label = new RegExp(`^${command.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
  const row = page
    .locator('.quick-input-list .monaco-list-row')
    .filter({ has: page.locator('.label-name', { hasText: label }) });
  await row.first().click();
}

module.exports = async function ui({
  page,
  workspace,
  log,
}: {
  page: Page;
  workspace: string;
  log: (...m: unknown[]) => void;
}): Promise<void> {
  fs.mkdirSync(shots, { recursive: true });
  await page.waitForSelector('.monaco-workbench', { timeout: 60_000 });
  // the model is loaded when the status bar item says it is ready
  await page.waitForSelector('#diffuse\\.diffuse\\.diffuse\\.status:has-text("Diffuse"), [id$="diffuse.status"]', {
    timeout: 60_000,
  });
  log('workbench up');
  await firstRunWalkthrough(page, log);
  // DIFFUSE_UI_ONLY=first-hour: only what a new user meets (issue 27), to work on it
  if (process.env.DIFFUSE_UI_ONLY === 'first-hour') {
    await firstHour(page, workspace, log);
    return;
  }
  // DIFFUSE_UI_ONLY=instruction: only the last part (Refine with Instruction through mercury), to work on it
  if (process.env.DIFFUSE_UI_ONLY === 'instruction') {
    await page.waitForFunction(
      () => !document.querySelector('[id$="diffuse.status"]')?.textContent?.includes('loading'),
      undefined,
      { timeout: 60_000 },
    );
    await instructionRefine(page, log);
    return;
  }
  await openFile(page, 'sample.ts', 'centroid');
  await ghostExplains(page, workspace, log);
  // select lines 14–19 (the loop of centroid) with the keyboard
  await goToLine(page, 14);
  for (let i = 0; i < 6; i++) await page.keyboard.press('Shift+ArrowDown');
  await page.waitForSelector('[id$="diffuse.status"]:has-text("Diffuse")');
  await page.waitForFunction(
    () => !document.querySelector('[id$="diffuse.status"]')?.textContent?.includes('loading'),
    undefined,
    { timeout: 60_000 },
  );
  const before = await editorText(page);
  // the whole file as the editor shows it (the cursor moves: select lines 14–19 again after)
  const sampleLines = await documentLines(page);
  await goToLine(page, 14);
  for (let i = 0; i < 6; i++) await page.keyboard.press('Shift+ArrowDown');
  await contextMenuOffers(page, { instruction: false });
  log('context menu: Refine Selection offered, Refine with Instruction hidden (the local model cannot follow one)');
  // strength 1 rewrites the span: below 1 Refine changes only what the model doubts, often nothing in correct code
  await refineAtStrengthOne(page);
  // live: the CodeLens shows the step while the image beside the span evolves
  await page.waitForFunction(
    () => /step ([4-9]|\d\d+)\//.test(document.querySelector('[id$="diffuse.status"]')?.textContent ?? ''),
    undefined,
    { timeout: 30_000 },
  );
  await page.screenshot({ path: path.join(shots, 'live-denoising.png') });
  log('live view captured');
  await reviewOrShowAnyway(page, 120_000, log);
  // the running lens does not outlive its run
  await page.waitForSelector('.codelens-decoration:has-text("denoising")', { state: 'detached', timeout: 10_000 });
  await page.screenshot({ path: path.join(shots, 'inline-diff.png') });
  const shown = await reviewShowsAll(page, sampleLines, '6-line refine');
  log(
    `6-line refine: all ${sampleLines.length} original lines and the ${shown.length} lines Accept will write are on screen, unobscured` +
      ` (${shown.wide} of them wider than the side, read by scrolling right)`,
  );
  await clickAccept(page);
  await writtenAsShown(page, shown, '6-line refine');
  log('accepted: the document is exactly what the review showed');
  await page.keyboard.press('Control+Z');
  await page.waitForFunction(
    (b) =>
      document.querySelector('.editor-instance .monaco-editor .view-lines')?.textContent?.replace(/\u00a0/g, ' ') === b,
    before,
    { timeout: 10_000 },
  );
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
    ghostShown = await page.waitForSelector(ghost, { timeout: 8_000 }).then(
      () => true,
      () => false,
    );
    if (ghostShown) break;
  }
  if (!ghostShown) throw new Error('no ghost text appeared');
  await page.screenshot({ path: path.join(shots, 'ghost-text.png') });
  log('ghost text shown');
  await page.keyboard.press('Escape');
  for (let i = 0; i < 20 && (await editorText(page)) !== before; i++) {
    await page.keyboard.press('Control+Z');
    await page.waitForTimeout(100);
  }
  if ((await editorText(page)) !== before) throw new Error('undo did not bring the original back');
  // Fill at Cursor on a new empty line (line 10, after `const dy = …`) and at the line below it (a
  // second cursor added with Add Cursor Below): rejected with its key, then run again and accepted
  await goToLine(page, 9);
  await page.keyboard.press('End');
  await page.keyboard.press('Enter');
  await page.keyboard.press('Escape'); // no ghost text in the way
  const withNewLine = await documentLines(page);
  const fillOnce = async (): Promise<void> => {
    await goToLine(page, 10);
    await page.keyboard.press('End');
    await palette(page, 'Add Cursor Below');
    await page
      .waitForSelector('.monaco-editor .cursors-layer .cursor.secondary', { state: 'attached', timeout: 10_000 })
      .catch(() => undefined);
    await page.keyboard.press('Control+Alt+F');
    await waitForReview(page, 60_000);
  };
  await fillOnce();
  await firstChangeOnScreen(page, 'fill at two cursors');
  await page.screenshot({ path: path.join(shots, 'fill-two-cursors.png') });
  await reviewShowsAll(page, withNewLine, 'fill at two cursors');
  await page.keyboard.press('Control+Shift+Backspace');
  await page.waitForSelector(`${ACCEPT_ACTION}, .codelens-decoration a:has-text("Accept")`, {
    state: 'detached',
    timeout: 10_000,
  });
  if ((await documentLines(page)).join('\n') !== withNewLine.join('\n')) throw new Error('Reject changed the document');
  log('fill at two cursors reviewed and rejected with the keybinding');
  await fillOnce();
  const filled = await reviewShowsAll(page, withNewLine, 'fill at two cursors');
  log(
    `fill at two cursors: all ${withNewLine.length} lines and the ${filled.length} lines Accept will write are on screen, unobscured` +
      ` (${filled.wide} wider than the side)`,
  );
  await clickAccept(page);
  await writtenAsShown(page, filled, 'fill at two cursors');
  log('fill accepted: the document is exactly what the review showed');
  for (let i = 0; i < 20 && (await editorText(page)) !== before; i++) {
    await page.keyboard.press('Control+Z');
    await page.waitForTimeout(100);
  }
  // the status bar item opens the menu
  await page.click('[id$="diffuse.status"]');
  await page.waitForSelector('.quick-input-list .monaco-list-row:has-text("Choose Model Folder")', { timeout: 10_000 });
  await page.screenshot({ path: path.join(shots, 'status-menu.png') });
  await page.keyboard.press('Escape');
  log('status bar menu');

  // a 60-line Refine: every original line and every line Accept will write readable at 1280×800
  // with the minimap on, page by page
  await openFile(page, 'shapes.ts', 'A longer file');
  const shapesLines = await documentLines(page);
  await goToLine(page, 12);
  for (let i = 0; i < 60; i++) await page.keyboard.press('Shift+ArrowDown');
  // a rewrite, so that there is a 60-line proposal to read (the corrector finds nothing to change here)
  await refineAtStrengthOne(page);
  await reviewOrShowAnyway(page, 120_000, log);
  await page.screenshot({ path: path.join(shots, 'large-refine.png') });
  const large = await reviewShowsAll(page, shapesLines, '60-line refine');
  log(
    `60-line refine: all ${shapesLines.length} original lines and the ${large.length} lines Accept will write are on screen, unobscured` +
      ` (${large.wide} wider than the side)`,
  );
  await clickAccept(page);
  await writtenAsShown(page, large, '60-line refine');
  log('60-line refine accepted: the document is exactly what the review showed');
  await page.keyboard.press('Control+Z');
  await page.waitForTimeout(300);
  if ((await documentLines(page)).join('\n') !== shapesLines.join('\n'))
    throw new Error('one undo did not restore shapes.ts');

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
  await page.waitForSelector(
    '.codelens-decoration:has-text("Diffuse Fill"), .codelens-decoration a:has-text("Cancel")',
    { state: 'detached', timeout: 10_000 },
  );
  if (await page.$('.codelens-decoration a:has-text("Accept")'))
    throw new Error('a cancelled run still offered a proposal');
  if ((await editorText(page)) !== beforeFill) throw new Error('cancelling changed the document');
  log('Escape cancelled');

  await liveViewOnScreen(page, log);
  await instructionRefine(page, log);
};

/**
 * The first-hour checks alone (the whole run makes them in its course): ghost text's explanation,
 * the context menu, a Fill at two cursors whose review opens at its first change, the live view
 * beside a long line, then the remote part (Choose Backend…, a 401, Refine with Instruction).
 */
async function firstHour(page: Page, workspace: string, log: (...m: unknown[]) => void): Promise<void> {
  await openFile(page, 'sample.ts', 'centroid');
  await ghostExplains(page, workspace, log);
  await goToLine(page, 14);
  for (let i = 0; i < 6; i++) await page.keyboard.press('Shift+ArrowDown');
  await contextMenuOffers(page, { instruction: false });
  log('context menu: Refine Selection offered, Refine with Instruction hidden (the local model cannot follow one)');
  const before = await editorText(page);
  await goToLine(page, 9);
  await page.keyboard.press('End');
  await page.keyboard.press('Enter');
  await page.keyboard.press('Escape');
  await goToLine(page, 10);
  await page.keyboard.press('End');
  await palette(page, 'Add Cursor Below');
  await page.keyboard.press('Control+Alt+F');
  await waitForReview(page, 60_000);
  await firstChangeOnScreen(page, 'fill at two cursors');
  await page.keyboard.press('Control+Shift+Backspace');
  await page.waitForSelector(`${ACCEPT_ACTION}, .codelens-decoration a:has-text("Accept")`, {
    state: 'detached',
    timeout: 10_000,
  });
  for (let i = 0; i < 20 && (await editorText(page)) !== before; i++) {
    await page.keyboard.press('Control+Z');
    await page.waitForTimeout(100);
  }
  log('fill at two cursors: the review opened with its first change on screen');
  await liveViewOnScreen(page, log);
  await instructionRefine(page, log);
}

/** Set API Key… from the palette: the backend from the quick pick, the key typed into the masked input. */
async function setApiKey(page: Page, key: string): Promise<void> {
  await palette(page, 'Diffuse: Set API Key…');
  await page.waitForSelector('.quick-input-list .monaco-list-row:has-text("mercury")');
  await page.keyboard.type('mercury');
  await page.keyboard.press('Enter');
  await page.waitForSelector('.quick-input-widget input[type="password"]');
  await page.keyboard.type(key);
  await page.keyboard.press('Enter');
  await page.waitForSelector('.quick-input-widget', { state: 'hidden', timeout: 10_000 });
}

/** A fresh profile is a first run: the walkthrough is on screen, with what the built-in model can do. */
async function firstRunWalkthrough(page: Page, log: (...m: unknown[]) => void): Promise<void> {
  await page.waitForSelector('text=Get Started with Diffuse', { timeout: 30_000 });
  await page.waitForSelector('text=What the built-in model can and cannot do', { timeout: 10_000 });
  await page.screenshot({ path: path.join(shots, 'walkthrough.png') });
  await palette(page, 'View: Close All Editors');
  await page.waitForSelector('text=Get Started with Diffuse', { state: 'detached', timeout: 10_000 });
  log('first run: the walkthrough opened by itself');
}

/**
 * Ghost text that explains itself: with the threshold at 1 (a workspace setting) every automatic
 * suggestion is held back; after the third, one notification says why and offers the ways out.
 * Runs before anything else types, since the message comes once a session.
 */
async function ghostExplains(page: Page, workspace: string, log: (...m: unknown[]) => void): Promise<void> {
  await page.waitForFunction(
    () => !document.querySelector('[id$="diffuse.status"]')?.textContent?.includes('loading'),
    undefined,
    { timeout: 60_000 },
  );
  const settings = path.join(workspace, '.vscode', 'settings.json');
  fs.mkdirSync(path.dirname(settings), { recursive: true });
  fs.writeFileSync(settings, JSON.stringify({ 'diffuse.ghostText.minConfidence': 1 }));
  try {
    await page.waitForTimeout(1500); // VS Code reads the new file
    const before = await editorText(page);
    await goToLine(page, 9);
    await page.keyboard.press('End');
    await page.keyboard.press('Enter');
    const toast = '.notification-toast:has-text("ghost-text suggestions")';
    for (const typed of ['c', 'o', 'n', 's', 't', ' ', 'z', ' ']) {
      await page.keyboard.type(typed);
      if (await page.waitForSelector(toast, { timeout: 1_500 }).catch(() => undefined)) break;
    }
    await page.waitForSelector(toast, { timeout: 10_000 });
    for (const action of ['Show (Alt+', 'Lower Threshold', 'Stronger Model…'])
      await page.waitForSelector(`${toast} .monaco-button:has-text("${action}")`, { timeout: 2_000 });
    const status = await page.getAttribute('[id$="diffuse.status"] a, [id$="diffuse.status"]', 'aria-label');
    await page.screenshot({ path: path.join(shots, 'ghost-held-back.png') });
    log(`ghost text held back 3 times: one message with its three actions (status bar: ${status})`);
    await palette(page, 'Notifications: Clear All Notifications');
    await page.keyboard.press('Escape');
    for (let i = 0; i < 20 && (await editorText(page)) !== before; i++) {
      await page.keyboard.press('Control+Z');
      await page.waitForTimeout(100);
    }
    if ((await editorText(page)) !== before) throw new Error('undo did not bring the original back');
  } finally {
    fs.rmSync(settings);
    await page.waitForTimeout(1000);
  }
}

/** The editor's context menu on the selection: Refine Selection, and Refine with Instruction only where the backend can. */
async function contextMenuOffers(page: Page, o: { instruction: boolean }): Promise<void> {
  // the first *visible* one: an editor kept in the DOM behind the front one can hold a selection
  // too, and the first in document order was such a hidden one in one CI run and one run here
  const selection = page.locator('.editor-instance .monaco-editor .selected-text:visible').first();
  await selection.waitFor({ timeout: 5_000 }).catch(() => undefined); // drawn on the next frame
  const box = await selection.boundingBox();
  if (!box) throw new Error('no selection on screen');
  await page.mouse.click(box.x + 10, box.y + box.height / 2, { button: 'right' });
  const item = (label: string) => page.locator('.monaco-menu .action-label', { hasText: label });
  await item('Refine Selection').first().waitFor({ timeout: 10_000 });
  const has = (await item('Refine Selection with Instruction').count()) > 0;
  await page.keyboard.press('Escape');
  if (has !== o.instruction)
    throw new Error(`the context menu ${has ? 'offers' : 'lacks'} Refine Selection with Instruction…`);
}

/** In review: a change (an inserted line or characters) is on screen in the diff, not scrolled away. */
async function firstChangeOnScreen(page: Page, what: string): Promise<void> {
  const shown = await page.evaluate(() => {
    const diff = document.querySelector('.editor-group-container.active .monaco-diff-editor');
    if (!diff) return 'no diff editor';
    const area = diff.getBoundingClientRect();
    const changes = Array.from(diff.querySelectorAll('.line-insert, .char-insert, .gutter-insert')).map((e) =>
      e.getBoundingClientRect(),
    );
    return changes.some((r) => r.height > 0 && r.top >= area.top && r.bottom <= area.bottom)
      ? ''
      : 'no change on screen';
  });
  if (shown) throw new Error(`${what}: the review opened away from its first change (${shown})`);
}

/**
 * The live view beside a selection whose one line is far longer than the editor is wide: the image
 * is drawn whole inside the text area (left of the minimap), not after the long line off screen.
 */
async function liveViewOnScreen(page: Page, log: (...m: unknown[]) => void): Promise<void> {
  await openFile(page, 'longline.ts', 'summary');
  const before = await editorText(page);
  // the whole function: long enough a run to measure while it steps
  await goToLine(page, 2);
  for (let i = 0; i < 5; i++) await page.keyboard.press('Shift+ArrowDown');
  await page.keyboard.press('Control+Alt+R');
  const status = '[id$="diffuse.status"]';
  await page.waitForSelector(`${status}:has-text("step")`, { timeout: 30_000 });
  const box = await page.waitForFunction(
    () => {
      const editor = document.querySelector('.editor-group-container.active .monaco-editor');
      if (!editor) return undefined;
      const guard = editor.querySelector('.overflow-guard')!.getBoundingClientRect();
      const text = editor.querySelector('.lines-content')!.parentElement!.getBoundingClientRect();
      const minimap = editor.querySelector('.minimap') as HTMLElement | null;
      const right = Math.min(guard.right, minimap?.getBoundingClientRect().left || guard.right);
      for (const span of Array.from(editor.querySelectorAll('.view-lines span'))) {
        const st = getComputedStyle(span, '::after');
        if (!st.content.includes('data:image/svg')) continue;
        const at = span.getBoundingClientRect();
        const left = at.left + (parseFloat(st.marginLeft) || 0);
        const image = { left, right: left + parseFloat(st.width), top: at.top, bottom: at.top + parseFloat(st.height) };
        return { image, area: { left: Math.max(guard.left, text.left), right, top: guard.top, bottom: guard.bottom } };
      }
      return undefined;
    },
    undefined,
    { timeout: 15_000 },
  );
  const { image, area } = (await box.jsonValue())!;
  await page.screenshot({ path: path.join(shots, 'live-long-line.png') });
  const inside =
    image.left >= area.left - 1 &&
    image.right <= area.right + 1 &&
    image.top >= area.top - 1 &&
    image.bottom <= area.bottom + 1;
  await page.keyboard.press('Escape');
  await page.waitForSelector(`${status}:not(:has-text("step"))`, { timeout: 10_000 });
  if ((await editorText(page)) !== before) throw new Error('cancelling changed the document');
  if (!inside)
    throw new Error(`the live view is drawn off screen: ${JSON.stringify(image)} outside ${JSON.stringify(area)}`);
  log(`live view beside a 230-column line: whole on screen at x ${Math.round(image.left)}–${Math.round(image.right)}`);
}

const STANDIN_KEY = 'sk_ui_standin';
/** What the stand-in's Mercury writes for the instruction: centroid's loop as one reduce. */
const REWRITE = [
  '  const sum = points.reduce(',
  '    (s, p) => ({ x: s.x + p.x, y: s.y + p.y }),',
  '    { x: 0, y: 0 },',
  '  );',
  '  const x = sum.x;',
  '  const y = sum.y;',
].join('\n');
const INSTRUCTION = 'Sum the points with one reduce';

/**
 * Refine with Instruction through the mercury backend, as a user sets it up: Set API Key… from the
 * palette (quick pick, masked input), the backend and its URL typed into the user settings' JSON,
 * then the command from the palette with the instruction typed. The stand-in streams Mercury's
 * diffusing frames (each the whole current text, noise resolving into the answer) slowly enough to
 * watch: more than one distinct live image must be drawn before the review opens.
 */
async function instructionRefine(page: Page, log: (...m: unknown[]) => void): Promise<void> {
  const api = await startMercuryStandIn({
    key: STANDIN_KEY,
    frameMs: 120,
    answer: (kind) => (kind === 'chat' ? `\`\`\`ts\n${REWRITE}\n\`\`\`` : 'x'),
  });
  try {
    // first a wrong key: the Refine with Instruction that meets the 401 says so, with the button that fixes it
    await setApiKey(page, 'sk_wrong_ui');
    // Choose Backend…: in this remote window (code-server) the machine-scoped backend lands in the
    // Remote settings, where it applies, and the status bar shows it
    await palette(page, 'Diffuse: Choose Backend…');
    await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Mercury (Inception)' }).first().click();
    await page.waitForSelector('.quick-input-widget:has-text("base URL") input');
    await page.keyboard.press('Control+A');
    await page.keyboard.type(api.url);
    await page.keyboard.press('Enter');
    await page.waitForSelector('[id$="diffuse.status"]:has-text("mercury")', { timeout: 30_000 });
    const told = await page.waitForSelector('.notification-toast:has-text("Diffuse now uses the mercury backend")', {
      timeout: 10_000,
    });
    const where = /Diffuse now uses[^)]*\)/.exec((await told.textContent()) ?? '')?.[0] ?? '';
    await page.screenshot({ path: path.join(shots, 'choose-backend.png') });
    await palette(page, 'Notifications: Clear All Notifications');
    if (!/Remote \[.+\] settings/.test(where))
      throw new Error(`Choose Backend… did not write to the Remote settings: ${where}`);
    log(`Choose Backend… → Mercury: "${where.trim()}"; the status bar shows mercury`);

    await openFile(page, 'sample.ts', 'centroid');
    await goToLine(page, 14);
    for (let i = 0; i < 6; i++) await page.keyboard.press('Shift+ArrowDown');
    await contextMenuOffers(page, { instruction: true });
    await palette(page, 'Diffuse: Refine Selection with Instruction…');
    await page.waitForSelector('.quick-input-widget:not([style*="display: none"]) input');
    await page.keyboard.type(INSTRUCTION);
    await page.keyboard.press('Enter');
    const toast = '.notification-toast:has-text("refused the API key (401)")';
    await page.waitForSelector(toast, { timeout: 15_000 });
    await page.waitForTimeout(500); // the toast slides in
    await page.screenshot({ path: path.join(shots, 'refine-401.png') });
    // its button runs Set API Key… for the backend in use; the right key brings it back
    await page.locator(`${toast} .monaco-button`, { hasText: 'Set API Key…' }).first().click();
    await page.waitForSelector('.quick-input-list .monaco-list-row:has-text("mercury")');
    await page.keyboard.type('mercury');
    await page.keyboard.press('Enter');
    await page.waitForSelector('.quick-input-widget input[type="password"]');
    await page.keyboard.type(STANDIN_KEY);
    await page.keyboard.press('Enter');
    await page.waitForSelector('[id$="diffuse.status"]:has-text("mercury"):not(:has(.codicon-error))', {
      timeout: 30_000,
    });
    if (await page.$('.notification-toast')) await palette(page, 'Notifications: Clear All Notifications');
    log('a 401 during Refine with Instruction: a notification whose Set API Key… fixed it');
    log(`backend mercury against the stand-in at ${api.url}`);

    await openFile(page, 'sample.ts', 'centroid');
    const before = await editorText(page);
    const original = await documentLines(page);
    await goToLine(page, 14);
    for (let i = 0; i < 6; i++) await page.keyboard.press('Shift+ArrowDown');
    await palette(page, 'Diffuse: Refine Selection with Instruction…');
    await page.waitForSelector('.quick-input-widget:not([style*="display: none"]) input');
    await page.keyboard.type(INSTRUCTION);
    await page.keyboard.press('Enter');
    // the live view: every frame replaces the image beside the span; gather the distinct ones
    const states = new Set<string>();
    let shot = false;
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      const live = await page.evaluate(() => {
        const images: string[] = [];
        for (const span of Array.from(document.querySelectorAll('.editor-instance .monaco-editor .view-lines span'))) {
          const c = getComputedStyle(span, '::after').content;
          if (c.includes('data:image/svg')) images.push(c);
        }
        const reviewing =
          !!document.querySelector('.editor-actions a.action-label[aria-label^="Accept Proposal"]') ||
          Array.from(document.querySelectorAll('.codelens-decoration a')).some((a) =>
            a.textContent?.includes('Accept'),
          );
        return { images, reviewing };
      });
      for (const i of live.images) states.add(i);
      if (!shot && states.size >= 3 && live.images.length) {
        await page.screenshot({ path: path.join(shots, 'refine-instruction-live.png') });
        shot = true;
      }
      if (live.reviewing && !live.images.length) break;
      await page.waitForTimeout(40);
    }
    if (states.size < 2)
      throw new Error(
        `the live view drew ${states.size} distinct frame(s) of the diffusing stream; more than one expected`,
      );
    if (!shot)
      throw new Error(`no screenshot of the live view was taken mid-stream (${states.size} distinct frames seen)`);
    log(`refine with instruction: ${states.size} distinct live frames drawn while the stream ran`);
    await waitForReview(page, 30_000);
    await page.screenshot({ path: path.join(shots, 'refine-instruction.png') });
    const chat = api.requests.find((r) => r.path === '/v1/chat/completions');
    if (chat?.body.diffusing !== true)
      throw new Error('Refine with Instruction did not ask /v1/chat/completions with diffusing frames');
    if (!String((chat.body.messages as { content: string }[])[1].content).includes(`Instruction: ${INSTRUCTION}`))
      throw new Error('the instruction was not sent');
    const proposal = await reviewShowsAll(page, original, 'refine with instruction');
    if (!proposal.join('\n').includes(REWRITE)) throw new Error('the review does not show the rewrite Mercury sent');
    await page.keyboard.press('Control+Shift+Backspace');
    await page.waitForSelector(`${ACCEPT_ACTION}, .codelens-decoration a:has-text("Accept")`, {
      state: 'detached',
      timeout: 10_000,
    });
    if ((await editorText(page)) !== before) throw new Error('Reject changed the document');
    log('refine with instruction reviewed (the rewrite beside the original) and rejected');
    if (process.env.DIFFUSE_UPDATE_MEDIA) {
      for (const f of ['refine-instruction-live.png', 'refine-instruction.png'])
        fs.copyFileSync(path.join(shots, f), path.join(__dirname, '..', '..', 'media', f));
    }
  } finally {
    await api.close();
  }
}

/** One line an editor on the page shows: which editor (in page order), its line number and text. */
interface SeenLine {
  editor: number;
  number: number;
  text: string;
  /** Wider than its editor: its end is read by scrolling right (as for any long line in VS Code). */
  wide?: boolean;
}

/**
 * The lines the editors of the active editor group show now, each with its line number, and the
 * ones among them that something covers. A line counts as shown when it lies inside its editor's
 * visible area (between the top and bottom of the text area, its start right of the gutter) and
 * nothing is drawn over it: no element at its text (hit-tested at its start and middle; the cursor
 * is allowed) and no absolutely positioned decoration (a `::before` / `::after` taken out of the
 * flow, which hit-testing cannot see when it ignores the mouse) overlapping it.
 */
async function linesOnScreen(page: Page): Promise<{ shown: SeenLine[]; covered: string[] }> {
  return page.evaluate(() => {
    const shown: { editor: number; number: number; text: string; wide: boolean }[] = [];
    const covered: string[] = [];
    const group = document.querySelector('.editor-group-container.active') ?? document;
    const editors = Array.from(group.querySelectorAll('.monaco-editor')).filter(
      (e) =>
        (e as HTMLElement).offsetParent !== null &&
        e.querySelector('.view-lines') &&
        !e.closest('.quick-input-widget, .suggest-widget, .monaco-hover'),
    );
    editors.forEach((editor, index) => {
      const guard = editor.querySelector('.overflow-guard')!.getBoundingClientRect();
      const textArea = editor.querySelector('.lines-content')!.parentElement!.getBoundingClientRect();
      const minimap = editor.querySelector('.minimap') as HTMLElement | null;
      const scrollbar = editor.querySelector('.editor-scrollable > .scrollbar.vertical') as HTMLElement | null;
      const right = Math.min(
        guard.right,
        ...[minimap, scrollbar]
          .filter((e) => e && e.getBoundingClientRect().width > 0)
          .map((e) => e!.getBoundingClientRect().left),
      );
      const lines = Array.from(editor.querySelectorAll('.view-lines .view-line')) as HTMLElement[];
      // boxes of decorations drawn out of the flow (what once drew new lines over real ones)
      const floating: DOMRect[] = [];
      for (const span of Array.from(editor.querySelectorAll('.view-lines span'))) {
        for (const pseudo of ['::before', '::after']) {
          const st = getComputedStyle(span, pseudo);
          if (st.position !== 'absolute' || st.content === 'none' || st.content === 'normal') continue;
          const line = span.closest('.view-line')!.getBoundingClientRect();
          const top = line.top + (parseFloat(st.top) || 0);
          floating.push(
            new DOMRect(
              line.left + (parseFloat(st.left) || 0),
              top,
              Math.max(parseFloat(st.width) || 0, guard.width),
              line.height,
            ),
          );
        }
      }
      const numbers = Array.from(editor.querySelectorAll('.margin-view-overlays .line-numbers')) as HTMLElement[];
      for (const line of lines) {
        const box = line.getBoundingClientRect();
        if (box.top < guard.top - 1 || box.bottom > guard.bottom + 1) continue; // scrolled out, or cut at an edge
        const numberEl = numbers.find((n) => Math.abs(n.getBoundingClientRect().top - box.top) < 2);
        const number = Number(numberEl?.textContent?.trim());
        if (!number) continue; // no line number: not a document line
        const text = (line.textContent ?? '').replace(/\u00a0/g, ' ');
        const where = `editor ${index} line ${number} ${JSON.stringify(text)}`;
        const y = box.top + box.height / 2;
        const textEnd = box.left + (line.firstElementChild?.getBoundingClientRect().width ?? 0);
        let hidden: string | undefined;
        let sticky = false;
        if (box.left < textArea.left - 1) hidden = 'starts left of the text area';
        for (const x of [Math.max(box.left, textArea.left) + 3, Math.min((box.left + textEnd) / 2, right - 3)]) {
          if (hidden || sticky) break;
          const hit = document.elementFromPoint(x, y);
          // VS Code's sticky scroll holds the enclosing lines at the top: the lines under it are
          // scrolled past, not hidden, and are read on another page
          // (and the horizontal scrollbar lies over the bottom line while there are wide lines)
          if (hit?.closest('.sticky-widget, .scrollbar.horizontal')) sticky = true;
          else if (hit && !line.contains(hit) && !hit.closest('.cursor, .cursors-layer'))
            hidden = `under ${hit.className || hit.tagName}`;
        }
        if (sticky) continue;
        if (
          !hidden &&
          floating.some((f) => f.top < box.bottom - 2 && f.bottom > box.top + 2 && f.left < right && f.right > box.left)
        ) {
          hidden = 'under a decoration drawn over it';
        }
        if (hidden) covered.push(`${where}: ${hidden}`);
        else shown.push({ editor: index, number, text, wide: textEnd > right + 1 });
      }
    });
    return { shown, covered };
  });
}

/**
 * Scrolls the focused editor from its top to its end, a dozen lines at a time (a diff editor's
 * sides scroll together), and gathers every line shown on the way; throws when a line is covered.
 */
async function readAllLines(page: Page): Promise<SeenLine[]> {
  await page.mouse.move(1, 799); // the pointer out of the text (over the status bar), so no hover opens over it
  await page.keyboard.press('Control+Home');
  await page.waitForTimeout(300);
  const seen = new Map<string, SeenLine>();
  let last = '';
  for (let i = 0; i < 60; i++) {
    const { shown, covered } = await linesOnScreen(page);
    if (covered.length)
      throw new Error(
        `code hidden on screen: ${covered.slice(0, 5).join('; ')}${covered.length > 5 ? ` (+${covered.length - 5})` : ''}`,
      );
    for (const l of shown) seen.set(`${l.editor}:${l.number}`, l);
    const key = shown.map((l) => `${l.editor}:${l.number}`).join(',');
    if (key === last) break; // the end: scrolling changed nothing
    last = key;
    for (let k = 0; k < 12; k++) await page.keyboard.press('Control+ArrowDown'); // scroll without moving the cursor
    await page.waitForTimeout(150);
  }
  await page.keyboard.press('Control+Home');
  return [...seen.values()];
}

/** Lines 1..n of one editor, as gathered by readAllLines; undefined when one of them was not seen. */
function editorLines(seen: SeenLine[], editor: number): string[] | undefined {
  const mine = seen.filter((l) => l.editor === editor);
  const count = Math.max(0, ...mine.map((l) => l.number));
  const lines: string[] = [];
  for (let n = 1; n <= count; n++) {
    const l = mine.find((x) => x.number === n);
    if (!l) return undefined;
    lines.push(l.text);
  }
  return lines;
}

/** The whole document of the (single) focused editor, line by line, every line seen on screen. */
async function documentLines(page: Page): Promise<string[]> {
  const seen = await readAllLines(page);
  const lines = editorLines(seen, 0);
  if (!lines) throw new Error('some line of the document was never on screen');
  return lines;
}

/**
 * During review: pages through it and checks that one editor on screen shows every line of
 * `original` (with its own number, unobscured) and another shows a whole document. Returns that
 * other document: what the review says Accept will write.
 */
async function reviewShowsAll(page: Page, original: string[], what: string): Promise<string[] & { wide: number }> {
  // a notification (e.g. that only part of a long selection was refined) covers code until dismissed
  if (await page.$('.notification-toast')) {
    await palette(page, 'Notifications: Clear All Notifications');
    await page.waitForSelector('.notification-toast', { state: 'detached', timeout: 5_000 });
  }
  const seen = await readAllLines(page);
  const editors = [...new Set(seen.map((l) => l.editor))];
  const docs = editors.map((e) => editorLines(seen, e));
  const same = (a: string[] | undefined, b: string[]): boolean =>
    !!a && a.length === b.length && a.every((x, i) => x.trimEnd() === b[i].trimEnd());
  const o = docs.findIndex((d) => same(d, original));
  if (o < 0) {
    const got = docs.map((d) => (d ? `${d.length} lines` : 'lines missing'));
    throw new Error(
      `${what}: the review does not show every original line unobscured (original ${original.length} lines; editors: ${got.join(', ')})`,
    );
  }
  const p = docs.findIndex((d, i) => i !== o && d !== undefined);
  if (p < 0)
    throw new Error(`${what}: the review shows no whole document of what Accept will write beside the original`);
  const wide = seen.filter((l) => l.editor === editors[p] && l.wide).length;
  return Object.assign(docs[p]!, { wide });
}

/** After Accept: the document is exactly, line for line, the document the review showed. */
async function writtenAsShown(page: Page, shown: string[], what: string): Promise<void> {
  const now = await documentLines(page);
  const diff = now.findIndex((l, i) => l.trimEnd() !== (shown[i] ?? '').trimEnd());
  if (diff >= 0 || now.length !== shown.length) {
    const at = diff >= 0 ? diff : Math.min(now.length, shown.length);
    throw new Error(
      `${what}: Accept wrote something else than the review showed: line ${at + 1} is ${JSON.stringify(now[at])}, ` +
        `the review showed ${JSON.stringify(shown[at])} (${now.length} vs ${shown.length} lines)`,
    );
  }
}

/** Waits for a proposal in review (its Accept control), then for the review's first paint. */
/** Refine Selection with Strength… at 1 (a rewrite of the selection), from the palette. */
async function refineAtStrengthOne(page: Page): Promise<void> {
  await palette(page, 'Diffuse: Refine Selection with Strength…');
  await page.waitForSelector('.quick-input-widget input[placeholder], .quick-input-widget .quick-input-message');
  await page.keyboard.press('Control+A');
  await page.keyboard.type('1');
  await page.keyboard.press('Enter');
}

/**
 * A strength-1 rewrite is reviewed only when the model does not rate it below the code; when it
 * does, the message offers "Show anyway" in the review's place: shown (its screenshot kept), then
 * clicked, as a user who wants the rewrite would.
 */
async function reviewOrShowAnyway(page: Page, timeout: number, log: (...m: unknown[]) => void): Promise<void> {
  const anyway = '.notifications-toasts .monaco-button:has-text("Show anyway")';
  await page.waitForSelector(`${ACCEPT_ACTION}, .codelens-decoration a:has-text("Accept"), ${anyway}`, { timeout });
  const button = page.locator(anyway);
  if (await button.count()) {
    await page.screenshot({ path: path.join(shots, 'below-original.png') });
    log('strength 1: the model rated its rewrite below the code: the message, not the review; Show anyway clicked');
    await button.first().click();
  }
  await waitForReview(page, timeout);
}

async function waitForReview(page: Page, timeout: number): Promise<void> {
  await page.waitForSelector(`${ACCEPT_ACTION}, .codelens-decoration a:has-text("Accept")`, { timeout });
  await page.waitForTimeout(500);
}

/** Accepts the proposal with its Accept control (the review's title-bar action, else the CodeLens). */
async function clickAccept(page: Page): Promise<void> {
  const action = page.locator(ACCEPT_ACTION);
  if (await action.count()) await action.first().click();
  else
    await page
      .locator('.codelens-decoration a', { hasText: /^\S*\s*Accept( All)? \(/ })
      .first()
      .click();
  await page.waitForSelector(`${ACCEPT_ACTION}, .codelens-decoration a:has-text("Accept")`, {
    state: 'detached',
    timeout: 10_000,
  });
  await page.waitForTimeout(300);
}

const ACCEPT_ACTION = '.editor-actions a.action-label[aria-label^="Accept Proposal"]';

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
