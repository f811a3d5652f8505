// The corrector's pure parts: which tokens are doubted, how a rewritten stretch is scored, and
// where hunks land.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { shiftedHunks, stretchScore, suspiciousRuns, tokenOffsets } from '../src/core/sampler/correctorRules';
import { applyEdits } from '../src/core/text/textEdit';

describe('corrector', () => {
  test("only tokens far less likely than their slot's best are doubted, and near ones merge", () => {
    const original = [0.9, 0.01, 0.8, 0.02, 0.9, 0.9, 0.9, 0.05];
    const best = [0.9, 0.6, 0.8, 0.5, 0.9, 0.9, 0.9, 0.5];
    assert.deepEqual(suspiciousRuns(original, best, 0.15), [
      { from: 1, to: 4 },
      { from: 7, to: 8 },
    ]);
    assert.deepEqual(suspiciousRuns(original, best, 0.15, 0), [
      { from: 1, to: 2 },
      { from: 3, to: 4 },
      { from: 7, to: 8 },
    ]);
    assert.deepEqual(suspiciousRuns(original, best, 0.01), [], 'a low bar doubts nothing');
  });

  test('token offsets come from decoded prefixes', () => {
    const texts = ['ab', 'c', 'def'];
    assert.deepEqual(
      tokenOffsets([0, 1, 2], (ids) => ids.map((i) => texts[i]).join('')),
      [0, 2, 3, 6],
    );
  });

  test('a stretch scores the tokens it overlaps and one neighbour on each side', () => {
    const offsets = [0, 2, 4, 6, 8, 10];
    const logProbs = [-1, -2, -3, -4, -5];
    assert.equal(stretchScore(logProbs, offsets, 4, 6), (-2 - 3 - 4) / 3);
    assert.equal(stretchScore(logProbs, offsets, 0, 1), (-1 - 2) / 2, 'no neighbour before the first token');
  });

  test('hunks apply in order and report where they land', () => {
    const hunks = [
      { start: 1, end: 2, text: 'XYZ' },
      { start: 4, end: 6, text: '' },
    ];
    assert.equal(applyEdits('abcdefg', hunks), 'aXYZcdg');
    assert.deepEqual(shiftedHunks(hunks), [
      { from: 1, to: 4 },
      { from: 6, to: 6 },
    ]);
  });
});
