/** Instant queries against a test's Prometheus over its HTTP API. */
export interface PrometheusSample {
  metric: Record<string, string>;
  value: [number, string];
}

/** Throws what Prometheus said when it refuses the expression, so a bad rule reads as such. */
export async function queryPrometheus(prometheusUrl: string, expression: string): Promise<PrometheusSample[]> {
  const response = await fetch(`${prometheusUrl}/api/v1/query?query=${encodeURIComponent(expression)}`);
  const body = (await response.json()) as { status: string; error?: string; data: { result: PrometheusSample[] } };
  if (body.status !== 'success') throw new Error(`Prometheus refused ${expression}: ${body.error}`);
  return body.data.result;
}

/** How many scrape targets Prometheus last found up. */
export async function targetsUp(prometheusUrl: string): Promise<number> {
  return Number((await queryPrometheus(prometheusUrl, 'sum(up)'))[0]?.value[1] ?? 0);
}
