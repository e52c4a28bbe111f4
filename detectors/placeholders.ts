// Values that are never findings, whatever rule matched them: templates
// (`${{ secrets.X }}`, `${VAR}`, `{{ var }}`), masked output (`***`, `[MASKED]`),
// stand-ins (`<your-key>`, `changeme`, `xxxx`) and published documentation examples.
// Works on the decoded secret (short strings), never on the whole input.

/** Published example credentials (AWS docs and others) that appear in countless READMEs. */
const DOCUMENTATION_EXAMPLES = new Set([
  'AKIAIOSFODNN7EXAMPLE',
  'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
  'je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY',
  'AKIAI44QH8DHBEXAMPLE',
  'ASIAIOSFODNN7EXAMPLE',
  // The Azurite / Azure Storage Emulator account key of `devstoreaccount1`, published by Microsoft.
  'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==',
  // Google's published example API key: the Google Charts `mapsApiKey` of its loading guide
  // (developers.google.com/chart/interactive/docs/basic_load_libs), copied into countless pages.
  'AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY',
  // The Azure Cosmos DB emulator's key, published by Microsoft.
  'C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw==',
]);

/** Whole values (compared lowercased) that are words, not secrets. */
const PLACEHOLDER_WORDS = new Set([
  'changeme', 'change_me', 'change-me', 'changeit', 'password', 'passwd', 'secret', 'token',
  'apikey', 'api_key', 'placeholder', 'redacted', 'masked', 'hidden', 'none', 'null', 'nil',
  'undefined', 'true', 'false', 'empty', 'todo', 'tbd', 'default', 'test', 'testing',
  'dummy', 'sample', 'example', 'foobar', 'secret123', 'password123', 'letmein',
]);

/** Substrings (lowercase) that mark a stand-in wherever they occur in the value. */
const PLACEHOLDER_SUBSTRINGS = [
  'example', 'xxxx', '****', '•••', '[masked]', '[redacted]', '<redacted>', 'redacted',
  'changeme', 'change_me', 'placeholder', 'your_', 'your-', 'yourkey', 'your_key',
  'insert_', 'replace_me', 'replaceme', 'dummy', '12345678', 'abcdefgh',
];

/** Values longer than this are keys or documents, not tokens: see isPlaceholder. */
const LONG_VALUE = 160;

function isIdentChar(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f;
}

/** `$VAR`, `$(VAR)`, `%VAR%`: a whole value that is a variable reference. */
function isVariableReference(s: string): boolean {
  if (s.length < 2) return false;
  const first = s.charCodeAt(0);
  if (first === 0x24 /* $ */) {
    if (s.charCodeAt(1) === 0x28 /* ( */ && s.endsWith(')')) return true;
    for (let i = 1; i < s.length; i++) if (!isIdentChar(s.charCodeAt(i))) return false;
    return true;
  }
  if (first === 0x25 /* % */ && s.endsWith('%') && s.length > 2) {
    for (let i = 1; i < s.length - 1; i++) if (!isIdentChar(s.charCodeAt(i))) return false;
    return true;
  }
  return false;
}

/** The longest run of one repeated character. */
function longestRun(s: string): number {
  let best = 0;
  let run = 0;
  for (let i = 0; i < s.length; i++) {
    run = i > 0 && s.charCodeAt(i) === s.charCodeAt(i - 1) ? run + 1 : 1;
    if (run > best) best = run;
  }
  return best;
}

/**
 * True when `secret` is a template, a masked value, a stand-in or a documentation
 * example rather than a credential.
 */
export function isPlaceholder(secret: string): boolean {
  if (secret.length === 0) return true;
  if (DOCUMENTATION_EXAMPLES.has(secret)) return true;
  const lower = secret.toLowerCase();
  if (PLACEHOLDER_WORDS.has(lower)) return true;
  // Templates: ${VAR}, ${{ secrets.X }}, {{ var }}, #{var}#, <your-key>.
  if (secret.includes('${') || secret.includes('{{') || secret.includes('}}')) return true;
  if (secret.includes('#{') && secret.includes('}')) return true;
  if (secret.startsWith('<') && secret.endsWith('>')) return true;
  if (isVariableReference(secret)) return true;
  if (secret.includes('***')) return true;
  // Long values (private keys, service-account JSON) legitimately contain runs such as
  // `AAAAAAAA` or `12345678`; only short token-like values are judged by their content.
  if (secret.length > LONG_VALUE) return lower.includes('example');
  for (const s of PLACEHOLDER_SUBSTRINGS) if (lower.includes(s)) return true;
  // One character repeated (`aaaaaaaa`), or a long run of it inside (`AKIA0000000000000000`).
  const run = longestRun(secret);
  if (run === secret.length || run >= 8) return true;
  return false;
}
