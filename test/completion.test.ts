// Ghost text: trimming raw completions to sensible boundaries, and the cache that makes typing
// what the ghost text shows free.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CompletionCache } from '../src/core/completion/completionCache';
import { trimCompletion } from '../src/core/completion/completionTrim';

describe('trimCompletion', () => {
  const at = (linePrefix: string, suffix = '\n', maxLines = 4) => ({ linePrefix, suffix, maxLines });

  test('text right of the cursor keeps the completion on one line, without repeating that text', () => {
    assert.equal(trimCompletion('a, b)\n  return x;', at('  foo(', ')\n')), 'a, b');
  });

  test('stops at a blank line', () => {
    assert.equal(trimCompletion('x = 1;\n  y = 2;\n\n  z = 3;', at('  ')), 'x = 1;\n  y = 2;');
  });

  test('stops when leaving the block, keeping one closing bracket line', () => {
    assert.equal(trimCompletion('return a;\n}\nfunction g() {', at('  ')), 'return a;\n}');
  });

  test('does not repeat the next line of code', () => {
    assert.equal(trimCompletion('const b = 2;\n  return b;', at('  ', '\n  return b;\n}')), 'const b = 2;');
  });

  test('limits lines, drops mask glyphs and trailing whitespace', () => {
    assert.equal(trimCompletion('a;  \nb;\nc;\nd;', at('', '\n', 2)), 'a;\nb;');
    assert.equal(trimCompletion('x\u2591 = 1', at('')), 'x = 1');
  });

  test('whitespace only is nothing', () => {
    assert.equal(trimCompletion('  \n\n', at('')), '');
  });
});

describe('CompletionCache', () => {
  test('typing the start of a cached completion returns the rest without a new request', () => {
    const cache = new CompletionCache();
    cache.put('const x = ', ';\n', 'compute(a, b)');
    assert.equal(cache.get('const x = ', ';\n'), 'compute(a, b)');
    assert.equal(cache.get('const x = comp', ';\n'), 'ute(a, b)');
    assert.equal(cache.get('const x = comX', ';\n'), undefined);
  });

  test('a different suffix is a different position', () => {
    const cache = new CompletionCache();
    cache.put('f(', ')\n', 'a');
    assert.equal(cache.get('f(', ']\n'), undefined);
  });

  test('keeps at most its capacity, newest first', () => {
    const cache = new CompletionCache(2);
    cache.put('a', '', '1');
    cache.put('b', '', '2');
    cache.put('c', '', '3');
    assert.equal(cache.get('a', ''), undefined);
    assert.equal(cache.get('c', ''), '3');
  });
});
