// Which check decides that a repair is right, and where it runs. A check is a command the user
// already has: one of their VS Code tasks (its command line, read from the task), the command in
// the user setting `diffuse.repair.check`, or one typed in. Running it means running a command
// from the workspace, so Repair runs only in a trusted workspace, the setting is machine-scoped
// (a workspace cannot set it), and the check a workspace suggests (a `test` script, a pytest
// layout) is only proposed: nothing runs until the user has picked it once. The pick is kept per
// workspace in workspaceState, which the workspace's own files cannot write.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';

/** A check as Repair runs it: a shell command at `root`, a copy of which is what actually runs it. */
export interface RepairCheck {
  /** What the user sees: the task's name or the command. */
  label: string;
  command: string;
  /** The folder copied for the check (its working directory in the copy). */
  root: string;
  /** Where it came from, for the pick list and the review's title. */
  from: 'task' | 'setting' | 'typed' | 'proposal';
}

/** What workspaceState remembers: the user's own pick, never anything the workspace wrote. */
type Remembered = { kind: 'task'; name: string; source: string } | { kind: 'command'; command: string };

const REMEMBERED_KEY = 'diffuse.repair.check';

/** Files and folders that make a folder a project's root (the nearest one above the file wins). */
const PROJECT_MARKERS = [
  'package.json',
  'pyproject.toml',
  'setup.py',
  'setup.cfg',
  'pytest.ini',
  'tox.ini',
  'conftest.py',
  'tsconfig.json',
  'Cargo.toml',
  'go.mod',
  'tests',
  '.git',
];

/** The one sentence an untrusted workspace gets instead of a repair; undefined where it may run. */
export function trustRefusal(trusted: boolean): string | undefined {
  return trusted
    ? undefined
    : 'Diffuse Repair runs a check (your tests or compiler) on this project, so it runs only in a trusted ' +
        'workspace; nothing was run. Trust this folder to use it.';
}

/**
 * The folder a file's check runs in: the nearest folder at or above it, inside its workspace
 * folder, that holds a project marker (package.json, pyproject.toml, a tests/ folder, …); else the
 * workspace folder; else the file's own folder.
 */
export function projectRoot(file: string, workspaceFolder: string | undefined): string {
  const stop = workspaceFolder ? path.resolve(workspaceFolder) : undefined;
  for (let d = path.dirname(path.resolve(file)); ; d = path.dirname(d)) {
    if (PROJECT_MARKERS.some((m) => fs.existsSync(path.join(d, m)))) return d;
    if (d === stop || path.dirname(d) === d) return stop ?? path.dirname(path.resolve(file));
  }
}

/**
 * The check a project obviously has, if any: its `test` script (`npm test`), pytest (a pytest
 * configuration or a tests/ folder), or the TypeScript compiler. Only ever proposed.
 */
