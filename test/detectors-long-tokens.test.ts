// Rules for long base64 tokens (AWS session tokens, 1Password service account tokens,
// Fly.io macaroons) take the whole base64 run with `*`
// (bounded counted repeats cost RE2 milliseconds per match) and drop runs over their
// documented maximum with an allowlist regex: the lengths they accept are unchanged.
import { describe, expect, test } from 'vitest';
import { Engine } from '../detectors/index.js';
import { defaultRules } from '../detectors/rules/index.js';
import { BASE64, createRng } from './corpus/rng.js';

const rng = createRng(7);
const only = (id: string): Engine =>
  new Engine({ rules: defaultRules.filter((r) => r.id === id), fingerprintKey: Buffer.alloc(32, 1) });

describe('aws-session-token lengths', () => {
  const e = only('aws-session-token');
  const scan = (n: number): number[] => e.scan(Buffer.from(`AWS_SESSION_TOKEN=${rng.chars(BASE64, n)}\nnext line\n`)).map((f) => f.length);
  test.each([100, 488, 1000, 1001, 1599, 1600])('%i base64 characters are one finding of that length', (n) => {
    expect(scan(n)).toEqual([n]);
  });
  test.each([99, 1601, 1700, 3000])('%i base64 characters are no finding', (n) => {
    expect(scan(n)).toEqual([]);
  });
});

describe('aws-session-token-prefixed lengths', () => {
  const e = only('aws-session-token-prefixed');
  const scan = (n: number): number[] =>
    e.scan(Buffer.from(`token: IQoJb3JpZ2luX2Vj${rng.chars(BASE64, n)}==\n`)).map((f) => f.length);
  test.each([200, 1000, 1600])('prefix + %i base64 characters + padding is one finding', (n) => {
    expect(scan(n)).toEqual([16 + n + 2]);
  });
  test.each([199, 1601, 2500])('prefix + %i base64 characters is no finding', (n) => {
    expect(scan(n)).toEqual([]);
  });
});

describe('onepassword-service-account-token lengths', () => {
  const e = only('onepassword-service-account-token');
  const scan = (n: number, pad = ''): number[] =>
    e.scan(Buffer.from(`OP_SERVICE_ACCOUNT_TOKEN=ops_eyJ${rng.chars(BASE64, n)}${pad}\nnext line\n`)).map((f) => f.length);
  test.each([200, 1000, 1001, 1999, 2000])('ops_eyJ + %i base64 characters is one finding of that length', (n) => {
    expect(scan(n)).toEqual([7 + n]);
  });
  test('padding is part of the token', () => {
    expect(scan(600, '==')).toEqual([7 + 600 + 2]);
  });
  test.each([199, 2001, 2100, 3000])('ops_eyJ + %i base64 characters is no finding', (n) => {
    expect(scan(n)).toEqual([]);
  });
});

describe('flyio-macaroon lengths', () => {
  const e = only('flyio-macaroon');
  const scan = (prefix: string, n: number): number[] =>
    e.scan(Buffer.from(`FLY_API_TOKEN="FlyV1 ${prefix}${rng.chars(BASE64, n)}=="\n`)).map((f) => f.length);
  test.each([
    ['fm2_', 100],
    ['fm1r_', 1000],
    ['fm1a_', 1001],
    ['fm2_', 2000],
    ['fm2_', 2001],
    ['fm1r_', 2999],
    ['fm2_', 3000],
  ])('%s + %i base64 characters + padding is one finding', (prefix, n) => {
    expect(scan(prefix, n)).toEqual([prefix.length + n + 2]);
  });
  test.each([
    ['fm2_', 99],
    ['fm1a_', 3001],
    ['fm2_', 3100],
    ['fm1r_', 4000],
  ])('%s + %i base64 characters is no finding', (prefix, n) => {
    expect(scan(prefix, n)).toEqual([]);
  });
});
