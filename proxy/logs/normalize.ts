// Terminal output normalisation for log scanning. Pure and streaming: chunks of any size
// in, bytes out, state carried across chunk boundaries.
//
// - ANSI escape sequences are removed: CSI (`ESC [ params intermediates final`), OSC
//   (`ESC ] ... BEL` or `ESC ] ... ESC \`), and two-byte escapes (`ESC X`). A colour code
//   inside a token (`ghp_AB ESC[31m CD...`) no longer breaks the match.
// - Every carriage return becomes a space. Progress lines (`10%\r20%\r`) stay on the one
//   line they occupy in the job log, so `\n` is the only line break and the scanner's line
//   numbers are the job log's own; the overwritten text is scanned too (it was written).
//
// Sequences start and end on ASCII bytes (a non-ASCII byte ends a CSI), so removing them
// never cuts a UTF-8 sequence of the text in two.

const ESC = 0x1b;
const CR = 0x0d;
const BEL = 0x07;
const SPACE = 0x20;
/** An OSC longer than this is not a terminal title: stop hiding it. */
const MAX_OSC = 4096;
/** Text runs up to this long are moved a byte at a time (a call to copyWithin costs more). */
const SHORT_RUN = 16;

const State = {
  Text: 0,
  /** After ESC. */
  Esc: 1,
  /** Inside CSI parameters/intermediates. */
  Csi: 2,
  /** Inside OSC text. */
  Osc: 3,
  /** In OSC, after ESC (expecting a backslash). */
  OscEsc: 4,
  /** After ESC and intermediate bytes (`ESC ( B`: character set designation). */
  EscInter: 5,
} as const;
type State = (typeof State)[keyof typeof State];

export class AnsiNormalizer {
  private state: State = State.Text;
  private oscLength = 0;

  /** Normalise the next chunk. Returns the input itself when it has nothing to change. */
  write(chunk: Buffer): Buffer {
    if (this.state === State.Text && chunk.indexOf(ESC) < 0) {
      if (chunk.indexOf(CR) < 0) return chunk;
      const out = Buffer.from(chunk);
      for (let i = out.indexOf(CR); i >= 0; i = out.indexOf(CR, i + 1)) out[i] = SPACE;
      return out;
    }
    const len = chunk.length;
    // The chunk is copied whole (one native copy), then the text after each removed
    // sequence is moved down over it in place. State in locals while the chunk is read
    // (written back at the end): CI logs have an escape every few dozen bytes, so this
    // loop is the normaliser's whole cost.
    const out = Buffer.allocUnsafe(len);
    chunk.copy(out, 0, 0, len);
    let state: State = this.state;
    let oscLength = this.oscLength;
    let n = 0;
    let i = 0;
    while (i < len) {
      if (state === State.Text) {
        // Text runs to the next ESC; it moves only once something before it was removed.
        const esc = chunk.indexOf(ESC, i);
        const end = esc < 0 ? len : esc;
        if (n !== i) {
          if (end - i > SHORT_RUN) out.copyWithin(n, i, end);
          else for (let k = i; k < end; k++) out[n + k - i] = chunk[k] as number;
        }
        n += end - i;
        if (esc < 0) break;
        i = esc;
        // chunk[i] is ESC. The common sequence, a whole CSI (`ESC [ params final`), is
        // skipped here; anything else goes through the state machine below.
        let k = i + 1;
        if (k < len && chunk[k] === 0x5b /* [ */) {
          k++;
          let c = 0;
          while (k < len && (c = chunk[k] as number) >= 0x20 && c <= 0x3f) k++;
          if (k < len && c >= 0x40 && c <= 0x7e) {
            i = k + 1;
            continue;
          }
        }
        state = State.Esc;
        i++;
        continue;
      }
      const b = chunk[i] as number;
      /** The byte ends a broken sequence and is read again as text. */
      let again = false;
      switch (state) {
        case State.Esc:
          if (b === 0x5b /* [ */) state = State.Csi;
          else if (b === 0x5d /* ] */) {
            state = State.Osc;
            oscLength = 0;
          } else if (b >= 0x20 && b <= 0x2f) state = State.EscInter;
          else if (b >= 0x30 && b <= 0x7e) state = State.Text; // two-byte escape: dropped
          else {
            // ESC followed by a control or non-ASCII byte: not a sequence; keep the byte.
            state = State.Text;
            again = true;
          }
          break;
        case State.Csi:
          if (b >= 0x40 && b <= 0x7e) state = State.Text; // final byte
          else if (b < 0x20 || b > 0x7e) {
            // Broken sequence: end it and treat the byte as text.
            state = State.Text;
            again = true;
          }
          break;
        case State.Osc:
          if (b === BEL) state = State.Text;
          else if (b === ESC) state = State.OscEsc;
          else if (++oscLength > MAX_OSC || b === 0x0a) {
            state = State.Text;
            again = true;
          }
          break;
        case State.EscInter:
          if (b >= 0x30 && b <= 0x7e) state = State.Text;
          else if (b < 0x20 || b > 0x7e) {
            state = State.Text;
            again = true;
          }
          break;
        case State.OscEsc:
          state = State.Text;
          if (b !== 0x5c /* \ */) again = true;
          break;
      }
      if (!again) i++;
    }
    this.state = state;
    this.oscLength = oscLength;
    // Only text was copied (sequence bytes never are), so every CR left is the text's.
    const kept = out.subarray(0, n);
    for (let k = kept.indexOf(CR); k >= 0; k = kept.indexOf(CR, k + 1)) kept[k] = SPACE;
    return kept;
  }
}

/** Normalise a whole input (tests, one-shot callers). */
export function normalizeAnsi(input: Buffer | string): Buffer {
  return new AnsiNormalizer().write(typeof input === 'string' ? Buffer.from(input) : input);
}
