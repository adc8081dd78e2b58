// Header rules that apply to every proxied message: hop-by-hop fields never cross the edge (RFC 9110
// §7.6.1), Via records the hop (§7.6.3), X-Forwarded-* tell the origin who asked, and CDN-Loop
// (RFC 8586) lets tiers of edges notice a request that came back to them.
import type { IncomingHttpHeaders } from 'node:http';

export type HeaderMap = Record<string, string | string[] | undefined>;

/** Fields that describe one connection, not the message (RFC 9110 §7.6.1, plus legacy ones). */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  // `Expect: 100-continue` is answered by the edge itself; forwarding it would stall the origin.
  'expect',
  'http2-settings',
]);

/** Names listed in the Connection field are hop-by-hop too. */
export function connectionListed(headers: HeaderMap): Set<string> | undefined {
  const value = headers['connection'];
  if (value === undefined) return undefined;
  const out = new Set<string>();
  for (const v of Array.isArray(value) ? value : [value]) {
    for (const token of v.split(',')) {
      const name = token.trim().toLowerCase();
      if (name) out.add(name);
    }
  }
  return out;
}

/** A copy of `headers` without hop-by-hop fields, HTTP/2 pseudo-headers, or the names in `drop`. */
export function endToEnd(headers: HeaderMap, drop?: ReadonlySet<string>): HeaderMap {
  const listed = connectionListed(headers);
  const out: HeaderMap = {};
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined) continue;
    if (name.charCodeAt(0) === 58 /* ':' */) continue;
    if (HOP_BY_HOP.has(name) || listed?.has(name) || drop?.has(name)) continue;
    out[name] = value;
  }
  return out;
}

export function firstValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

export function joinValues(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value;
}

/** Appends `item` to a list-valued field (`a, b` + `c` → `a, b, c`). */
export function appendListValue(value: string | string[] | undefined, item: string): string {
  const existing = joinValues(value);
  return existing ? `${existing}, ${item}` : item;
}

/**
 * Request fields an origin framework may believe and reflect into a response (a scheme, a port, a
 * host, a path, a method, a client address) that no cache key names: a reader who sends them could
 * make the origin build a page for everyone else (web cache poisoning; the list is Param Miner's and
 * the published poisoning research's). The edge removes them — X-Forwarded-Proto/Host/For are its
 * own to write — unless a behavior names one in its key (`keyHeaders`).
 */
export const UNKEYED_REFLECTED: ReadonlySet<string> = new Set([
  'forwarded',
  'x-forwarded-scheme',
  'x-forwarded-port',
  'x-forwarded-prefix',
  'x-forwarded-server',
  'x-forwarded-ssl',
  'x-forwarded-path',
  'x-forwarded-uri',
  'front-end-https',
  'x-url-scheme',
  'x-original-url',
  'x-rewrite-url',
  'x-original-uri',
  'x-http-method-override',
  'x-http-method',
  'x-method-override',
  'x-host',
  'x-original-host',
  'x-forwarded-by',
  'x-real-ip',
  'true-client-ip',
  'x-client-ip',
  'client-ip',
  'x-cluster-client-ip',
  'x-originating-ip',
  'x-remote-ip',
  'x-remote-addr',
  'x-original-remote-addr',
  'x-proxyuser-ip',
  'x-wap-profile',
]);

export interface ForwardInfo {
  /**
   * The address this request came from (the socket's peer, or the client a PROXY header named):
   * appended to X-Forwarded-For as every proxy does. Who the client really is — what a trusted
   * proxy's X-Forwarded-For says — is the edge's {client_ip}.
   */
  peer: string;
  /** Scheme the client used to reach the edge. */
  proto: 'http' | 'https';
  /** The Host (or :authority) the client sent, as sent. */
  host: string;
  /** This node's Via pseudonym and CDN-Loop entry. */
  via: string;
  cdnLoop: string;
  /** Fields removed on the way (UNKEYED_REFLECTED, less those a behavior keys on). */
  drop?: ReadonlySet<string>;
}

/** Request headers for the origin: end-to-end fields plus the proxy's own. */
export function forwardRequestHeaders(incoming: IncomingHttpHeaders, info: ForwardInfo): HeaderMap {
  const out = endToEnd(incoming as HeaderMap, info.drop ?? UNKEYED_REFLECTED);
  out['host'] = info.host;
  out['x-forwarded-for'] = appendListValue(out['x-forwarded-for'], info.peer);
  out['x-forwarded-proto'] = info.proto;
  out['x-forwarded-host'] = info.host;
  out['via'] = appendListValue(out['via'], info.via);
  out['cdn-loop'] = appendListValue(out['cdn-loop'], info.cdnLoop);
  return out;
}

/**
 * How many CDN-Loop entries name `cdnId`, and whether one of them carries `node=<nodeId>`.
 * Grammar (RFC 8586 §2): `#( cdn-id *( OWS ";" OWS parameter ) )`.
 */
export function countLoopEntries(value: string | string[] | undefined, cdnId: string, nodeId: string): { hops: number; sameNode: boolean } {
  const joined = joinValues(value);
  if (!joined) return { hops: 0, sameNode: false };
  const id = cdnId.toLowerCase();
  let hops = 0;
  let sameNode = false;
  for (const entry of joined.split(',')) {
    const parts = entry.split(';');
    if (parts[0]!.trim().toLowerCase() !== id) continue;
    hops++;
    for (let i = 1; i < parts.length; i++) {
      const [k, v] = parts[i]!.split('=');
      if (k?.trim().toLowerCase() === 'node' && v?.trim().replace(/^"|"$/g, '') === nodeId) sameNode = true;
    }
  }
  return { hops, sameNode };
}
