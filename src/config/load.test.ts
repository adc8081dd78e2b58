import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, formatPath, loadConfigFile, parseConfigText, validateConfig } from './load.js';

const MINIMAL_YAML = `
listen: {}
originGroups:
  main:
    members:
      - url: http://127.0.0.1:8080
sites:
  - hosts: [example.com]
    originGroup: main
`;

/** A fresh minimal config object each time, for tests to alter. */
function base(): Record<string, any> {
  return {
    listen: {},
    originGroups: { main: { members: [{ url: 'http://127.0.0.1:8080' }] } },
    sites: [{ hosts: ['example.com'], originGroup: 'main' }],
  };
}

/** The problems a config is refused with (fails the test if it is accepted or fails otherwise). */
function problems(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    assert.equal(err.name, 'ConfigError');
    return err.problems;
  }
  assert.fail('the config was accepted');
}

const invalid = (input: unknown) => problems(() => validateConfig(input));

describe('formatPath', () => {
  test('joins names with dots and indexes with brackets', () => {
    assert.equal(formatPath(['sites', 0, 'behaviors', 1, 'ttl', 'max']), 'sites[0].behaviors[1].ttl.max');
    assert.equal(formatPath(['originGroups', 'main', 'members', 2]), 'originGroups.main.members[2]');
    assert.equal(formatPath([0, 'a']), '[0].a');
  });

  test('the empty path is the top level', () => {
    assert.equal(formatPath([]), '(top level)');
  });
});

