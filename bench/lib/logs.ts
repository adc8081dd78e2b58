// Access logging in the benchmarks: every server runs with the same setting, off or on (BENCH_LOGS,
// or a scenario's choice), and "on" means what an operator would run: nginx's buffered access_log,
// varnishncsa writing a file, blotcdn's access log to a file. The formats carry the fields issue 13
// asks blotcdn's log for, as JSON lines, so each server writes about the same line.
import { createReadStream } from 'node:fs';

export type LogMode = 'on' | 'off';

/** BENCH_LOGS (default off); anything else than on/off is an error rather than a silent default. */
export function benchLogs(): LogMode {
  const v = process.env.BENCH_LOGS ?? 'off';
  if (v !== 'on' && v !== 'off') throw new Error(`BENCH_LOGS must be "on" or "off", not "${v}"`);
  return v;
}

/** nginx's JSON line (log_format … escape=json): time, request id, client, request, status, bytes, timings, cache, upstream, agent, referer, TLS. */
export const NGINX_LOG_FORMAT = `log_format bench_json escape=json '{"time":"$time_iso8601","id":"$request_id","client":"$remote_addr",'
    '"method":"$request_method","scheme":"$scheme","host":"$host","path":"$request_uri","protocol":"$server_protocol",'
    '"status":$status,"bytes":$body_bytes_sent,"duration":$request_time,"originTtfb":"$upstream_header_time",'
    '"cache":"$upstream_cache_status","member":"$upstream_addr","ua":"$http_user_agent","referer":"$http_referer",'
    '"tls":"$ssl_protocol","sni":"$ssl_server_name"}';`;

/** The same fields as far as varnishncsa has them (no TLS in Varnish), as a -F format. */
export const VARNISHNCSA_FORMAT =
  '{"time":"%{%Y-%m-%dT%H:%M:%S%z}t","id":"%{VSL:Begin[2]}x","client":"%h","method":"%m","host":"%{Host}i","path":"%U%q",' +
  '"protocol":"%H","status":%s,"bytes":"%b","duration":%D,"firstByte":%{Varnish:time_firstbyte}x,"cache":"%{Varnish:handling}x",' +
  '"ua":"%{User-agent}i","referer":"%{Referer}i"}';

/** Lines in a file (0 if it does not exist), read as a stream: logs of a run reach hundreds of MB. */
export function countLines(file: string): Promise<number> {
  return new Promise((resolve, reject) => {
    let lines = 0;
    createReadStream(file)
      .on('data', (chunk: Buffer | string) => {
        const b = chunk as Buffer;
        for (let i = b.indexOf(10); i !== -1; i = b.indexOf(10, i + 1)) lines++;
      })
      .on('end', () => resolve(lines))
      .on('error', (err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? resolve(0) : reject(err)));
  });
}
