// DNS on loopback for tests: an upstream server the test starts (UDP and TCP, answers from
// a table, every query counted), and a client that sends queries the way stub resolvers do.
import dgram from 'node:dgram';
import net, { type AddressInfo } from 'node:net';
import dnsPacket, { type Answer, type DecodedPacket, type Packet } from 'dns-packet';

export interface Upstream {
  port: number;
  /** Queries received, over UDP and TCP, as `name type`. */
  queries: string[];
  close(): Promise<void>;
}

/** name (lower case) → records; a name not in the table is NXDOMAIN; `slow` names are never answered. */
export type Zone = Record<string, Answer[]>;

export async function startUpstream(zone: Zone, options: { silent?: readonly string[]; truncateUdp?: readonly string[] } = {}): Promise<Upstream> {
  const queries: string[] = [];
  const respond = (msg: Buffer, udp: boolean): Buffer | undefined => {
    const q = dnsPacket.decode(msg);
    const question = q.questions?.[0];
    if (!question) return undefined;
    const name = question.name.toLowerCase();
    queries.push(`${name} ${question.type}`);
    if (options.silent?.includes(name)) return undefined;
    const records = zone[name];
    const answers = (records ?? []).filter((r) => r.type === question.type || r.type === 'CNAME');
    const truncated = udp && (options.truncateUdp?.includes(name) ?? false);
    const packet: Packet = {
      type: 'response',
      id: q.id ?? 0,
      flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE | (truncated ? dnsPacket.TRUNCATED_RESPONSE : 0) | (records ? 0 : 3),
      questions: [question],
      answers: truncated ? [] : answers,
      authorities: records ? [] : [{ type: 'SOA', name: 'test', ttl: 60, data: { mname: 'ns.test', rname: 'admin.test', serial: 1, refresh: 60, retry: 60, expire: 60, minimum: 60 } }],
    };
    return dnsPacket.encode(packet);
  };

  const sockets = new Set<net.Socket>();
  const tcpServer = (): net.Server => net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    let buf = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const msg = buf.subarray(2, 2 + buf.readUInt16BE(0));
        buf = buf.subarray(2 + msg.length);
        const out = respond(Buffer.from(msg), false);
        if (out) {
          const frame = Buffer.alloc(2);
          frame.writeUInt16BE(out.length);
          socket.write(Buffer.concat([frame, out]));
        }
      }
    });
  });
  // UDP takes a free port and TCP the same number, which an outgoing connection on a busy
  // machine may hold already: then both try again on another (as the proxy's listener does).
  for (let attempt = 0; ; attempt++) {
    const udp = dgram.createSocket('udp4');
    udp.on('message', (msg, rinfo) => {
      const out = respond(msg, true);
      if (out) udp.send(out, rinfo.port, rinfo.address);
    });
    await new Promise<void>((resolve) => udp.bind(0, '127.0.0.1', () => resolve()));
    const port = udp.address().port;
    const tcp = tcpServer();
    try {
      await new Promise<void>((resolve, reject) => {
        tcp.once('error', reject);
        tcp.listen(port, '127.0.0.1', () => resolve());
      });
    } catch (err) {
      udp.close();
      if (attempt < 5) continue;
      throw err;
    }
    return upstream(port, udp, tcp);
  }

  function upstream(port: number, udp: dgram.Socket, tcp: net.Server): Upstream {
    return {
      port,
      queries,
      async close() {
        for (const s of sockets) s.destroy();
        await new Promise<void>((resolve) => udp.close(() => resolve()));
        await new Promise<void>((resolve) => tcp.close(() => resolve()));
      },
    };
  }
}

/** A decoded reply as dns-packet gives it (its types leave out rcode, and OPT records have no data). */
export type Reply = Omit<DecodedPacket, 'answers'> & { rcode: string; answers: Array<{ type: string; name: string; ttl?: number; data?: unknown }> };

function reply(buf: Buffer): Reply {
  // dns-packet's decode returns rcode and answers as this type describes; its .d.ts omits rcode.
  return dnsPacket.decode(buf) as unknown as Reply;
}

export interface QueryOptions {
  type?: string;
  /** Advertise EDNS(0) with this UDP size (absent: no OPT record, 512 bytes). */
  edns?: number;
  id?: number;
  /** Send from this local address (another loopback address is another client). */
  from?: string;
}

export function encodeQuery(name: string, options: QueryOptions = {}): Buffer {
  return dnsPacket.encode({
    type: 'query',
    id: options.id ?? Math.floor(Math.random() * 65536),
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type: (options.type ?? 'A') as 'A', name }],
    ...(options.edns !== undefined ? { additionals: [{ type: 'OPT', name: '.', udpPayloadSize: options.edns, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }] } : {}),
  });
}

/** Send raw bytes over UDP from a fresh socket; the first reply, or undefined after `timeoutMs`. */
export function udpExchange(port: number, msg: Buffer, timeoutMs = 2000, host = '127.0.0.1', from?: string): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const s = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
    if (from !== undefined) s.bind(0, from);
    const timer = setTimeout(() => done(undefined), timeoutMs);
    const done = (r: Buffer | undefined): void => {
      clearTimeout(timer);
      s.close();
      resolve(r);
    };
    s.on('message', (m) => done(m));
    s.on('error', () => done(undefined));
    s.send(msg, port, host);
  });
}

export async function udpQuery(port: number, name: string, options: QueryOptions = {}): Promise<Reply> {
  const out = await udpExchange(port, encodeQuery(name, options), 2000, '127.0.0.1', options.from);
  if (!out) throw new Error(`no UDP answer for ${name}`);
  return reply(out);
}

/** Send frames over one TCP connection; the replies (up to `expect`) as they come, or fewer when it closes. */
export function tcpExchange(port: number, messages: Buffer[], expect = messages.length, timeoutMs = 3000): Promise<{ replies: Buffer[]; closed: boolean }> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const replies: Buffer[] = [];
    let buf = Buffer.alloc(0);
    let closed = false;
    const timer = setTimeout(() => finish(), timeoutMs);
    const finish = (): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ replies, closed });
    };
    socket.on('connect', () => {
      for (const m of messages) {
        const len = Buffer.alloc(2);
        len.writeUInt16BE(m.length);
        socket.write(Buffer.concat([len, m]));
      }
    });
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        replies.push(Buffer.from(buf.subarray(2, 2 + buf.readUInt16BE(0))));
        buf = buf.subarray(2 + buf.readUInt16BE(0));
      }
      if (replies.length >= expect) finish();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      closed = true;
      finish();
    });
  });
}

export async function tcpQuery(port: number, name: string, options: QueryOptions = {}): Promise<Reply> {
  const { replies } = await tcpExchange(port, [encodeQuery(name, options)]);
  const first = replies[0];
  if (!first) throw new Error(`no TCP answer for ${name}`);
  return reply(first);
}

export function addressOf(info: AddressInfo): string {
  return `${info.address}:${info.port}`;
}