describe('valid configs', () => {
  test('a minimal config gets every default', () => {
    const cfg = parseConfigText(MINIMAL_YAML, 'test.yaml');
    assert.deepEqual(cfg.node, { peers: ['127.0.0.0/8', '::1'] });
    assert.deepEqual(cfg.listen, { http: [], https: [] });
    assert.deepEqual(cfg.cache, {
      memory: { maxSize: 256 * 1024 * 1024, maxObjectSize: 16 * 1024 * 1024 },
      grace: 0,
      compression: { enabled: true, minSize: 1024, maxSize: 10 * 1024 * 1024, concurrency: 2 },
      limits: { maxKeyLength: 16_384, maxVariants: 64, maxFlights: 10_000, hitForMissEntries: 100_000, hitForMiss: 30_000 },
    });
    assert.deepEqual(cfg.proxy, { maxHops: 4, cdnId: 'blotcdn', servedByHeader: true, maxTargetLength: 8192, abandonedFillLimit: 16 * 1024 * 1024, fastLane: true });
    const group = cfg.originGroups['main']!;
    assert.deepEqual(group.failoverOn, [500, 502, 503, 504]);
    assert.deepEqual(group.breaker, { failures: 3, cooldown: 5000, probePath: '/', tripOn: [] });
    assert.equal(group.members.length, 1);
    const member = group.members[0]!;
    assert.ok(member.url instanceof URL);
    assert.equal(member.url.href, 'http://127.0.0.1:8080/');
    assert.equal(member.name, undefined);
    assert.equal(member.host, 'keep');
    assert.equal(member.pathPrefix, '');
    assert.equal(member.connectTimeout, 5000);
    assert.equal(member.headersTimeout, 30_000);
    assert.equal(member.bodyTimeout, 30_000);
    assert.equal(member.connections, 128);
    assert.equal(member.insecure, false);
    assert.deepEqual(cfg.sites, [{ hosts: ['example.com'], originGroup: 'main', behaviors: [], domainList: false, redirectToHttps: true, deny: [], errorPages: {} }]);
    assert.deepEqual(cfg.trustedProxies, []);
  });

  test('JSON is accepted too (YAML is a superset)', () => {
    const cfg = parseConfigText(JSON.stringify(base()), 'test.json');
    assert.equal(cfg.sites[0]!.originGroup, 'main');
  });

  test('durations, sizes, listen addresses and behaviors are converted', () => {
    const input = base();
    input.listen = { http: ':8080' };
    input.cache = { memory: { maxSize: '1GiB', maxObjectSize: 4096 } };
    input.originGroups.main.breaker = { cooldown: '1m' };
    input.sites[0].hosts = ['Example.COM', '*.blot.im'];
    input.sites[0].behaviors = [{ path: '/static/*', ttl: { min: '1h', max: '1y', default: 30 }, query: 'none' }];
    const cfg = validateConfig(input);
    assert.deepEqual(cfg.listen.http, [{ port: 8080 }], '":8080" is every interface, as Caddy and nginx read it');
    assert.equal(cfg.cache.memory.maxSize, 1024 ** 3);
    assert.equal(cfg.cache.memory.maxObjectSize, 4096);
    assert.equal(cfg.originGroups['main']!.breaker.cooldown, 60_000);
    assert.equal(cfg.originGroups['main']!.breaker.failures, 3);
    assert.deepEqual(cfg.sites[0]!.hosts, ['example.com', '*.blot.im']);
    const b = cfg.sites[0]!.behaviors[0]!;
    assert.deepEqual(b.ttl, { min: 3_600_000, max: 31_557_600_000, default: 30_000 });
    assert.equal(b.query, 'none');
    assert.equal(b.bypass, false);
  });

  test('listen addresses: a port alone or ":port" is every interface; a host keeps its interface', () => {
    const http = (value: unknown) => {
      const input = base();
      input.listen = { http: value };
      return validateConfig(input).listen.http;
    };
    assert.deepEqual(http('8080'), [{ port: 8080 }]);
    assert.deepEqual(http(8080), [{ port: 8080 }]);
    assert.deepEqual(http(':8080'), [{ port: 8080 }]);
    assert.deepEqual(http('127.0.0.1:8080'), [{ host: '127.0.0.1', port: 8080 }]);
    assert.deepEqual(http('0.0.0.0:80'), [{ host: '0.0.0.0', port: 80 }]);
    assert.deepEqual(http('[::1]:8080'), [{ host: '::1', port: 8080 }]);
    assert.deepEqual(http(['[::]:8080', 'localhost:0']), [{ host: '::', port: 8080 }, { host: 'localhost', port: 0 }]);
    for (const bad of ['', ':', 'host', '8080:', '1.2.3.4:70000', 'a:b:8080']) {
      assert.throws(() => http(bad), /listen\.http(\[0\])?: not a listen address/, JSON.stringify(bad));
    }
    const input = base();
    assert.deepEqual(validateConfig({ ...input, admin: {} }).admin?.listen, { host: '127.0.0.1', port: 8081 }, 'the admin API stays on loopback by default');
  });

  test('loadConfigFile reads and validates a file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'blotcdn-load-test-'));
    after(() => rm(dir, { recursive: true, force: true }));
    const path = join(dir, 'edge.yaml');
    await writeFile(path, MINIMAL_YAML);
    const cfg = await loadConfigFile(path);
    assert.equal(cfg.sites[0]!.hosts[0], 'example.com');

    await writeFile(path, MINIMAL_YAML.replace('originGroup: main', 'originGroup: other'));
    await assert.rejects(loadConfigFile(path), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.ok(err.message.includes(path), err.message);
      assert.deepEqual(err.problems, ['sites[0].originGroup: unknown origin group "other"']);
      return true;
    });
  });

  test('loadConfigFile reports a missing file as a ConfigError', async () => {
    const path = join(tmpdir(), 'blotcdn-definitely-missing', 'nope.yaml');
    await assert.rejects(loadConfigFile(path), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.problems.length, 1);
      assert.match(err.problems[0]!, /^cannot read the file: ENOENT$/);
      return true;
    });
  });
});

