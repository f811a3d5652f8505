// How a request's progress is counted, the same way everywhere it is shown (status bar, live view,
// CodeLens, log, CLI): "step k/N" where N is the step budget, the most model calls the request may
// make (a sure model stops earlier, so k can end below N); a remote backend that streams frames
// without a budget is counted as "step k".

export function stepLabel(step: number, maxSteps: number): string {
  return maxSteps > 0 ? `step ${step}/${maxSteps}` : `step ${step}`;
}
