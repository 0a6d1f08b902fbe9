import { describe, expect, it } from 'vitest';
import { SlidingMinuteCounter } from './sliding-minute.js';

describe('sliding minute counter', () => {
  it('counts events of the last sixty seconds and forgets older ones one second at a time', () => {
    let now = 1_000_000;
    const counter = new SlidingMinuteCounter(() => now);
    counter.add(3);
    now += 30_000;
    counter.add(2);
    expect(counter.total()).toBe(5);
    now += 29_999;
    expect(counter.total()).toBe(5);
    now += 1_000; // the first three are now sixty seconds old
    expect(counter.total()).toBe(2);
    now += 30_000;
    expect(counter.total()).toBe(0);
  });

  it('does not mix an old bucket into the same slot a minute later', () => {
    let now = 0;
    const counter = new SlidingMinuteCounter(() => now);
    counter.add(7);
    now = 60_000; // same slot, next minute
    counter.add(1);
    expect(counter.total()).toBe(1);
  });
});