describe('refused configs name the field', () => {
  test('the error message lists each problem under the source name', () => {
    try {
      parseConfigText(MINIMAL_YAML + 'bogus: 1\n', 'edge.yaml');
      assert.fail('accepted');
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.message, 'invalid config edge.yaml:\n  - (top level): unknown field "bogus"');
    }
  });

  test('unknown fields, at the top level and deep inside', () => {
    const top = base();
    top.bogus = 1;
    assert.deepEqual(invalid(top), ['(top level): unknown field "bogus"']);

    const member = base();
    member.originGroups.main.members[0].timeout = '5s';
    assert.deepEqual(invalid(member), ['originGroups.main.members[0]: unknown field "timeout"']);

    const ttl = base();
    ttl.sites[0].behaviors = [{ path: '/', ttl: { maxAge: '1m', force: '1m' } }];
    assert.deepEqual(invalid(ttl), ['sites[0].behaviors[0].ttl: unknown field "maxAge"']);
  });

  test('a bad duration names its path', () => {
    const input = base();
    input.sites[0].behaviors = [{ path: '/a' }, { path: '/b', ttl: { max: 'forever' } }];
    const p = invalid(input);
    assert.equal(p.length, 1);
    assert.match(p[0]!, /^sites\[0\]\.behaviors\[1\]\.ttl\.max: not a duration: "forever"/);
  });

  test('a negative duration names its path', () => {
    const input = base();
    input.originGroups.main.members[0].connectTimeout = -5;
    const p = invalid(input);
    assert.equal(p.length, 1);
    assert.match(p[0]!, /^originGroups\.main\.members\[0\]\.connectTimeout: not a duration: -5/);
  });

  test(
    'an empty duration is refused with its path, not with an exception',
    () => {
      const input = base();
      input.sites[0].behaviors = [{ path: '/a', ttl: { max: '' } }];
      const p = invalid(input);
      assert.match(p[0]!, /^sites\[0\]\.behaviors\[0\]\.ttl\.max: not a duration/);
    },
  );

  test('a bad size names its path', () => {
    const input = base();
    input.cache = { memory: { maxSize: 'lots' } };
    const p = invalid(input);
    assert.equal(p.length, 1);
    assert.match(p[0]!, /^cache\.memory\.maxSize: not a size: "lots"/);
  });

  test('ttl min above max names the ttl', () => {
    const input = base();
    input.sites[0].behaviors = [{ path: '/a', ttl: { min: '1h', max: '1m' } }];
    assert.deepEqual(invalid(input), ['sites[0].behaviors[0].ttl: min must not be greater than max']);
  });

  test('an unknown origin group, for a site and for a behavior', () => {
    const site = base();
    site.sites[0].originGroup = 'nope';
    assert.deepEqual(invalid(site), ['sites[0].originGroup: unknown origin group "nope"']);

    const behavior = base();
    behavior.sites[0].behaviors = [{ path: '/a' }, { path: '/b', originGroup: 'x' }];
    assert.deepEqual(invalid(behavior), ['sites[0].behaviors[1].originGroup: unknown origin group "x"']);
  });

  test('a host served by two sites, compared after lower-casing', () => {
    const input = base();
    input.sites.push({ hosts: ['a.example', 'Example.com'], originGroup: 'main' });
    assert.deepEqual(invalid(input), ['sites[1].hosts[1]: host "example.com" is already served by sites[0]']);
  });

  test('the same host twice in one site', () => {
    const input = base();
    input.sites[0].hosts = ['example.com', 'example.com'];
    assert.deepEqual(invalid(input), ['sites[0].hosts[1]: host "example.com" is already served by sites[0]']);
  });

  test('duplicate member names, given or taken from the URL host', () => {
    const named = base();
    named.originGroups.main.members = [
      { url: 'http://127.0.0.1:8080', name: 'a' },
      { url: 'http://127.0.0.1:9090', name: 'a' },
    ];
    assert.deepEqual(invalid(named), ['originGroups.main.members[1].name: duplicate member name "a"; give each member a name']);

    const unnamed = base();
    unnamed.originGroups.main.members = [{ url: 'http://127.0.0.1:8080/a' }, { url: 'http://127.0.0.1:8080/b' }];
    assert.deepEqual(invalid(unnamed), [
      'originGroups.main.members[1].name: duplicate member name "127.0.0.1:8080"; give each member a name',
    ]);
  });

  test('members with distinct hosts need no names', () => {
    const input = base();
    input.originGroups.main.members = [{ url: 'http://127.0.0.1:8080' }, { url: 'http://127.0.0.1:9090' }];
    assert.equal(validateConfig(input).originGroups['main']!.members.length, 2);
  });

  test('missing required sections are each named', () => {
    assert.deepEqual(invalid({ listen: {} }), [
      'originGroups: required field is missing (expected record)',
      'sites: required field is missing (expected array)',
    ]);
  });

  test('other field errors carry their path', () => {
    const cases: [(c: Record<string, any>) => void, RegExp][] = [
      [(c) => (c.sites[0].hosts = ['exa mple.com']), /^sites\[0\]\.hosts\[0\]: not a host name/],
      [(c) => (c.originGroups.main.members[0].url = 'ftp://x'), /^originGroups\.main\.members\[0\]\.url: unsupported origin scheme ftp:/],
      [(c) => (c.originGroups.main.members[0].url = 'not a url'), /^originGroups\.main\.members\[0\]\.url: not a URL/],
      [(c) => (c.listen = { http: 'nowhere' }), /^listen\.http\[0\]: not a listen address: "nowhere"/],
      [(c) => (c.originGroups.main.members = []), /^originGroups\.main\.members: an origin group needs at least one member/],
      [(c) => (c.sites = []), /^sites: at least one site is needed/],
      [(c) => (c.sites[0].behaviors = [{ path: 'static/*' }]), /^sites\[0\]\.behaviors\[0\]\.path: must start with \/ or \*/],
      [(c) => (c.originGroups.main.failoverOn = [700]), /^originGroups\.main\.failoverOn\[0\]: /],
      [(c) => (c.proxy = { maxHops: 0 }), /^proxy\.maxHops: /],
    ];
    for (const [alter, expected] of cases) {
      const input = base();
      alter(input);
      const p = invalid(input);
      assert.ok(p.some((m) => expected.test(m)), `${expected} not in ${JSON.stringify(p)}`);
    }
  });
});

