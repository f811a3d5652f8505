// The integration tests' one window into the extension (test/vscode/*): what they cannot read off
// the screen. VS Code offers no way to read the notifications it shows, and a skipped, held-back or
// never-sent request leaves nothing in the document; the features record those here in one line
// each, and activate() hands this object to the tests. Nothing in the extension reads it, and a
// user's session only counts into it.
import type { Backend } from '../backend/backend';

export class TestProbe {
  /** Messages of the notifications shown (errors, warnings, information), oldest first. */
  readonly notices: string[] = [];
  /** Requests sent to the backend per kind: shows that several cursors went into one request. */
  readonly requests = { refine: 0, fill: 0, complete: 0, nextEdit: 0, repair: 0 };
  /** Ghost text's decisions: asked the backend, answered from the cache, skipped, held back below the threshold. */
  readonly ghostText = { requests: 0, cacheHits: 0, skipped: 0, belowConfidence: 0 };
  /** Next edit: requests asked (none with the feature off) and suggestions shown. */
  readonly nextEdit = { asked: 0, proposed: 0 };
  /** On the first run: resolves once the walkthrough opened (true), so that a test can wait for it and close it. */
  firstRun: Promise<boolean> | undefined;
  private wrapper: ((b: Backend) => Backend) | undefined;

  /** Records a notification's message; returns it, so a call site reads `show(probe.notice(text))`. */
  notice(text: string): string {
    this.notices.push(text);
    return text;
  }

  /** The backend a request goes to: the real one, or the tests' wrapper around it (see intercept). */
  backend(b: Backend): Backend {
    return this.wrapper ? this.wrapper(b) : b;
  }

  /** Wraps the backend to record or script its answers (test/vscode/helpers.ts); undo with the returned function. */
  intercept(wrap: (b: Backend) => Backend): () => void {
    this.wrapper = wrap;
    return () => {
      this.wrapper = undefined;
    };
  }
}

/** The extension's one probe (one extension host runs one Diffuse). */
export const probe = new TestProbe();
