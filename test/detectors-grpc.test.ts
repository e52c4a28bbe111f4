// gRPC message framing as the scanner reads it: length-prefixed messages split anywhere
// across chunks come out whole, gzip-compressed ones are decompressed (bounded), and a
// credential inside a message's bytes is found, whatever the framing does to it.
import { gzipSync, deflateSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { tokenChecksum } from '../detectors/checksum.js';
import { createGrpcScanner, frameGrpcMessage, GrpcMessageReader, isGrpcContentType, parseGrpcBody, scanGrpcContent } from '../detectors/grpc.js';
import { Engine, type RuleSpec } from '../detectors/index.js';
import { ALPHA_NUM, createRng } from './corpus/rng.js';

const rng = createRng(1515);
const ex = { positive: [], negative: [] };
const rules: RuleSpec[] = [
  { id: 'github-pat', title: 'GitHub token', severity: 'high', regex: '\\bgh[pousr]_[A-Za-z0-9]{36}\\b', keywords: ['ghp_'], validator: 'github-crc32', examples: ex },
];
const engine = new Engine({ rules, fingerprintKey: Buffer.alloc(32, 7) });

function ghToken(): string {
  const body = rng.chars(ALPHA_NUM, 30);
  return `ghp_${body}${tokenChecksum(body)}`;
}

/** A protobuf-ish message: field 1 (string) holding `text`. */
function protoString(text: string): Buffer {
  const bytes = Buffer.from(text);
  return Buffer.concat([Buffer.from([0x0a, bytes.length]), bytes]);
}

describe('gRPC framing', () => {
  test('messages split across chunks at any point come out whole and in order', () => {
    const payloads = [Buffer.from('first'), Buffer.alloc(0), Buffer.from('x'.repeat(300)), Buffer.from('last')];
    const body = Buffer.concat(payloads.map((p) => frameGrpcMessage(p)));
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: body.length }), { maxLength: 8 }), (cuts) => {
        const reader = new GrpcMessageReader(undefined);
        const out: Buffer[] = [];
        let at = 0;
        for (const c of [...cuts].sort((a, b) => a - b)) {
          for (const m of reader.push(body.subarray(at, c))) out.push(m.payload);
          at = c;
        }
        for (const m of reader.push(body.subarray(at))) out.push(m.payload);
        expect(reader.end()).toBeUndefined();
        expect(out.map((b) => b.toString())).toEqual(payloads.map((b) => b.toString()));
      }),
    );
  });

  test('gzip messages are decompressed when grpc-encoding is gzip', () => {
    const body = Buffer.concat([frameGrpcMessage(gzipSync(Buffer.from('packed')), true), frameGrpcMessage(Buffer.from('plain'))]);
    const { messages, error } = parseGrpcBody(body, 'gzip');
    expect(error).toBeUndefined();
    expect(messages.map((m) => [m.payload.toString(), m.compressed])).toEqual([
      ['packed', true],
      ['plain', false],
    ]);
  });

  test('a decompression bomb stops at the message limit with an error, not an allocation', () => {
    const bomb = gzipSync(Buffer.alloc(8 * 1024 * 1024));
    const { messages, error } = parseGrpcBody(frameGrpcMessage(bomb, true), 'gzip', { maxMessageBytes: 64 * 1024 });
    expect(messages).toEqual([]);
    expect(error?.code).toBe('message-too-large');
  });

  test('a framed length over the limit, a bad flag, an unknown encoding and a cut body are errors', () => {
    const big = Buffer.alloc(5);
    big.writeUInt32BE(100 * 1024 * 1024, 1);
    expect(parseGrpcBody(big, undefined).error?.code).toBe('message-too-large');
    expect(parseGrpcBody(Buffer.from([7, 0, 0, 0, 0]), undefined).error?.code).toBe('bad-frame');
    expect(parseGrpcBody(frameGrpcMessage(deflateSync(Buffer.from('x')), true), 'deflate').error?.code).toBe('unknown-encoding');
    expect(parseGrpcBody(frameGrpcMessage(Buffer.from('not gzip'), true), 'gzip').error?.code).toBe('undecodable-encoding');
    expect(parseGrpcBody(frameGrpcMessage(Buffer.from('cut short')).subarray(0, 8), undefined).error?.code).toBe('truncated');
  });

  test('content types: application/grpc and its +proto/+json forms, not grpc-web', () => {
    expect(isGrpcContentType('application/grpc')).toBe(true);
    expect(isGrpcContentType('application/grpc+proto')).toBe(true);
    expect(isGrpcContentType('Application/GRPC; charset=utf-8')).toBe(true);
    expect(isGrpcContentType('application/grpc-web')).toBe(false);
    expect(isGrpcContentType(undefined)).toBe(false);
  });
});

describe('gRPC scanning', () => {
  test('a token in a gzip-compressed message is found (its compressed bytes hide it from a raw scan)', async () => {
    const token = ghToken();
    const body = frameGrpcMessage(gzipSync(protoString(`token=${token}`)), true);
    expect(engine.scan(body)).toEqual([]);
    const result = await scanGrpcContent(engine, body, 'gzip');
    expect(result.errors).toEqual([]);
    expect(result.findings.map((f) => f.ruleId)).toEqual(['github-pat']);
    expect(JSON.stringify(result)).not.toContain(token);
  });

  test('a token split across two messages (and across chunks) is found once', async () => {
    const token = ghToken();
    const body = Buffer.concat([frameGrpcMessage(Buffer.from(`a ${token.slice(0, 20)}`)), frameGrpcMessage(Buffer.from(`${token.slice(20)} b`))]);
    const found: string[] = [];
    const scanner = createGrpcScanner(engine, undefined, { onFinding: (f) => found.push(f.ruleId) });
    for (let i = 0; i < body.length; i += 7) scanner.write(body.subarray(i, i + 7));
    const result = await scanner.end();
    expect(result.findings.map((f) => f.ruleId)).toEqual(['github-pat']);
    expect(found).toEqual(['github-pat']);
  });

  test('a body whose framing breaks is still scanned as it is, and says so', async () => {
    const token = ghToken();
    const body = Buffer.concat([Buffer.from([9, 0, 0, 0, 1]), Buffer.from(` ${token} `)]);
    const result = await scanGrpcContent(engine, body, undefined);
    expect(result.findings.map((f) => f.ruleId)).toEqual(['github-pat']);
    expect(result.errors.map((e) => e.code)).toEqual(['undecodable-encoding']);
  });
});
