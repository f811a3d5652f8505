// How a request's progress is counted, the same way everywhere it is shown (status bar, live view,
// CodeLens, log, CLI): "step k/N" where N is the step budget, the most model calls the request may
// make (a sure model stops earlier, so k can end below N). A remote answer that streams without a
// budget is counted in the pieces it arrives in, "block k" (a diffusion server such as vLLM's
// DiffusionGemma sends whole 256-token blocks, not its steps), and a repair in "check k/N".

export function stepLabel(step: number, maxSteps: number, unit: 'step' | 'block' | 'check' = 'step'): string {
  return maxSteps > 0 ? `${unit} ${step}/${maxSteps}` : `${unit} ${step}`;
}
