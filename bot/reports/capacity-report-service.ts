/**
 * The capacity report for the bot: its sources taken from the command dependencies (the stack's
 * PostgreSQL and Redis ports, when configured) and the metrics history, its charts rendered and,
 * with a poster, posted (report-posting.ts). createReports (daily-report-service.ts) serves it as
 * the `Reports` port's `capacity`, which `report capacity` and the monthly job run.
 */
import type { CommandDependencies } from '../../commands/dependencies.js';
import type { ResultDocument } from '../../commands/result.js';
import type { MetricsHistory } from '../metrics-history/index.js';
import { renderCapacityReportCharts } from './capacity-report-charts.js';
import { capacityReportDocument } from './capacity-report-document.js';
import { gatherCapacityReport, type CapacityReportSources } from './capacity-report.js';
import { postReport, type PostedReport, type ReportPoster } from './report-posting.js';

export function capacityReportSources(services: Pick<CommandDependencies, 'database' | 'redis'>, history: Pick<MetricsHistory, 'query' | 'source'>): CapacityReportSources {
  return {
    history,
    async connections() {
      if (!services.database) return undefined;
      const { connections } = await services.database.statistics();
      return { location: services.database.location, active: Number(connections.active), total: Number(connections.total), max: Number(connections.max_connections), sizeBytes: Number(connections.size_bytes) };
    },
    async redisMemory() {
      if (!services.redis) return undefined;
      // Connects the lazy client, or says why it cannot (as `redis memory` does first).
      await services.redis.serverVersion();
      const memory = await services.redis.memory();
      return { location: services.redis.location, usedBytes: memory.used_memory, maxBytes: memory.maxmemory };
    },
  };
}

/** Gathers, renders and (with a poster) posts the capacity report; the document says where it went. */
export async function makeCapacityReport(sources: CapacityReportSources, poster?: ReportPoster, now: Date = new Date()): Promise<{ document: ResultDocument; posted?: PostedReport }> {
  const { report, series } = await gatherCapacityReport(sources, now);
  const charts = await renderCapacityReportCharts(report, series);
  return postReport({ document: capacityReportDocument(report, { charts: charts.map((chart) => chart.filename) }), charts }, poster);
}
