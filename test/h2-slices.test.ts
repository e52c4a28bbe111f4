// A burst of h2 streams on one connection starts a slice per turn of the event loop
// (proxy/wire/h2-slices.ts): the first slice goes upstream while the rest wait, in order.
import { describe, expect, it } from 'vitest';
import { STREAMS_PER_TURN, StreamSlices } from '../proxy/wire/h2-slices.js';

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('StreamSlices', () => {
  it('starts one slice of a burst at once and the rest a slice per turn, in arrival order', async () => {
    const slices = new StreamSlices();
    const started: number[] = [];
    const burst = STREAMS_PER_TURN * 2 + 5;
    const done = Array.from({ length: burst }, (_, i) => slices.run(async () => void started.push(i), () => true));
    expect(started).toEqual(Array.from({ length: STREAMS_PER_TURN }, (_, i) => i));
    expect(slices.pending).toBe(burst - STREAMS_PER_TURN);
    await nextTurn();
    expect(started).toHaveLength(STREAMS_PER_TURN * 2);
    await nextTurn();
    expect(started).toEqual(Array.from({ length: burst }, (_, i) => i));
    expect(slices.pending).toBe(0);
    await Promise.all(done);
  });

  it('starts a whole slice again in a later turn once the burst is through', async () => {
    const slices = new StreamSlices(4);
    let started = 0;
    for (let i = 0; i < 4; i++) void slices.run(async () => void started++, () => true);
    expect(started).toBe(4);
    void slices.run(async () => void started++, () => true);
    expect(started).toBe(4); // the fifth waits for the next turn
    await nextTurn();
    expect(started).toBe(5);
    await nextTurn();
    await nextTurn();
    for (let i = 0; i < 4; i++) void slices.run(async () => void started++, () => true);
    expect(started).toBe(9);
  });

  it('does not start a stream that was reset while it waited, and settles its promise', async () => {
    const slices = new StreamSlices(1);
    const started: string[] = [];
    const first = slices.run(async () => void started.push('first'), () => true);
    const reset = slices.run(async () => void started.push('reset'), () => false);
    const third = slices.run(async () => void started.push('third'), () => true);
    await Promise.all([first, reset, third]);
    expect(started).toEqual(['first', 'third']);
  });

  it('hands a waiting stream failure to its caller', async () => {
    const slices = new StreamSlices(1);
    void slices.run(async () => undefined, () => true);
    await expect(slices.run(() => Promise.reject(new Error('scanner failed')), () => true)).rejects.toThrow('scanner failed');
  });

  it('keeps connections apart: one connection\'s burst does not delay another\'s first streams', () => {
    const a = new StreamSlices(2);
    const b = new StreamSlices(2);
    const started: string[] = [];
    for (let i = 0; i < 5; i++) void a.run(async () => void started.push(`a${i}`), () => true);
    void b.run(async () => void started.push('b0'), () => true);
    expect(started).toEqual(['a0', 'a1', 'b0']);
    expect(a.pending).toBe(3);
  });
});
