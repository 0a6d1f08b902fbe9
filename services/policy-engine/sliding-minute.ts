/**
 * Counts events over the last 60 seconds, in one-second buckets: the count drops events as
 * they age past a minute instead of resetting on the minute.
 */
export class SlidingMinuteCounter {
  private readonly buckets = new Array<number>(60).fill(0);
  private readonly stamps = new Array<number>(60).fill(-1);

  constructor(private readonly now: () => number = Date.now) {}

  add(count = 1): void {
    const second = Math.floor(this.now() / 1000);
    const slot = second % 60;
    if (this.stamps[slot] !== second) {
      this.stamps[slot] = second;
      this.buckets[slot] = 0;
    }
    this.buckets[slot]! += count;
  }

  /** Events in the 60 seconds up to and including the current one. */
  total(): number {
    const second = Math.floor(this.now() / 1000);
    let sum = 0;
    for (let slot = 0; slot < 60; slot++) {
      const stamp = this.stamps[slot]!;
      if (stamp > second - 60 && stamp <= second) sum += this.buckets[slot]!;
    }
    return sum;
  }
}
