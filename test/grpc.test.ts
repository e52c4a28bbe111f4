// gRPC through TLS interception, with @grpc/grpc-js on both ends (loopback): the client
// goes through Chokepoint as its HTTPS proxy (grpc_proxy), trusting Chokepoint's CA; the
// server trusts nothing of ours. Unary and server-streaming calls work with their
// messages, status and trailing metadata intact, each call one egress line; a credential
// in a message (also a gzip-compressed one) is found, and blocked before the server sees it.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { generators } from './corpus/gen/github.js';
import { createRng } from './corpus/rng.js';
import { createTestCa } from './helpers/certs.js';
import { writeCa } from './helpers/clients.js';
import { fakeResolver, startTestProxy, type TestProxy } from './helpers/proxy.js';

const rng = createRng(2015);
const githubToken = (): string => {
  const make = generators['github-pat-classic'];
  if (!make) throw new Error('no generator for github-pat-classic');
  return make(rng);
};

const id = (b: Buffer): Buffer => b;
/** A service without protobuf: messages are raw bytes (Buffer serializers). */
const service: grpc.ServiceDefinition = {
  echo: { path: '/chokepoint.test.Echo/Echo', requestStream: false, responseStream: false, requestSerialize: id, requestDeserialize: id, responseSerialize: id, responseDeserialize: id, originalName: 'echo' },
  repeat: { path: '/chokepoint.test.Echo/Repeat', requestStream: false, responseStream: true, requestSerialize: id, requestDeserialize: id, responseSerialize: id, responseDeserialize: id, originalName: 'repeat' },
};
const EchoClient = grpc.makeGenericClientConstructor(service, 'Echo');

type Unary = (req: Buffer, md: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: Buffer) => void) => grpc.ClientUnaryCall;
type Streaming = (req: Buffer, md?: grpc.Metadata) => grpc.ClientReadableStream<Buffer>;

let server: grpc.Server;
let port: number;
let proxy: TestProxy;
let proxyCaPem: string;
/** Every message the gRPC server received. */
const received: string[] = [];

beforeAll(async () => {
  const upstreamCa = createTestCa('gRPC Upstream CA');
  const leaf = upstreamCa.issue(['grpc.test', 'paste.test']);
  server = new grpc.Server();
  server.addService(service, {
    echo: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
      received.push(call.request.toString());
      const trailer = new grpc.Metadata();
      trailer.set('x-served-by', 'origin');
      cb(null, Buffer.concat([Buffer.from('echo:'), call.request]), trailer);
    },
    repeat: (call: grpc.ServerWritableStream<Buffer, Buffer>) => {
      received.push(call.request.toString());
      for (let i = 0; i < 5; i++) call.write(Buffer.from(`${call.request.toString()}#${i}`));
      const trailer = new grpc.Metadata();
      trailer.set('x-count', '5');
      call.end(trailer);
    },
  });
  port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createSsl(null, [{ cert_chain: Buffer.from(leaf.certPem), private_key: Buffer.from(leaf.keyPem) }]), (err, p) => (err ? reject(err) : resolve(p))),
  );
  const dir = mkdtempSync(join(tmpdir(), 'chokepoint-grpc-'));
  const upstreamCaFile = writeCa(dir, upstreamCa.certPem);
  proxy = await startTestProxy(
    `
tls:
  intercept: none
  upstreamCAs: [${upstreamCaFile}]
pools:
  - name: ci
    token: ci-token-0123456789abcdef
    mode: enforce
    allow: ["grpc.test:${port}", "paste.test:${port}", "127.0.0.1/32:*"]
    tls:
      intercept: all
    secrets:
      action: block
`,
    { resolve: fakeResolver({ 'grpc.test': ['127.0.0.1'], 'paste.test': ['127.0.0.1'] }) },
  );
  proxyCaPem = readFileSync(join(proxy.dir, 'state', 'ca.pem'), 'utf8');
  // grpc-js takes its proxy from the environment, credentials in the URL (Proxy-Authorization: Basic).
  process.env.grpc_proxy = `http://ci:ci-token-0123456789abcdef@127.0.0.1:${proxy.port}`;
  delete process.env.no_grpc_proxy;
  delete process.env.no_proxy;
  delete process.env.NO_PROXY;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server?.tryShutdown(() => resolve()));
  await proxy?.close();
});

function client(host: string, options: grpc.ChannelOptions = {}): grpc.Client & { echo: Unary; repeat: Streaming } {
  return new EchoClient(`${host}:${port}`, grpc.credentials.createSsl(Buffer.from(proxyCaPem)), options) as unknown as grpc.Client & { echo: Unary; repeat: Streaming };
}