export function proposedCheck(root: string): { command: string; why: string } | undefined {
  const read = (f: string): string | undefined => {
    try {
      return fs.readFileSync(path.join(root, f), 'utf8');
    } catch {
      return undefined;
    }
  };
  const pkg = read('package.json');
  if (pkg) {
    try {
      const test = (JSON.parse(pkg) as { scripts?: Record<string, string> }).scripts?.test;
      // npm init's placeholder fails on purpose: no check in that
      if (typeof test === 'string' && test.trim() && !/no test specified/.test(test))
        return { command: 'npm test', why: `package.json's test script: ${test}` };
    } catch {
      // not JSON: no proposal from it
    }
  }
  const pytestConfig =
    fs.existsSync(path.join(root, 'pytest.ini')) ||
    fs.existsSync(path.join(root, 'conftest.py')) ||
    /\[tool\.pytest/.test(read('pyproject.toml') ?? '') ||
    /\[(tool:)?pytest\]/.test(`${read('setup.cfg') ?? ''}${read('tox.ini') ?? ''}`);
  const testsFolder = fs.existsSync(path.join(root, 'tests')) && fs.statSync(path.join(root, 'tests')).isDirectory();
  if (pytestConfig || (testsFolder && hasPythonTests(path.join(root, 'tests'))))
    return { command: 'python3 -m pytest -x -q', why: pytestConfig ? 'a pytest configuration' : 'a tests/ folder' };
  if (fs.existsSync(path.join(root, 'tsconfig.json')))
    return { command: 'npx --no-install tsc --noEmit -p .', why: 'tsconfig.json' };
  return undefined;
}

function hasPythonTests(dir: string): boolean {
  try {
    return fs.readdirSync(dir).some((f) => /^test_.*\.py$|_test\.py$/.test(f));
  } catch {
    return false;
  }
}

/** A task's command line, when it has one Repair can run (a shell or process task). */
export function taskCommandLine(task: vscode.Task, relFile: string): string | undefined {
  const e = task.execution;
  // the variables a check is likely to use, filled in before quoting; a task with any other one
  // is not offered (Repair cannot fill it in)
  const fill = (t: string): string =>
    t.replace(/\$\{(workspaceFolder|relativeFile|file)\}/g, (_, v: string) =>
      v === 'workspaceFolder' ? '.' : relFile,
    );
  const arg = (a: string | vscode.ShellQuotedString): string =>
    quoted(typeof a === 'string' ? fill(a) : { value: fill(a.value), quoting: a.quoting });
  let line: string | undefined;
  if (e instanceof vscode.ShellExecution) {
    const command =
      e.commandLine !== undefined ? fill(e.commandLine) : e.command === undefined ? undefined : arg(e.command);
    line = command === undefined ? undefined : [command, ...(e.args ?? []).map(arg)].join(' ');
  } else if (e instanceof vscode.ProcessExecution) {
    line = [e.process, ...e.args].map(arg).join(' ');
  }
  if (line === undefined || /\$\{[^}]*\}/.test(line)) return undefined;
  const options = e instanceof vscode.ShellExecution || e instanceof vscode.ProcessExecution ? e.options : undefined;
  const cwd = options?.cwd === undefined ? '.' : fill(options.cwd);
  if (cwd === '.') return line;
  return /\$\{/.test(cwd) || path.isAbsolute(cwd) ? undefined : `cd ${quoted(cwd)} && ${line}`;
}

function quoted(a: string | vscode.ShellQuotedString): string {
  const value = typeof a === 'string' ? a : a.value;
  if (typeof a !== 'string' && a.quoting === vscode.ShellQuoting.Escape)
    return value.replace(/([^\w@%+=:,./-])/g, '\\$1');
  return /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replaceAll("'", `'\\''`)}'`;
}

/** The tasks of the workspace a check can be: shell or process tasks whose folder holds the file. */
async function taskChecks(file: string): Promise<(RepairCheck & { task: vscode.Task })[]> {
  const tasks = await vscode.tasks.fetchTasks().then(
    (t) => t,
    () => [] as vscode.Task[],
  );
  const out: (RepairCheck & { task: vscode.Task })[] = [];
  for (const task of tasks) {
    const folder = typeof task.scope === 'object' ? task.scope.uri.fsPath : undefined;
    const root = folder ?? vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    if (!root) continue;
    const rel = path.relative(root, file);
    if (rel.startsWith('..') || path.isAbsolute(rel)) continue;
    const command = taskCommandLine(task, rel);
    if (command) out.push({ label: task.name, command, root, from: 'task', task });
  }
  return out;
}

/** The check the user set in their settings (machine-scoped: only their user or remote settings count). */
export function settingCheck(command: string, root: string): RepairCheck | undefined {
  return command.trim() ? { label: command.trim(), command: command.trim(), root, from: 'setting' } : undefined;
}

/** Chooses (and remembers) the check of `file`, or returns the remembered one. */
export class CheckChooser {
  constructor(private readonly state: vscode.Memento) {}

  /** The label of the check a Quick Fix would run without asking, for its title. */
  rememberedLabel(settingCommand: string): string | undefined {
    const r = this.state.get<Remembered>(REMEMBERED_KEY);
    if (r) return r.kind === 'task' ? r.name : r.command;
    return settingCommand.trim() || undefined;
  }

