// The time left of a run, from what its two kinds of work have cost so far in this process: a training step and the
// evaluation of one task (greedy answers to its test prompts) differ by orders of magnitude, so each is timed on its
// own and the remaining work of each kind is priced at its own rate.
export class EtaEstimator {
  private trainSeconds = 0;
  private trainUnits = 0;
  private evalSeconds = 0;
  private evalUnits = 0;

  /** Time spent training (steps, and a method's other phases and after-task work, which count no units). */
  train(seconds: number, units: number): void {
    this.trainSeconds += seconds;
    this.trainUnits += units;
  }

  /** Time spent evaluating `units` tasks. */
  eval(seconds: number, units: number): void {
    this.evalSeconds += seconds;
    this.evalUnits += units;
  }

  /**
   * Seconds left for the remaining training steps and task evaluations; a kind not timed yet is priced at the other
   * kind's rate per unit, and null before anything was timed.
   */
  estimate(remainingTrain: number, remainingEval: number): number | null {
    const perTrain = this.trainUnits > 0 ? this.trainSeconds / this.trainUnits : null;
    const perEval = this.evalUnits > 0 ? this.evalSeconds / this.evalUnits : null;
    if (perTrain === null && perEval === null) return null;
    return remainingTrain * (perTrain ?? perEval!) + remainingEval * (perEval ?? perTrain!);
  }
}
