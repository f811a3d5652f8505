// The next-edit benchmark's cases and its scoring (bench/nextEdit.ts): the figures mean what
// README says only if these hold.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { casesOf, isExactFollowUp } from '../bench/nextEdit';

const FILE = [
  'function price(items) {',
  '  const rate = 1200;',
  '  let sum = 0;',
  '  for (const item of items) sum += item.cost * 1200;',
  '  return sum + rate;',
  '}',
  '',
].join('\n');

const apply = (text: string, fs: { start: number; end: number; text: string }[]): string =>
  [...fs].sort((a, b) => b.start - a.start).reduce((t, f) => t.slice(0, f.start) + f.text + t.slice(f.end), text);

test('a renamed declaration needs every later use renamed; the follow-ups make the file consistent again', () => {
  const c = casesOf('p.js', FILE).find((k) => k.kind === 'rename-declaration')!;
  assert.ok(c.after.includes('let nextSum = 0;'), 'the first local with two later uses');
  assert.equal(apply(c.after, c.followUps), FILE.replace(/\bsum\b/g, 'nextSum'));
  const u = casesOf('p.js', FILE).find((k) => k.kind === 'rename-use')!;
  assert.ok(u.after.includes('let sum = 0;') && u.after.includes('nextSum += item'));
  assert.equal(apply(u.after, u.followUps), FILE.replace(/\bsum\b/g, 'nextSum'));
});

test('a repeated literal changed once needs its copies changed; a comment line needs nothing', () => {
  const cases = casesOf('p.js', FILE);
  const lit = cases.find((k) => k.kind === 'literal')!;
  assert.equal(apply(lit.after, lit.followUps), FILE.replace(/1200/g, '2400'));
  const quiet = cases.find((k) => k.kind === 'quiet-comment')!;
  assert.deepEqual(quiet.followUps, []);
  assert.match(quiet.after, /\n {2}\/\/ keep this in step with the caller\n/);
});

test('a proposal is exact when it applies the follow-ups it touches and nothing else', () => {
  const after = 'a = x; b = x; c = x;';
  const f = [{ start: 4, end: 5, text: 'y' }, { start: 11, end: 12, text: 'y' }, { start: 18, end: 19, text: 'y' }];
  assert.equal(isExactFollowUp(after, { start: 4, end: 5, text: 'y' }, f), true, 'one of them');
  assert.equal(isExactFollowUp(after, { start: 4, end: 12, text: 'y; b = y' }, f), true, 'two neighbouring ones');
  assert.equal(isExactFollowUp(after, { start: 4, end: 5, text: 'z' }, f), false, 'the wrong text');
  assert.equal(isExactFollowUp(after, { start: 0, end: 5, text: 'q = y' }, f), false, 'something else changed too');
  assert.equal(isExactFollowUp(after, { start: 0, end: 1, text: 'q' }, f), false, 'no follow-up touched');
});
