import type { ChartPoint } from '../chart-model.js';

export const DAY_START = Date.parse('2026-12-06T00:00:00Z');

/** A day of minute samples (1,440 points), as the metrics history answers a 24 h range. */
export function minutesOfDay(value: (minute: number) => number): ChartPoint[] {
  return Array.from({ length: 1440 }, (_, minute) => ({ time: new Date(DAY_START + minute * 60_000), value: value(minute) }));
}

/** Reads width and height from a PNG's IHDR chunk, which always comes first. */
export function pngSize(png: Buffer): { width: number; height: number } {
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

export const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
