#!/usr/bin/env node
// Runs Diffuse's integration tests in a real VS Code, offline: the VS Code server build shipped in
// the npm package code-server (a Node extension host, so the worker and onnxruntime-node load) opened
// by headless Debian Chromium through playwright-core. Adapted from the recipe VS Code's own browser
// integration tests use: the extension under test and the tests come in through the URL payload
// (extensionDevelopmentPath / extensionTestsPath), results through window.codeAutomationLog / Exit.
//
// usage: node run.js --extensionDevelopmentPath=DIR (--extensionTestsPath=FILE | --ui=SCRIPT.js)
//        [--workspace=DIR] [--settings=FILE.json] [--installVsix=FILE.vsix] [--timeout=300]
//        [--screenshot=FILE.png (on timeout)] [--verbose] [--keepTmp] [--codeServer=.../entry.js]
// --ui runs SCRIPT's default export `async ({ page, workspace, log }) => void` against the workbench
// instead of mocha tests in the extension host (Playwright-level tests: palette, CodeLens, screenshots).
// Exit code = the tests' result (124 = timeout).
const { spawn, spawnSync } = require('child_process');
const fs = require('fs'), os = require('os'), path = require('path'), net = require('net'), http = require('http');
const { chromium } = require('playwright-core');

const args = Object.fromEntries(process.argv.slice(2).map((a) => {
  const m = /^--([^=]+)=(.*)$/.exec(a);
  return m ? [m[1], m[2]] : [a.replace(/^--/, ''), 'true'];
}));
const abs = (p) => p && path.resolve(p);
const extDev = abs(args.extensionDevelopmentPath), testsPath = abs(args.extensionTestsPath), uiScript = abs(args.ui);
if (!extDev || !(testsPath || uiScript)) {
  console.error('need --extensionDevelopmentPath and --extensionTestsPath or --ui');
  process.exit(2);
}
const root = path.resolve(__dirname, '..', '..');
const csEntry = abs(args.codeServer || path.join(root, '.vscode-test', 'code-server-4.100.3', 'node_modules', 'code-server', 'out', 'node', 'entry.js'));
const chromePath = args.chromium || process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const timeoutMs = (+args.timeout || 300) * 1000;
const verbose = !!args.verbose || !!process.env.VERBOSE;

const freePort = () => new Promise((res, rej) => {
  const s = net.createServer();
  s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => res(p)); });
  s.on('error', rej);
});
const get = (url) => new Promise((res) => http.get(url, (r) => { r.resume(); res(r.statusCode); }).on('error', () => res(0)));

