/** How many of the still-masked slots a step commits. */
export interface CommitSchedule {
  /** Commit every slot whose confidence reaches this (Fast-dLLM's threshold rule). */
  threshold: number;
  /** When set, commit exactly this many per step instead (the fixed-k schedule). */
  tokensPerStep?: number;
  /**
   * Commit slots in canvas order, each span up to its first pad, instead of the most confident
   * first: with tokensPerStep 1 this is autoregressive decoding by the same model (a baseline).
   */
  leftToRight?: boolean;
}

/**
 * Number of slots to commit this step, given the confidences sorted from high to low.
 * At least one slot is always committed, so decoding always progresses, and at least
 * ceil(masked / stepsLeft), so the step budget is never exceeded.
 */
export function commitCount(sortedConfidences: ArrayLike<number>, stepsLeft: number, schedule: CommitSchedule): number {
  const masked = sortedConfidences.length;
  if (masked === 0) return 0;
  let n: number;
  if (schedule.tokensPerStep && schedule.tokensPerStep > 0) {
    n = schedule.tokensPerStep;
  } else {
    n = 0;
    while (n < masked && sortedConfidences[n] >= schedule.threshold) n++;
  }
  const budgetFloor = Math.ceil(masked / Math.max(1, stepsLeft));
  return Math.min(masked, Math.max(1, n, budgetFloor));
}
