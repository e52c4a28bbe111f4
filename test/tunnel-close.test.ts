// How a CONNECT tunnel ended, as its access log line says: `closed` when both sides closed
// cleanly, `client-closed` / `upstream-closed` when one side left and the proxy closed the
// other, `upstream-reset` only for a real RST from the destination. Loopback origins the
// test starts, each closing its way; the pure rule is tested on its own too.
import net, { type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { tunnelCloseReason } from '../proxy/decide/close-reason.js';
import { openTunnel } from './helpers/clients.js';
import { startTestProxy, type TestProxy } from './helpers/proxy.js';

type Behaviour = 'echo-then-close-on-fin' | 'never-close' | 'reply-and-close' | 'reset';

/** A TCP origin that reads a line and then acts by its behaviour. */
async function origin(behaviour: Behaviour): Promise<{ port: number; server: net.Server }> {
  const server = net.createServer({ allowHalfOpen: behaviour === 'never-close' }, (s) => {
    open.add(s);
    s.once('close', () => open.delete(s));
    s.on('error', () => undefined);
    s.once('data', (c: Buffer) => {
      if (behaviour === 'reset') return void s.resetAndDestroy();
      if (behaviour === 'reply-and-close') return void s.end('bye\n');
      s.write(c); // echo; the close on the client's FIN is the socket's own (no half-open)
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as AddressInfo).port, server };
}

const servers: net.Server[] = [];
/** The origins' connections, to stop the ones left open (`never-close`). */
const open = new Set<net.Socket>();
let proxy: TestProxy;
const ports: Record<Behaviour, number> = { 'echo-then-close-on-fin': 0, 'never-close': 0, 'reply-and-close': 0, reset: 0 };

beforeAll(async () => {
  for (const b of Object.keys(ports) as Behaviour[]) {
    const o = await origin(b);
    ports[b] = o.port;
    servers.push(o.server);
  }
  proxy = await startTestProxy(`
pools:
  - name: ci
    sources: [127.0.0.0/8]
    mode: enforce
    allow: ["127.0.0.1/32:*"]
`);
});

afterAll(async () => {
  await proxy?.close();
  for (const s of open) s.destroy();
  for (const s of servers) await new Promise((r) => s.close(r));
});

async function lineFor(port: number): Promise<Record<string, unknown>> {
  return proxy.waitForLine((l) => l.kind === 'connect' && l.port === port);
}

/** A tunnel to the origin, a line sent through it, and its socket. */
async function tunnel(b: Behaviour, allowHalfOpen = false): Promise<net.Socket> {
  const { socket, status } = await openTunnel(proxy.port, `127.0.0.1:${ports[b]}`);
  expect(status).toBe(200);
  socket.allowHalfOpen = allowHalfOpen;
  socket.on('error', () => undefined);
  socket.resume();
  socket.write('hello\n');
  return socket;
}

describe('a tunnel says how it ended', () => {
  test('the client closes, the destination closes its side: closed', async () => {
    const s = await tunnel('echo-then-close-on-fin');
    await new Promise((r) => s.once('data', r)); // the echo
    s.end();
    expect(await lineFor(ports['echo-then-close-on-fin'])).toMatchObject({ decision: 'allow', status: 200, reason: 'closed' });
  });

  test('the destination closes, the client closes its side: closed', async () => {
    const s = await tunnel('reply-and-close');
    await new Promise((r) => s.once('close', r));
    expect(await lineFor(ports['reply-and-close'])).toMatchObject({ decision: 'allow', reason: 'closed' });
  });

  test('the client resets and the destination keeps its side open: client-closed', async () => {
    const s = await tunnel('never-close');
    await new Promise((r) => setImmediate(r));
    s.resetAndDestroy();
    expect(await lineFor(ports['never-close'])).toMatchObject({ decision: 'allow', reason: 'client-closed' });
  });

  test('the destination closes and the client keeps its side open: upstream-closed', async () => {
    const before = proxy.egress().length;
    const s = await tunnel('reply-and-close', true);
    await new Promise((r) => s.once('end', r)); // the destination's FIN, passed on
    // The client neither ends nor closes: the proxy closes it after its linger.
    const [line] = (await proxy.waitForEgress(before + 1)).slice(before);
    expect(line).toMatchObject({ kind: 'connect', decision: 'allow', reason: 'upstream-closed' });
    s.destroy();
  });

  test('the destination sends an RST: upstream-reset', async () => {
    const s = await tunnel('reset');
    await new Promise((r) => s.once('close', r));
    expect(await lineFor(ports.reset)).toMatchObject({ decision: 'allow', reason: 'upstream-reset' });
  });
});

describe('the rule', () => {
  test('a reset wins, two FINs are closed, otherwise who left first', () => {
    expect(tunnelCloseReason({ first: 'client', clientFin: true, upstreamFin: true, upstreamReset: true })).toBe('upstream-reset');
    expect(tunnelCloseReason({ first: 'upstream', clientFin: true, upstreamFin: true, upstreamReset: false })).toBe('closed');
    expect(tunnelCloseReason({ first: 'client', clientFin: true, upstreamFin: false, upstreamReset: false })).toBe('client-closed');
    expect(tunnelCloseReason({ first: 'client', clientFin: false, upstreamFin: false, upstreamReset: false })).toBe('client-closed');
    expect(tunnelCloseReason({ first: 'upstream', clientFin: false, upstreamFin: true, upstreamReset: false })).toBe('upstream-closed');
  });
});
