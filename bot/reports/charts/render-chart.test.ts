import { Resvg } from '@resvg/resvg-js';
import { describe, expect, it } from 'vitest';
import { CHART_FONT_FILE, PNG_SCALE, renderSvg } from './render-png.js';
import { renderChart } from './render-chart.js';
import { cacheHitRateChart, latencyChart, resourceUseChart, violationsPerDayChart } from './report-charts.js';
import { CHART_HEIGHT, CHART_WIDTH, vegaLiteSpec } from './vega-lite-spec.js';
import { DAY_START, minutesOfDay, PNG_SIGNATURE, pngSize } from './testing/chart-data.js';

const latency = latencyChart({ p50: minutesOfDay(() => 1), p95: minutesOfDay(() => 2.5), p99: minutesOfDay((minute) => (minute % 300 < 20 ? 6 : 3.5)) });

describe('renderChart', () => {
  it('renders a PNG of the chart size times the scale, named after the chart', async () => {
    const chart = await renderChart(latency);
    expect(chart.png.subarray(0, 8)).toEqual(PNG_SIGNATURE);
    expect(pngSize(chart.png)).toEqual({ width: CHART_WIDTH * PNG_SCALE, height: CHART_HEIGHT * PNG_SCALE });
    expect({ width: chart.width, height: chart.height }).toEqual(pngSize(chart.png));
    expect(chart.filename).toBe('latency.png');
    // A blank or broken picture is a few kB; a full-colour one at this size tens of kB.
    expect(chart.png.length).toBeGreaterThan(20_000);
    expect(chart.png.length).toBeLessThan(300_000);
    expect(chart.textFallback).toContain('p99: min 3.5, max 6, last 3.5; above p99 target 5 ms in 5 spells');
  });

  it('renders the same bytes for the same data, whatever the machine timezone', async () => {
    const first = await renderChart(latency);
    const previous = process.env.TZ;
    process.env.TZ = 'Pacific/Kiritimati';
    try {
      const second = await renderChart(latency);
      expect(second.png.equals(first.png)).toBe(true);
    } finally {
      if (previous === undefined) delete process.env.TZ;
      else process.env.TZ = previous;
    }
  });

  it('renders every report chart of a day of minute data', async () => {
    const charts = [
      latency,
      cacheHitRateChart(minutesOfDay((minute) => 96 + Math.sin(minute / 100) * 2)),
      violationsPerDayChart(Array.from({ length: 7 }, (_, day) => ({ time: new Date(DAY_START - (6 - day) * 86_400_000), value: day }))),
      resourceUseChart('cpu', { 'policy-engine': minutesOfDay(() => 45), 'audit-engine': minutesOfDay(() => 12) }),
      resourceUseChart('memory', { 'policy-engine': minutesOfDay(() => 60) }),
    ];
    const rendered = await Promise.all(charts.map((chart) => renderChart(chart)));
    expect(rendered.map((chart) => chart.filename)).toEqual(['latency.png', 'cache-hit-rate.png', 'violations-per-day.png', 'cpu-use.png', 'memory-use.png']);
    for (const chart of rendered) expect(pngSize(chart.png)).toEqual({ width: CHART_WIDTH * PNG_SCALE, height: CHART_HEIGHT * PNG_SCALE });
  });

  it('renders a chart without data, and says so in words', async () => {
    const chart = await renderChart(cacheHitRateChart([]));
    expect(chart.png.subarray(0, 8)).toEqual(PNG_SIGNATURE);
    expect(chart.textFallback).toBe('Cache hit rate (%): no data');
  });

  it('refuses a value that is not a finite number', async () => {
    const points = minutesOfDay(() => 1);
    points[3] = { time: points[3]!.time, value: Number.NaN };
    await expect(renderChart(cacheHitRateChart(points))).rejects.toThrow(/series hit rate: every point needs a valid time and a finite value/);
    await expect(renderChart(cacheHitRateChart([{ time: new Date(DAY_START), value: Infinity }]))).rejects.toThrow(/finite value/);
  });

  it('refuses a point without a valid time', async () => {
    await expect(renderChart(cacheHitRateChart([{ time: new Date('not a date'), value: 97 }]))).rejects.toThrow(/valid time/);
  });

  it('refuses a chart id that cannot be a file name', async () => {
    await expect(renderChart({ ...latency, id: '../latency' })).rejects.toThrow(/lowercase letters, digits and dashes/);
    await expect(renderChart({ ...latency, id: '' })).rejects.toThrow(/lowercase letters, digits and dashes/);
  });
});

describe('the chart font', () => {
  it('draws text with the shipped font when no system font is loaded', () => {
    const svg = (family: string) => `<svg xmlns="http://www.w3.org/2000/svg" width="200" height="40"><rect width="200" height="40" fill="white"/><text x="4" y="28" font-family="${family}" font-size="24">p99 5 ms</text></svg>`;
    const inked = (source: string) => {
      const pixels = new Resvg(source, { font: { fontFiles: [CHART_FONT_FILE], loadSystemFonts: false, defaultFontFamily: 'Inter' } }).render().pixels;
      let dark = 0;
      for (let index = 0; index < pixels.length; index += 4) if (pixels[index]! < 128) dark += 1;
      return dark;
    };
    expect(inked(svg('Inter'))).toBeGreaterThan(200);
    // Without any font, resvg leaves text out: the test above would then see no ink.
    const bare = new Resvg(svg('Inter'), { font: { loadSystemFonts: false } }).render().pixels;
    expect(bare.every((value) => value === 255)).toBe(true);
  });

  it('is the family the Vega scene names', async () => {
    const svg = await renderSvg(vegaLiteSpec(latency));
    expect(svg).toContain('font-family="Inter');
    expect(svg).not.toMatch(/font-family="(sans-serif|Helvetica)/);
  });
});
