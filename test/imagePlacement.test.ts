// Where the live view's image goes (src/core/view/imagePlacement.ts): beside the code when it fits
// on screen, smaller when that keeps it there, and over long lines rather than off screen.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { placeImage } from '../src/core/view/imagePlacement';

describe('live view placement', () => {
  test('an image that fits right of the code goes there at full size', () => {
    assert.deepEqual(placeImage(23, 30, 80), { left: 23, scale: 1 });
  });

  test('an image a little too wide for the room right of the code is drawn smaller there', () => {
    const { left, scale } = placeImage(43, 45, 80);
    assert.equal(left, 43);
    assert.ok(scale < 1 && scale >= 0.6, `scale ${scale}`);
    assert.ok(left + 45 * scale <= 79, 'its right edge on screen');
  });

  test('beside a line longer than the screen it moves left, over the long line, and stays whole on screen', () => {
    const { left, scale } = placeImage(203, 40, 80);
    assert.equal(scale, 1);
    assert.ok(left >= 0 && left + 40 <= 79, `left ${left}`);
  });

  test('an image wider than the screen is scaled to fit from the first column', () => {
    const { left, scale } = placeImage(203, 160, 80);
    assert.equal(left, 0);
    assert.ok(160 * scale <= 79, `scale ${scale}`);
  });
});
