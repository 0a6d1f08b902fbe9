import type { AlertIntake, AlertIntakeResult, ReportedAlert } from '../intake.js';

/**
 * An AlertIntake that keeps what it was handed, for tests of the sources (the webhook) where the
 * PostgreSQL store is not what is under test. It de-duplicates nothing.
 */
export class RecordingIntake implements AlertIntake {
  reports: ReportedAlert[][] = [];
  /** When set, report() throws it: a store that is down. */
  failWith: Error | undefined;
  /** While set, report() waits for it: a test sees that no answer comes before the store resolves. */
  gate: Promise<void> | undefined;

  async report(alerts: readonly ReportedAlert[]): Promise<AlertIntakeResult> {
    if (this.gate) await this.gate;
    if (this.failWith) throw this.failWith;
    this.reports.push([...alerts]);
    return { stored: alerts.length, duplicates: 0 };
  }

  /** Every alert reported so far, in order. */
  alerts(): ReportedAlert[] {
    return this.reports.flat();
  }
}
