// Where the live view's image goes beside the code it belongs to (editor/imageDecoration.ts), in
// columns: right of the code when there is room on screen, else smaller, else over the long lines'
// ends, but always where the viewport shows all of it.

/** Below this the image's text gets hard to read: it moves left over the code's long lines instead. */
const MIN_SCALE = 0.6;

/**
 * Where an image of `columns` columns goes when the code it belongs beside ends at column `desired`
 * and `shown` columns are on screen: right of the code, scaled down (to MIN_SCALE) when that is
 * what it takes to stay on screen; else as far right as it fits whole, over the long lines' ends.
 */
export function placeImage(desired: number, columns: number, shown: number): { left: number; scale: number } {
  const room = shown - 1 - desired;
  if (columns * MIN_SCALE <= room) return { left: desired, scale: Math.min(1, room / columns) };
  const scale = Math.min(1, (shown - 1) / columns);
  return { left: Math.max(0, Math.floor(shown - 1 - columns * scale)), scale };
}
