// What the edge's policy costs a hit (issue 10): 4 KiB hits through one site with no rules, and
// through the same site with 20 header rules (site and behavior, request and response, variables
// included), 50 deny patterns (none matching, so every request walks them all) and rate limits per
// client and per host that every request is counted against (set high enough never to answer 429).
// Both blotcdn processes run side by side in one run; the target is "within 5 %".
import { interleaved, LOAD_HEADER, loadCells, loadNotes, ratio, summarize } from '../lib/load.js';
import { startBlotcdn, stopAll, warm, type Peer } from '../lib/peers.js';
import { type BenchContext, type Scenario, type Section } from '../lib/scenario.js';

const PATH = '/hits/4k';

/** 50 scanner patterns of the shapes operators write: prefixes, suffixes, exact paths. */
function denyRules(): string {
  const rules: string[] = [];
  for (let i = 0; i < 20; i++) rules.push(`{ path: "/scan-${i}/*", status: 404 }`);
  for (let i = 0; i < 15; i++) rules.push(`{ path: "*.ext${i}", status: 403 }`);
  for (let i = 0; i < 14; i++) rules.push(`{ path: "/.secret-${i}", status: 444 }`);
  rules.push('{ methods: [TRACE, CONNECT] }');
  return rules.map((r) => `      - ${r}`).join('\n');
}

/** 20 header rules: 5 of each of request set/add and response set/remove, over site and behavior. */
function headerRules(): { site: string; behavior: string } {
  const set = (prefix: string, n: number, value: (i: number) => string) => Array.from({ length: n }, (_, i) => `${prefix}-${i}: "${value(i)}"`).join(', ');
  const list = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${i}`).join(', ');
  return {
    site: `    requestHeaders: { set: { ${set('x-req', 3, () => '{client_ip}')} }, add: { ${set('x-add', 2, () => '{request_id}')} } }
    responseHeaders: { set: { ${set('x-resp', 3, () => '{scheme}')} }, remove: [${list('x-gone', 2)}, x-powered-by] }`,
    behavior: `        requestHeaders: { set: { ${set('x-breq', 2, () => '{host}')} }, remove: [${list('x-strip', 2)}] }
        responseHeaders: { set: { access-control-allow-origin: "*", ${set('x-bresp', 2, () => 'v')} }, remove: [server] }`,
  };
}

function config(withRules: boolean) {
  return (originUrl: string, port: number, accessLog: string) => {
    const rules = headerRules();
    return `listen: { http: "127.0.0.1:${port}" }
log: { access: "${accessLog}", events: "off" }
originGroups: { o: { members: [ { url: "${originUrl}" } ] } }
sites:
  - name: s
    hosts: ["*"]
    originGroup: o
${withRules ? `    deny:
${denyRules()}
    rateLimit: { perClient: { rate: 100000000/s, burst: 100000000 }, perHost: { rate: 100000000/s, burst: 100000000 } }
${rules.site}
    behaviors:
      - path: "/hits/*"
${rules.behavior}
` : ''}`;
  };
}

export const policy: Scenario = {
  name: 'policy',
  description: '4 KiB hits with no rules vs 20 header rules, 50 deny patterns and rate limits: what the policy costs a hit',
  async run(ctx: BenchContext): Promise<Section> {
    const peers: Peer[] = [];
    try {
      peers.push(await startBlotcdn(ctx.originUrl, { name: 'blotcdn (no rules)', configYaml: config(false) }));
      peers.push(await startBlotcdn(ctx.originUrl, { name: 'blotcdn (rules)', configYaml: config(true) }));
      await warm(peers, PATH);
      // The rules must really apply: a hit through the ruled edge carries the response rules.
      const probe = await fetch(peers[1]!.url + PATH);
      await probe.arrayBuffer();
      if (probe.headers.get('access-control-allow-origin') !== '*' || probe.headers.get('x-resp-0') !== 'http') throw new Error(`the rules did not apply: ${JSON.stringify([...probe.headers])}`);
      const { runs } = await interleaved(ctx, peers, (p) => p.url + PATH, { label: '4k' });
      const [none, rules] = peers.map((p) => summarize(runs.get(p.name)!));
      const byRate = ratio(rules!, none!, (s) => s.rps);
      const byCpu = ratio(rules!, none!, (s) => s.requestsPerCpuSecond);
      const table = [['config', ...LOAD_HEADER]];
      table.push(['no rules', ...loadCells(none!)], ['20 header rules, 50 deny patterns, rate limits', ...loadCells(rules!)]);
      return {
        title: 'What policy costs a 4 KiB hit (wrk, 1 thread, 64 connections)',
        table,
        notes: [
          `both blotcdn processes pinned to the server core in turn, ${ctx.rounds} rounds of ${ctx.seconds} s, order rotating, medians`,
          `rules ÷ no rules: ${byRate.text} in req/s, ${byCpu.text} in requests per CPU-second (target: within 5 %, i.e. ≥ 0.95)`,
          ...loadNotes([none!, rules!]),
        ],
        data: { none, rules, ratio: { rps: byRate, perCpuSecond: byCpu }, within5PerCent: byCpu.value >= 0.95 },
      };
    } finally {
      await stopAll(peers);
    }
  },
};
