// Reads the server name and the ALPN list out of a TLS ClientHello before any TLS code sees it.
// Node's SNICallback is told the name only, so it cannot tell the CA's TLS-ALPN-01 validation
// (which offers exactly `acme-tls/1`, RFC 8737 §3) from a reader's handshake; HttpsListener peeks
// at the first record with this and sends validation connections to the challenge responder, so
// readers never get a challenge certificate, even while a renewal is being validated.

export interface ClientHelloInfo {
  serverName?: string;
  alpn: string[];
}

/** A full TLS record is at most 5 + 16,384 + 2,048 bytes; stop waiting for more after that. */
export const MAX_HELLO_BYTES = 5 + 16_384 + 2_048;

/**
 * `incomplete` while the first record has not fully arrived, undefined when the bytes are not a
 * ClientHello this parser understands (the TLS stack will then make its own decision).
 */
export function parseClientHello(buf: Buffer): ClientHelloInfo | 'incomplete' | undefined {
  if (buf.length < 5) return buf.length === 0 || buf[0] === 0x16 ? 'incomplete' : undefined;
  if (buf[0] !== 0x16 || buf[1] !== 0x03) return undefined;
  const recordLength = buf.readUInt16BE(3);
  if (buf.length < 5 + recordLength) return 'incomplete';
  const record = buf.subarray(5, 5 + recordLength);
  // Handshake header: type 1 (ClientHello), 24-bit length; a hello split over records is not read.
  if (record.length < 4 || record[0] !== 0x01) return undefined;
  const helloLength = record.readUIntBE(1, 3);
  if (record.length < 4 + helloLength) return undefined;
  try {
    return readHello(record.subarray(4, 4 + helloLength));
  } catch {
    return undefined;
  }
}

function readHello(body: Buffer): ClientHelloInfo {
  const r = new Reader(body);
  r.skip(2 + 32); // legacy_version, random
  r.skip(r.u8()); // session id
  r.skip(r.u16()); // cipher suites
  r.skip(r.u8()); // compression methods
  const info: ClientHelloInfo = { alpn: [] };
  if (r.done()) return info;
  const extensions = new Reader(r.bytes(r.u16()));
  while (!extensions.done()) {
    const type = extensions.u16();
    const data = new Reader(extensions.bytes(extensions.u16()));
    if (type === 0x0000) {
      // server_name: list of (type, name); type 0 is host_name.
      const list = new Reader(data.bytes(data.u16()));
      while (!list.done()) {
        const kind = list.u8();
        const name = list.bytes(list.u16());
        if (kind === 0 && info.serverName === undefined) info.serverName = name.toString('latin1');
      }
    } else if (type === 0x0010) {
      // application_layer_protocol_negotiation: list of length-prefixed protocol names.
      const list = new Reader(data.bytes(data.u16()));
      while (!list.done()) info.alpn.push(list.bytes(list.u8()).toString('latin1'));
    }
  }
  return info;
}

class Reader {
  private at = 0;
  constructor(private readonly buf: Buffer) {}
  done(): boolean {
    return this.at >= this.buf.length;
  }
  private need(n: number): void {
    if (this.at + n > this.buf.length) throw new RangeError('truncated ClientHello');
  }
  u8(): number {
    this.need(1);
    return this.buf[this.at++]!;
  }
  u16(): number {
    this.need(2);
    const v = this.buf.readUInt16BE(this.at);
    this.at += 2;
    return v;
  }
  skip(n: number): void {
    this.need(n);
    this.at += n;
  }
  bytes(n: number): Buffer {
    this.need(n);
    const out = this.buf.subarray(this.at, this.at + n);
    this.at += n;
    return out;
  }
}
