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
    const out = Buffer.allocUnsafe(chunk.length);
    const len = chunk.length;
    let n = 0;
    let i = 0;
    while (i < len) {
      if (this.state === State.Text) {
        // Text runs to the next ESC: copied whole (its CRs are turned into spaces below).
        const esc = chunk.indexOf(ESC, i);
        const end = esc < 0 ? len : esc;
        if (end > i) n += chunk.copy(out, n, i, end);
        if (esc < 0) break;
        this.state = State.Esc;
        i = esc + 1;
        continue;
      }
      const b = chunk[i] as number;
      /** The byte ends a broken sequence and is read again as text. */
      let again = false;
      switch (this.state) {
        case State.Esc:
          if (b === 0x5b /* [ */) this.state = State.Csi;
          else if (b === 0x5d /* ] */) {
            this.state = State.Osc;
            this.oscLength = 0;
          } else if (b >= 0x20 && b <= 0x2f) this.state = State.EscInter;
          else if (b >= 0x30 && b <= 0x7e) this.state = State.Text; // two-byte escape: dropped
          else {
            // ESC followed by a control or non-ASCII byte: not a sequence; keep the byte.
            this.state = State.Text;
            again = true;
          }
          break;
        case State.Csi:
          if (b >= 0x40 && b <= 0x7e) this.state = State.Text; // final byte
          else if (b < 0x20 || b > 0x7e) {
            // Broken sequence: end it and treat the byte as text.
            this.state = State.Text;
            again = true;
          }
          break;
        case State.Osc:
          if (b === BEL) this.state = State.Text;
          else if (b === ESC) this.state = State.OscEsc;
          else if (++this.oscLength > MAX_OSC || b === 0x0a) {
            this.state = State.Text;
            again = true;
          }
          break;
        case State.EscInter:
          if (b >= 0x30 && b <= 0x7e) this.state = State.Text;
          else if (b < 0x20 || b > 0x7e) {
            this.state = State.Text;
            again = true;
          }
          break;
        case State.OscEsc:
          this.state = State.Text;
          if (b !== 0x5c /* \ */) again = true;
          break;
      }
      if (!again) i++;
    }
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
