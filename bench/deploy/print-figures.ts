/**
 * The bench's report: per procedure its totals, then per service the longest time without a
 * 200 (the bench's own polls) beside Stack.deploy's own figure and the service's start time.
 */
import type { ProcedureFigures } from './procedures.js';
import { ROLLOUT_ORDER } from './procedures.js';

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const millis = (ms: number | undefined) => (ms === undefined ? 'n/a' : `${Math.round(ms).toLocaleString('en-US')} ms`);

export function printFigures(figures: readonly ProcedureFigures[]): void {
  const columns = [22, 16, 18, 14, 13, 12];
  const row = (cells: string[]) => cells.map((cell, index) => (index === 0 ? cell.padEnd(columns[0]!) : cell.padStart(columns[index]!))).join('');
  for (const procedure of figures) {
    console.log('');
    console.log(
      `${procedure.name} (health check every ${procedure.healthInterval ?? '15s'}): returned after ${seconds(procedure.returnedMs)}, every service serving the new release after ${seconds(procedure.servingMs)}, ` +
        `healthy in the engine's eyes after ${seconds(procedure.engineHealthyMs)}`,
    );
    console.log(row(['service', 'no 200 (bench)', 'DeployReport gap', 'strategy', 'deploy took', 'start']));
    for (const service of ROLLOUT_ORDER) {
      const figure = procedure.services[service];
      const gap = `${millis(figure.outage.longestMs)}${figure.outage.endedDown ? '+' : ''}`;
      console.log(
        row([
          service,
          gap,
          figure.report ? millis(figure.report.unavailableMs) : '',
          figure.report?.strategy ?? '',
          figure.report ? seconds(figure.report.durationMs) : '',
          millis(figure.startMs),
        ]),
      );
    }
  }
  console.log('');
  console.log('no 200 (bench): longest time from the last 200 of /health to the next one, polled every 50 ms (+: still failing at the end).');
  console.log('start: from the new container\'s start to its first 200. Goal: no gap for a service that can run twice (side-by-side),');
  console.log('at most its start time for one that cannot (handover).');
}
