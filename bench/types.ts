export interface Figure {
  readonly name: string;
  readonly records: number;
  readonly seconds: number;
  readonly perSecond: number;
  readonly peakRssMB?: number | undefined;
}

export interface Ratio {
  readonly name: string;
  readonly value: number;
  readonly target?: string;
}

export interface ScenarioResult {
  readonly scenario: string;
  readonly figures: readonly Figure[];
  readonly ratios: readonly Ratio[];
  readonly targets: ReadonlyArray<{ readonly name: string; readonly met: boolean }>;
  readonly notes: readonly string[];
}

export interface ScenarioOptions {
  readonly records: number;
  readonly pgRecords: number;
  readonly log: (line: string) => void;
}
