// A listen address, `host:port` or `[v6]:port`. Its own module (no zod) so that the
// listeners can parse one without loading the schema (issue #19: zod and yaml stay out of
// the proxy's process, config/isolated.ts).

export function parseListen(text: string): { host: string; port: number } | undefined {
  const colon = text.lastIndexOf(':');
  if (colon <= 0) return undefined;
  let host = text.slice(0, colon);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  else if (host.includes(':')) return undefined;
  const portText = text.slice(colon + 1);
  const port = Number(portText);
  if (portText === '' || !Number.isInteger(port) || port < 0 || port > 65535) return undefined;
  return { host, port };
}