  /**
   * The check to run on `file`. Without `ask`, the remembered pick (or the user's setting) runs
   * straight away; otherwise, or when there is neither, a pick list asks, the remembered check or
   * else the proposal first. Undefined: the user chose nothing.
   */
  async choose(file: string, settingCommand: string, ask: boolean): Promise<RepairCheck | undefined> {
    const folder = vscode.workspace.getWorkspaceFolder(vscode.Uri.file(file))?.uri.fsPath;
    const root = projectRoot(file, folder);
    const remembered = await this.resolveRemembered(file, root);
    const fromSetting = settingCheck(settingCommand, root);
    if (!ask && (remembered ?? fromSetting)) return remembered ?? fromSetting;
    return this.pick(file, root, remembered, fromSetting);
  }

  /** The remembered pick for `file`: a command runs at the file's project root, a task at its folder. */
  private async resolveRemembered(file: string, root: string): Promise<RepairCheck | undefined> {
    const r = this.state.get<Remembered>(REMEMBERED_KEY);
    if (!r) return undefined;
    if (r.kind === 'command') return { label: r.command, command: r.command, root, from: 'typed' };
    return (await taskChecks(file)).find((t) => t.task.name === r.name && t.task.source === r.source);
  }

  private async pick(
    file: string,
    root: string,
    remembered: RepairCheck | undefined,
    fromSetting: RepairCheck | undefined,
  ): Promise<RepairCheck | undefined> {
    type Item = vscode.QuickPickItem & { check?: RepairCheck & { task?: vscode.Task }; type?: true };
    const where = (c: RepairCheck): string => `runs in a copy of ${vscode.workspace.asRelativePath(c.root) || c.root}`;
    const proposal = proposedCheck(root);
    const items: Item[] = [];
    const seen = new Set<string>();
    const add = (check: RepairCheck & { task?: vscode.Task }, description: string, detail: string): void => {
      const key = `${check.command}\0${check.root}`;
      if (seen.has(key)) return;
      seen.add(key);
      items.push({ label: check.label, description, detail, check });
    };
    if (remembered) add(remembered, 'last used here', `${remembered.command} · ${where(remembered)}`);
    if (proposal)
      add(
        { label: proposal.command, command: proposal.command, root, from: 'proposal' },
        `proposed: ${proposal.why}`,
        where({ root } as RepairCheck),
      );
    if (fromSetting) add(fromSetting, 'diffuse.repair.check', where(fromSetting));
    for (const t of await taskChecks(file)) add(t, `task · ${t.task.source}`, `${t.command} · ${where(t)}`);
    items.push({
      label: '$(terminal) Type a command…',
      detail: `e.g. python3 -m pytest -x -q tests/test_x.py · ${where({ root } as RepairCheck)}`,
      type: true,
    });
    const chosen = await vscode.window.showQuickPick(items, {
      title: 'Diffuse: Repair — the check a fix must pass',
      placeHolder: 'A test, type check or compiler, run in a copy of the project with each candidate',
      ignoreFocusOut: true,
    });
    if (!chosen) return undefined;
    let check = chosen.check;
    if (chosen.type) {
      const command = await vscode.window.showInputBox({
        title: 'Diffuse: Repair — the check a fix must pass',
        prompt: `A shell command that exits 0 when the code is right; it ${where({ root } as RepairCheck)}`,
        value: proposal?.command ?? '',
        ignoreFocusOut: true,
      });
      if (!command?.trim()) return undefined;
      check = { label: command.trim(), command: command.trim(), root, from: 'typed' };
    }
    if (!check) return undefined;
    const keep: Remembered = check.task
      ? { kind: 'task', name: check.task.name, source: check.task.source }
      : { kind: 'command', command: check.command };
    await this.state.update(REMEMBERED_KEY, keep);
    const { task: _task, ...plain } = check;
    return plain;
  }
}
