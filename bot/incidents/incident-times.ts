/**
 * How long incidents took, as medians over a period: one long outage would drag a mean far from
 * what a typical incident took. Detection time: from the problem being noticed to the incident
 * being declared. Resolution time: from the problem being noticed to its resolution.
 */
export interface TimedIncident {
  detectedAt: Date;
  declaredAt: Date;
  resolvedAt: Date | undefined;
}

export interface IncidentTimes {
  /** Incidents declared in the period. */
  declared: number;
  /** Of those, the resolved ones (the resolution median's count). */
  resolved: number;
  /** Undefined when no incident was declared in the period. */
  medianDetectionMs: number | undefined;
  /** Undefined when none of them is resolved yet. */
  medianResolutionMs: number | undefined;
}

/** The middle value; the mean of the two middle ones for an even count. */
export function median(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Over the incidents declared from `from` (inclusive) to `to` (exclusive). */
export function incidentTimes(incidents: readonly TimedIncident[], period: { from: Date; to: Date }): IncidentTimes {
  if (period.from > period.to) throw new RangeError('the period ends before it starts');
  const inPeriod = incidents.filter((incident) => incident.declaredAt >= period.from && incident.declaredAt < period.to);
  const resolved = inPeriod.filter((incident) => incident.resolvedAt !== undefined);
  return {
    declared: inPeriod.length,
    resolved: resolved.length,
    medianDetectionMs: median(inPeriod.map((incident) => incident.declaredAt.getTime() - incident.detectedAt.getTime())),
    medianResolutionMs: median(resolved.map((incident) => incident.resolvedAt!.getTime() - incident.detectedAt.getTime())),
  };
}