describe('documents that are not configs', () => {
  test('YAML syntax errors are reported with their position', () => {
    const p = problems(() => parseConfigText('listen: {}\nsites: [\n', 'bad.yaml'));
    assert.ok(p.length >= 1);
    for (const m of p) assert.match(m, /^syntax: .+ at line \d+, column \d+/);
    assert.ok(!p.some((m) => m.includes('\n')), 'one line per problem');
  });

  test('duplicate keys are a syntax error', () => {
    const p = problems(() => parseConfigText('listen: {}\nlisten: {}\n', 'dup.yaml'));
    assert.equal(p.length, 1);
    assert.match(p[0]!, /^syntax: .*unique.* at line 2/);
  });

  test('non-mapping documents are refused at the top level', () => {
    for (const text of ['', '# only a comment\n', '- a\n- b\n', 'hello\n', '42\n', 'null\n', '[1, 2]']) {
      assert.deepEqual(
        problems(() => parseConfigText(text, 'x.yaml')),
        ['(top level): expected a mapping of settings'],
        JSON.stringify(text),
      );
    }
  });
});

describe('the jobs block (the publishing queue)', () => {
  test('a folder or Redis, exactly one; redis: true needs the top-level redis', () => {
    assert.deepEqual(validateConfig({ ...base(), jobs: { dir: '/var/lib/blotcdn/jobs' } }).jobs, { dir: '/var/lib/blotcdn/jobs', prefix: 'blotcdn:jobs' });
    assert.equal(validateConfig({ ...base(), redis: { url: 'redis://r:6379' }, jobs: { redis: true } }).jobs?.redis, true);
    assert.deepEqual(invalid({ ...base(), jobs: {} }), ['jobs: give exactly one of jobs.dir and jobs.redis']);
    assert.deepEqual(invalid({ ...base(), jobs: { dir: '/a', redis: 'redis://r' } }), ['jobs: give exactly one of jobs.dir and jobs.redis']);
    assert.deepEqual(invalid({ ...base(), jobs: { redis: true } }), ['jobs.redis: jobs.redis: true needs a top-level redis.url']);
    assert.deepEqual(invalid({ ...base(), jobs: { redis: 'http://r' } }), ['jobs.redis: expected a redis:// URL']);
  });
});
