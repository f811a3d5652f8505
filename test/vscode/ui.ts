// Playwright through the workbench, as a user would: Quick Open, a selection made with the keyboard,
// the command palette, the live view and the inline diff (screenshots of both), a CodeLens click.
import fs from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';

const shots = path.join(__dirname, '..', 'screenshots');

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
  await page.keyboard.press('Control+P');
  await page.waitForSelector('.quick-input-widget input');
  await page.keyboard.type('sample.ts');
  await page.waitForSelector('.quick-input-list .monaco-list-row:has-text("sample.ts")');
  await page.keyboard.press('Enter');
  await page.waitForSelector('.monaco-editor .view-lines:has-text("centroid")');
  await page.click('.monaco-editor .view-lines');
  // select lines 14–19 (the loop of centroid) with the keyboard
  await page.keyboard.press('Control+G');
  await page.keyboard.type('14');
  await page.keyboard.press('Enter');
  await page.keyboard.press('Home');
  for (let i = 0; i < 6; i++) await page.keyboard.press('Shift+ArrowDown');
  await page.waitForSelector('[id$="diffuse.status"]:has-text("Diffuse")');
  await page.waitForFunction(() => !document.querySelector('[id$="diffuse.status"]')?.textContent?.includes('loading'), undefined, { timeout: 60_000 });
  const before = await editorText(page);
  // at strength 0.4 most tokens stay, so the picture shows code being reworked rather than rewritten
  await palette(page, 'Diffuse: Refine Selection with Strength…');
  await page.waitForSelector('.quick-input-widget input[placeholder], .quick-input-widget .quick-input-message');
  await page.keyboard.press('Control+A');
  await page.keyboard.type('0.4');
  await page.keyboard.press('Enter');
  // live: the CodeLens shows the step while the image beside the span evolves
  await page.waitForSelector('[id$="diffuse.status"]:has-text("step")', { timeout: 30_000 });
  await page.waitForTimeout(250);
  await page.screenshot({ path: path.join(shots, 'live-denoising.png') });
  log('live view captured');
  // review: Accept / Reject CodeLens over the inline diff
  await page.waitForSelector('.codelens-decoration a:has-text("Accept")', { timeout: 120_000 });
  await page.waitForTimeout(300);
  await page.screenshot({ path: path.join(shots, 'inline-diff.png') });
  log('inline diff captured');
  if ((await editorText(page)) !== before) throw new Error('the document changed before Accept');
  await page.click('.codelens-decoration a:has-text("Accept All")');
  await page.waitForFunction((b) => {
    const t = document.querySelector('.monaco-editor .view-lines')?.textContent?.replace(/\u00a0/g, ' ');
    return t !== b;
  }, before, { timeout: 10_000 });
  await page.waitForSelector('.codelens-decoration a:has-text("Accept")', { state: 'detached', timeout: 10_000 });
  log('accepted through the CodeLens');
  await page.keyboard.press('Control+Z');
  await page.waitForFunction((b) => document.querySelector('.monaco-editor .view-lines')?.textContent?.replace(/\u00a0/g, ' ') === b, before, { timeout: 10_000 });
  log('one undo restored the original');
  // Escape cancels a run: refine the whole file (a long run) and press Escape once it is stepping
  await page.keyboard.press('Control+A');
  await page.keyboard.press('Control+Alt+R'); // the keybinding
  const status = '[id$="diffuse.status"]';
  await page.waitForSelector(`${status}:has-text("step")`, { timeout: 30_000 });
  await page.keyboard.press('Escape');
  await page.waitForSelector(`${status}:not(:has-text("step"))`, { timeout: 10_000 });
  await page.waitForTimeout(500);
  if (await page.$('.codelens-decoration a:has-text("Accept")')) throw new Error('a cancelled run still offered a proposal');
  if ((await editorText(page)) !== before) throw new Error('cancelling changed the document');
  log('Escape cancelled');
  // ghost text at a fresh line inside a function, asked for with the keybinding
  await page.keyboard.press('Control+G');
  await page.keyboard.type('9');
  await page.keyboard.press('Enter');
  await page.keyboard.press('End');
  await page.keyboard.press('Enter');
  // an early model often proposes only whitespace here, which is correctly not shown: give it a start
  // on the line, a few characters at a time, until ghost text appears
  const ghost = '.monaco-editor .ghost-text-decoration, .monaco-editor .ghost-text-decoration-preview';
  let shown = false;
  for (const typed of ['', 'const ', 'd', 'i', 's', 't']) {
    await page.keyboard.type(typed);
    await page.keyboard.press('Alt+Backslash');
    shown = await page.waitForSelector(ghost, { timeout: 8_000 }).then(() => true, () => false);
    if (shown) break;
  }
  if (!shown) throw new Error('no ghost text appeared');
  await page.waitForTimeout(200);
  await page.screenshot({ path: path.join(shots, 'ghost-text.png') });
  log('ghost text shown');
  // Fill at Cursor with two cursors (the second added with Ctrl+Alt+Down), then Reject with its key
  await page.keyboard.press('Escape');
  await page.keyboard.press('Control+Z');
  await page.waitForFunction((b) => document.querySelector('.monaco-editor .view-lines')?.textContent?.replace(/\u00a0/g, ' ') === b, before, { timeout: 10_000 })
    .catch(() => undefined);
  const text = await editorText(page);
  await page.keyboard.press('Control+G');
  await page.keyboard.type('15');
  await page.keyboard.press('Enter');
  await page.keyboard.press('End');
  await palette(page, 'Add Cursor Below');
  await page.waitForSelector('.monaco-editor .cursors-layer .cursor.secondary', { state: 'attached', timeout: 10_000 }).catch(() => undefined);
  await page.keyboard.press('Control+Alt+F');
  await page.waitForSelector('.codelens-decoration a:has-text("Accept")', { timeout: 60_000 });
  await page.waitForTimeout(300);
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
};

async function editorText(page: Page): Promise<string> {
  return page.evaluate(() => document.querySelector('.monaco-editor .view-lines')?.textContent?.replace(/\u00a0/g, ' ') ?? '');
}