(async () => {
  const t0 = Date.now();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'diffuse-vscode-'));
  const ud = path.join(tmp, 'user-data'), exts = path.join(tmp, 'extensions');
  const workspace = abs(args.workspace) || fs.mkdtempSync(path.join(tmp, 'ws-'));
  fs.mkdirSync(path.join(ud, 'User'), { recursive: true });
  fs.mkdirSync(exts, { recursive: true });
  fs.writeFileSync(path.join(ud, 'User', 'settings.json'), JSON.stringify({
    'workbench.startupEditor': 'none', 'workbench.tips.enabled': false, 'workbench.enableExperiments': false,
    'telemetry.telemetryLevel': 'off', 'extensions.autoCheckUpdates': false, 'extensions.autoUpdate': false,
    'extensions.ignoreRecommendations': true, 'update.mode': 'none', 'security.workspace.trust.enabled': false,
    'files.autoSave': 'off', 'chat.commandCenter.enabled': false, 'workbench.secondarySideBar.defaultVisibility': 'hidden',
    ...(args.settings ? JSON.parse(fs.readFileSync(args.settings, 'utf8')) : {}),
  }, null, 2));
  const serverMain = path.join(path.dirname(csEntry), '..', '..', 'lib', 'vscode', 'out', 'server-main.js');
  const env = {
    ...process.env, TMPDIR: tmp, // the server puts its vscode-ipc-*.sock files there
    XDG_CONFIG_HOME: path.join(tmp, 'xdg-config'), XDG_DATA_HOME: path.join(tmp, 'xdg-data'),
    EXTENSIONS_GALLERY: process.env.EXTENSIONS_GALLERY || '{}', // no marketplace offline
  };
  const common = ['--accept-server-license-terms', '--user-data-dir', ud, '--server-data-dir', path.join(tmp, 'server-data'), '--extensions-dir', exts];
  if (args.installVsix) {
    // the server's own CLI installs a VSIX the way a user's VS Code would
    const r = spawnSync(process.execPath, [serverMain, ...common, '--install-extension', abs(args.installVsix), '--force'], { env, encoding: 'utf8' });
    process.stdout.write(r.stdout || '');
    if (r.status !== 0) { console.error(`[runner] installing ${args.installVsix} failed\n${r.stderr}`); process.exit(3); }
  }
  const port = +args.port || await freePort();
  // --enable-smoke-test-driver: a built VS Code honours extensionDevelopmentPath/extensionTestsPath from the URL only with it
  const server = spawn(process.execPath, [serverMain, '--host', '127.0.0.1', '--port', String(port), '--without-connection-token',
    '--enable-smoke-test-driver', '--disable-telemetry', '--disable-workspace-trust', ...common], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const serverLog = [];
  const onServerData = (d) => { serverLog.push(d); if (verbose) process.stderr.write('[server] ' + d); };
  server.stdout.on('data', onServerData);
  server.stderr.on('data', onServerData);
  let browser, page, finished = false;
  const cleanup = async (code) => {
    if (finished) return;
    finished = true;
    try { if (browser) await browser.close(); } catch {}
    server.kill('SIGTERM');
    if (!args.keepTmp) fs.rmSync(tmp, { recursive: true, force: true });
    console.log(`[runner] finished with exit code ${code} in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
    process.exit(code);
  };
  const timer = setTimeout(async () => {
    console.error(`[runner] TIMEOUT after ${timeoutMs / 1000}s`);
    if (!verbose) process.stderr.write(Buffer.concat(serverLog));
    if (page && args.screenshot) { try { await page.screenshot({ path: args.screenshot }); console.error('[runner] screenshot: ' + args.screenshot); } catch {} }
    cleanup(124);
  }, timeoutMs);
  server.on('exit', (c) => { console.error(`[runner] VS Code server exited early (${c})`); process.stderr.write(Buffer.concat(serverLog)); cleanup(3); });

  const base = `http://127.0.0.1:${port}`;
  while (await get(base + '/version') !== 200) await new Promise((r) => setTimeout(r, 200));
  console.log(`[runner] VS Code server up on ${base} after ${((Date.now() - t0) / 1000).toFixed(1)}s`);

  browser = await chromium.launch({ executablePath: chromePath, headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run', '--disable-quic'] });
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  if (verbose) page.on('console', (m) => console.error('[browser]', m.type(), m.text()));
  page.on('pageerror', (e) => console.error('[browser pageerror]', e.message));
  await page.exposeFunction('codeAutomationLog', (type, a) => { console[type] ? console[type](...a) : console.log(...a); });
  await page.exposeFunction('codeAutomationExit', async (code) => { clearTimeout(timer); server.removeAllListeners('exit'); await cleanup(code); });

  const authority = `127.0.0.1:${port}`;
  const payload = [['extensionDevelopmentPath', `vscode-remote://${authority}${extDev}`], ['skipWelcome', 'true'], ['skipReleaseNotes', 'true']];
  if (testsPath) payload.push(['extensionTestsPath', `vscode-remote://${authority}${testsPath}`]);
  await page.goto(`${base}/?folder=${encodeURIComponent(workspace)}&payload=${encodeURIComponent(JSON.stringify(payload))}`);
  if (uiScript) {
    let code = 0;
    try {
      await require(uiScript)({ page, workspace, log: (...m) => console.log('[ui]', ...m) });
      console.log('[ui] passed');
    } catch (e) {
      code = 1;
      console.error('[ui] FAILED:', e && e.stack || e);
      if (args.screenshot) { try { await page.screenshot({ path: args.screenshot }); console.error('[runner] screenshot: ' + args.screenshot); } catch {} }
    }
    clearTimeout(timer);
    server.removeAllListeners('exit');
    await cleanup(code);
  }
})().catch((e) => { console.error('[runner] error', e); process.exit(2); });
