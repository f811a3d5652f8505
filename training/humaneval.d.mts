export interface Problem {
  task_id: string;
  entry_point: string;
  prompt: string;
  suffix: string;
  canonical_solution: string;
  test: string;
}
export declare const SETS: Record<'single' | 'multi', { file: string; maxTokens: number; title: string }>;
export declare function loadProblems(set: 'single' | 'multi'): Problem[];
export declare function sample<T>(problems: T[], count: number, seed: number): T[];
export declare function program(problem: Problem, completion: string): string;
export declare function runProgram(code: string, timeoutS: number, dir: string): Promise<boolean>;
export interface EvaluateOptions {
  model: string;
  counts: { single: number; multi: number };
  seed: number;
  threads: number;
  jobs: number;
  timeoutS: number;
  cliArgs: string[];
  progress?: boolean;
}
export interface SetResult { problems: number; of: number; maxTokens: number; pass1: number; errors: number; callsPerProblem: number }
export declare function evaluate(opts: EvaluateOptions): Promise<{ model: string; seed: number; sets: Partial<Record<'single' | 'multi', SetResult>> }>;
