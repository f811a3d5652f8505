export interface HumanEvalProblem { id: string; entryPoint: string; code: string }
export interface ProblemKeys { id: string; signature: string; body: string[] | null; docstring: string | null }
export declare function loadHumanEvalProblems(gzFile: string): HumanEvalProblem[];
export declare function problemKeys(problem: HumanEvalProblem): ProblemKeys | null;
export declare class Decontaminator {
  constructor(problems: HumanEvalProblem[]);
  keys: ProblemKeys[];
  check(text: string): { rule: 'signature' | 'body' | 'docstring'; problem: string } | null;
}
