// What a benchmark scenario is: a name, and a run that returns tables of medians for the report.
export interface BenchContext {
  originUrl: string;
  /** Rounds per measurement; the report gives the median. */
  rounds: number;
  /** Seconds per wrk run. */
  seconds: number;
  log(message: string): void;
  /** Origin request counts by path, as the origin process saw them. */
  originCounts(): Promise<Record<string, number>>;
  resetOriginCounts(): Promise<void>;
}

export interface Section {
  title: string;
  /** Rows of a markdown table; the first row is the header. */
  table: string[][];
  notes: string[];
  data: unknown;
}

export interface Scenario {
  name: string;
  description: string;
  /** One table, or several (a scenario with a summary beside its raw table). */
  run(ctx: BenchContext): Promise<Section | Section[]>;
}

export const fmt = (n: number, digits = 0) =>
  Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : 'n/a';
