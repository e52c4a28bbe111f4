// A burst of HTTP/2 streams on one connection, started a slice per turn of the event
// loop. Node writes a session's frames once a turn (an immediate after the reads), so when
// a client sends 64 requests in one read and all 64 are scanned and submitted upstream in
// that turn, the origin receives the first only after the proxy has read the last: the
// proxy, the origin and the client then take turns, and each waits for the others. Started
// STREAMS_PER_TURN at a time, the first slice is on its way upstream while the next is
// read, and one client's burst does not hold the loop from every other connection.
// bench/intercept-h2.ts measures it (docs/benchmarks.md, "Interception keep-alive").

/**
 * Streams one connection starts in one turn. Measured on 1 connection × 64 streams
 * (bench/intercept-h2.ts, 2 cores): 16 and 32 read alike, 8 is slower than not slicing.
 */
export const STREAMS_PER_TURN = 16;

/** The turn of the event loop: moved on by one immediate per turn that asked for it. */
let turn = 0;
let turnEnding = false;
function currentTurn(): number {
  if (!turnEnding) {
    turnEnding = true;
    setImmediate(() => {
      turn++;
      turnEnding = false;
    });
  }
  return turn;
}

/** One connection's stream starts: up to `perTurn` a turn, the rest in order in later turns. */
export class StreamSlices {
  private turn = -1;
  private started = 0;
  private readonly waiting: Array<() => void> = [];
  private draining = false;

  constructor(private readonly perTurn = STREAMS_PER_TURN) {}

  /** Streams waiting for a later turn. */
  get pending(): number {
    return this.waiting.length;
  }

  /**
   * Start a stream now, or in a later turn when this one has started its slice. `alive` is
   * asked when a waiting stream's turn comes: a stream reset while it waited is not started.
   */
  run(start: () => Promise<void>, alive: () => boolean): Promise<void> {
    const now = currentTurn();
    if (now !== this.turn) {
      this.turn = now;
      this.started = 0;
    }
    if (this.waiting.length === 0 && this.started < this.perTurn) {
      this.started++;
      return start();
    }
    return new Promise<void>((resolve, reject) => {
      this.waiting.push(() => {
        if (!alive()) return resolve();
        start().then(resolve, reject);
      });
      this.drainLater();
    });
  }

  private drainLater(): void {
    if (this.draining) return;
    this.draining = true;
    setImmediate(() => {
      this.draining = false;
      this.turn = currentTurn();
      const slice = this.waiting.splice(0, this.perTurn);
      this.started = slice.length;
      for (const go of slice) go();
      if (this.waiting.length > 0) this.drainLater();
    });
  }
}
