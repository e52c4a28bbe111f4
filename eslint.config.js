// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', '.chokepoint/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'off',
    },
  },
  {
    // Decisions and detection take values and return values: no sockets, no DNS, and
    // nothing of the I/O room (DESIGN: "Keep decisions pure and I/O at the edges").
    files: ['proxy/decide/**/*.ts', 'detectors/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: ['net', 'http', 'https', 'tls', 'dns', 'dgram', 'http2'].flatMap((m) => [
            { name: `node:${m}`, message: 'decide/ and detectors/ are pure: sockets and DNS belong in proxy/wire/.' },
            { name: m, message: 'decide/ and detectors/ are pure: sockets and DNS belong in proxy/wire/.' },
          ]),
          patterns: [{ group: ['**/wire/*', '**/wire/**'], message: 'decide/ and detectors/ must not import proxy/wire/.' }],
        },
      ],
    },
  },
);