function unary(c: ReturnType<typeof client>, msg: Buffer): Promise<{ err: grpc.ServiceError | null; res?: Buffer; trailers?: grpc.Metadata }> {
  return new Promise((resolve) => {
    let trailers: grpc.Metadata | undefined;
    const call = c.echo(msg, new grpc.Metadata(), { deadline: Date.now() + 10_000 }, (err, res) => {
      // The status (with its trailing metadata) comes after the callback on some versions: wait for it.
      setImmediate(() => resolve({ err, ...(res ? { res } : {}), ...(trailers ? { trailers } : {}) }));
    });
    call.on('status', (s: grpc.StatusObject) => (trailers = s.metadata));
  });
}

describe('gRPC through interception', () => {
  test('a unary call works end to end: message, status OK and trailing metadata intact; one egress line', async () => {
    const c = client('grpc.test');
    try {
      const r = await unary(c, Buffer.from('hello'));
      expect(r.err).toBeNull();
      expect(r.res?.toString()).toBe('echo:hello');
      expect(r.trailers?.get('x-served-by')).toEqual(['origin']);
      const line = await proxy.waitForLine((l) => l.path === '/chokepoint.test.Echo/Echo');
      expect(line).toMatchObject({ kind: 'intercept', httpVersion: '2', method: 'POST', host: 'grpc.test', status: 200, decision: 'allow', findings: 0 });
    } finally {
      c.close();
    }
  });

  test('a server-streaming call gets every message in order, then its status and trailers', async () => {
    const c = client('grpc.test');
    try {
      const call = c.repeat(Buffer.from('tick'));
      const messages: string[] = [];
      call.on('data', (m: Buffer) => messages.push(m.toString()));
      const status = await new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
      expect(status.code).toBe(grpc.status.OK);
      expect(status.metadata.get('x-count')).toEqual(['5']);
      expect(messages).toEqual(['tick#0', 'tick#1', 'tick#2', 'tick#3', 'tick#4']);
    } finally {
      c.close();
    }
  });

  test('a credential in a message to a host it does not belong to is blocked: PERMISSION_DENIED, the server never sees it', async () => {
    const c = client('paste.test');
    const token = githubToken();
    try {
      const r = await unary(c, Buffer.from(`\n\x28${token}`));
      expect(r.err?.code).toBe(grpc.status.PERMISSION_DENIED);
      expect(received.join('\n')).not.toContain(token);
      const line = await proxy.waitForLine((l) => l.host === 'paste.test' && l.reason === 'secret-exfiltration');
      expect(line).toMatchObject({ decision: 'deny', status: 403, findings: 1, httpVersion: '2' });
      // The channel (the same h2 connection) still works for clean calls.
      const ok = await unary(c, Buffer.from('clean'));
      expect(ok.err).toBeNull();
    } finally {
      c.close();
    }
  });

  test('a credential in a gzip-compressed message is found too (grpc-encoding: gzip)', async () => {
    const c = client('paste.test', { 'grpc.default_compression_algorithm': 2 });
    const token = githubToken();
    try {
      const r = await unary(c, Buffer.from(`payload ${token} end ${'x'.repeat(2000)}`));
      expect(r.err?.code).toBe(grpc.status.PERMISSION_DENIED);
      expect(received.join('\n')).not.toContain(token);
      const finding = proxy.lines().find((l) => l.msg === 'finding' && l.host === 'paste.test' && l.rule === 'github-pat-classic' && l.source === 'body');
      expect(finding).toBeDefined();
      expect(proxy.rawLog()).not.toContain(token);
      // A clean compressed message is forwarded as it was sent, and the server decodes it.
      const ok = await unary(c, Buffer.from('zipped and clean'));
      expect(ok.err).toBeNull();
      expect(ok.res?.toString()).toBe('echo:zipped and clean');
    } finally {
      c.close();
    }
  });

  test('a credential in a streaming call request is blocked before the server sees it', async () => {
    const c = client('paste.test');
    const token = githubToken();
    try {
      const call = c.repeat(Buffer.from(`stream ${token}`));
      call.on('data', () => undefined);
      const err = await new Promise<grpc.ServiceError>((resolve) => call.on('error', resolve));
      expect(err.code).toBe(grpc.status.PERMISSION_DENIED);
      expect(received.join('\n')).not.toContain(token);
    } finally {
      c.close();
    }
  });
});
