// The next-edit benchmark's cases and its scoring (bench/quality/nextEdit.ts): the figures mean what
// README says only if these hold.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { casesOf, isExactFollowUp } from '../bench/quality/nextEdit';

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
  const f = [
    { start: 4, end: 5, text: 'y' },
    { start: 11, end: 12, text: 'y' },
    { start: 18, end: 19, text: 'y' },
  ];
  assert.equal(isExactFollowUp(after, { start: 4, end: 5, text: 'y' }, f), true, 'one of them');
  assert.equal(isExactFollowUp(after, { start: 4, end: 12, text: 'y; b = y' }, f), true, 'two neighbouring ones');
  assert.equal(isExactFollowUp(after, { start: 4, end: 5, text: 'z' }, f), false, 'the wrong text');
  assert.equal(isExactFollowUp(after, { start: 0, end: 5, text: 'q = y' }, f), false, 'something else changed too');
  assert.equal(isExactFollowUp(after, { start: 0, end: 1, text: 'q' }, f), false, 'no follow-up touched');
});

test('a parameter added to a function needs one more argument at each call below; any argument text meets it', () => {
  const file = [
    'function scale(value, factor) {',
    '  return value * factor;',
    '}',
    'function none() {',
    '  return 1;',
    '}',
    'const a = scale(2, 3);',
    'const b = scale(none(), 4) + none();',
    '',
  ].join('\n');
  const c = casesOf('s.js', file).find((k) => k.kind === 'parameter')!;
  assert.ok(c.after.startsWith('function scale(value, factor, extra) {'), c.after.split('\n')[0]);
  assert.equal(c.followUps.length, 2, 'both calls of scale');
  const callA = c.after.indexOf('scale(2, 3)') + 'scale(2, 3'.length;
  const fA = { start: callA, end: callA };
  assert.equal(isExactFollowUp(c.after, { ...fA, text: ', true' }, c.followUps), true, 'an argument added');
  assert.equal(isExactFollowUp(c.after, { ...fA, text: ', opts.get(1)' }, c.followUps), true, 'a call as the argument');
  assert.equal(isExactFollowUp(c.after, { ...fA, text: ', x, y' }, c.followUps), false, 'two arguments');
  assert.equal(isExactFollowUp(c.after, { ...fA, text: '' }, c.followUps), false, 'nothing added');
  const line = c.after.indexOf('const a');
  assert.equal(
    isExactFollowUp(c.after, { start: line, end: callA, text: 'let a = scale(2, 3' }, c.followUps),
    false,
    'something else changed too',
  );
  const both = c.after.slice(line, c.after.indexOf('\n', c.after.indexOf('const b')));
  const fixed = both.replace('scale(2, 3)', 'scale(2, 3, 1)').replace('scale(none(), 4)', 'scale(none(), 4, 2)');
  assert.equal(
    isExactFollowUp(c.after, { start: line, end: line + both.length, text: fixed }, c.followUps),
    true,
    'both calls at once',
  );

  const zero = casesOf('z.js', 'function go() {\n  return 1;\n}\ngo();\n').find((k) => k.kind === 'parameter')!;
  assert.ok(zero.after.startsWith('function go(extra) {'));
  const at = zero.after.indexOf('go();') + 3;
  assert.equal(
    isExactFollowUp(zero.after, { start: at, end: at, text: 'true' }, zero.followUps),
    true,
    'the first argument of a call that had none',
  );
  assert.equal(isExactFollowUp(zero.after, { start: at, end: at, text: ', true' }, zero.followUps), false);
});

test('a proposal that adds a trailing newline is not exact', () => {
  const after = 'a = x;\n';
  assert.equal(isExactFollowUp(after, { start: 4, end: 7, text: 'y;\n\n' }, [{ start: 4, end: 5, text: 'y' }]), false);
});
