// Runs mocha test files inside the extension host (the extensionTestsPath entry calls this), and
// ends with a plain "N passed, N failed" line that CI log readers understand.
import Mocha from 'mocha';

export function runMocha(files: string[]): Promise<void> {
  // MOCHA_GREP=pattern runs only the matching tests
  const mocha = new Mocha({ ui: 'tdd', color: false, timeout: 60_000, reporter: 'spec', grep: process.env.MOCHA_GREP });
  files.forEach((f) => mocha.addFile(f));
  return new Promise((resolve, reject) => {
    try {
      const runner = mocha.run((failures) => {
        const s = runner.stats!;
        console.log(`${s.passes} passed, ${s.failures} failed` + (s.pending ? `, ${s.pending} skipped` : ''));
        if (failures > 0) reject(new Error(`${failures} tests failed.`));
        else resolve();
      });
    } catch (err) {
      reject(err);
    }
  });
}
