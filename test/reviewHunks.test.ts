// The inline diff shown when a refinement finishes: hunks the user accepts or rejects one by one.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { diffHunks, proposalRuns, runsToLines } from '../src/core/review/reviewHunks';
import { applyEdits } from '../src/core/text/textEdit';

const original = 'function add(a, b) {\n  const s = a + b;\n  return s;\n}\n';

describe('inline diff', () => {
  test('equal texts have no hunks', () => {
    assert.deepEqual(diffHunks(original, original), []);
  });

  test('a one-word change is one hunk that removes and adds only that word', () => {
    const proposal = original.replace('const s', 'let s');
    const [h, ...rest] = diffHunks(original, proposal);
    assert.equal(rest.length, 0);
    assert.deepEqual(
      h.removed.map((r) => original.slice(r.start, r.end)),
      ['const'],
    );
    assert.deepEqual(
      h.proposal.filter((r) => r.style === 'added').map((r) => r.text),
      ['let'],
    );
    assert.equal(applyEdits(original, [h]), proposal);
  });

  test('changes on separate lines are separate hunks, each applicable alone', () => {
    const proposal = 'function add(x, b) {\n  const s = a + b;\n  return s + 0;\n}\n';
    const hunks = diffHunks(original, proposal);
    assert.equal(hunks.length, 2);
    assert.equal(applyEdits(original, hunks), proposal);
    assert.equal(applyEdits(original, [hunks[1]]), original.replace('return s;', 'return s + 0;'));
  });

  test('added lines become an added line of the proposal', () => {
    const proposal = original.replace('  return s;\n', '  console.log(s);\n  return s;\n');
    const hunks = diffHunks(original, proposal);
    assert.equal(hunks.length, 1);
    assert.equal(hunks[0].start, hunks[0].end);
    const lines = runsToLines(proposalRuns(original, hunks));
    assert.deepEqual(lines[2], [{ text: '  console.log(s);', style: 'added' }]);
    assert.equal(lines.length, 5);
  });

  test('a proposal without a trailing newline still applies exactly', () => {
    const hunks = diffHunks('a = 1', 'a = 2;');
    assert.equal(applyEdits('a = 1', hunks), 'a = 2;');
  });
});
