import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { CLI_PATH, REPO_ROOT, redisCli, startRedis, type RedisServer } from '../helpers/index.js';
import { startAdminProxy, type AdminProxy } from '../helpers/index.js';

// deploy/: the Grafana dashboard, the Prometheus alert rules and the compose file must
// name only metrics a running proxy exposes and files that exist, and the alert rules
// in docs/operations.md must be the rule file itself, so they can be copied as they are.

const DEPLOY = path.join(REPO_ROOT, 'deploy');
const read = (rel: string) => readFileSync(path.join(REPO_ROOT, rel), 'utf8');
/** metrics Prometheus makes itself, not the proxy */
const PROMETHEUS_OWN = new Set(['up']);

interface Panel { title: string; type: string; targets?: { expr: string }[]; gridPos: object }
interface Rule { alert: string; expr: string; for?: string; annotations: { summary: string } }

function dashboardExprs(): { title: string; expr: string }[] {
  const dash = JSON.parse(read('deploy/grafana/redisproxy.json')) as { panels: Panel[] };
  return dash.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ title: p.title, expr: t.expr })));
}

function alertRules(): Rule[] {
  const doc = parseYaml(read('deploy/prometheus/alerts.yaml')) as { groups: { rules: Rule[] }[] };
  return doc.groups.flatMap((g) => g.rules);
}

/** the metric names in a PromQL expression (function names, labels and keywords are not metric names here) */
function metricNames(expr: string): string[] {
  const stripped = expr.replace(/\{[^}]*\}/g, '').replace(/"[^"]*"/g, '');
  const names = stripped.match(/\b(redisproxy_\w+|process_\w+|nodejs_\w+|up)\b/g) ?? [];
  return [...new Set(names)];
}

describe('dashboard and alert rules against a running proxy', () => {
  let redis: RedisServer;
  let p: AdminProxy;
  let exposed: Set<string>;
  before(async () => {
    redis = await startRedis();
    p = await startAdminProxy(redis.port, { until: 'readyz' });
    await redisCli(p.proxy.port, ['GET', 'k']); // a command, so commands_total has a sample
    const text = await (await fetch(p.url('/metrics'))).text();
    exposed = new Set(text.split('\n').filter((l) => l !== '' && !l.startsWith('#')).map((l) => l.split(/[{ ]/)[0]!));
  });
  after(async () => {
    await p.proxy.stop();
    await redis.stop();
  });

  test('every metric the dashboard queries is in /metrics', () => {
    const exprs = dashboardExprs();
    assert.ok(exprs.length >= 20, `the dashboard has queries (${exprs.length})`);
    const missing = exprs.flatMap(({ title, expr }) => metricNames(expr).filter((n) => !exposed.has(n)).map((n) => `${title}: ${n}`));
    assert.deepEqual(missing, []);
    const used = new Set(exprs.flatMap((e) => metricNames(e.expr)));
    // the panels the issue asks for, by the metric each one reads
    for (const name of [
      'redisproxy_command_duration_seconds_count', 'redisproxy_command_duration_seconds_bucket', 'redisproxy_cache_hits_total',
      'redisproxy_cache_entries', 'redisproxy_cache_capacity_keys', 'redisproxy_cache_bytes', 'redisproxy_cache_max_bytes',
      'redisproxy_cache_evictions_total', 'redisproxy_cache_invalidations_total', 'redisproxy_cache_flushes_total',
      'redisproxy_clients_connected', 'redisproxy_max_clients', 'redisproxy_link_state', 'redisproxy_link_connects_total',
      'redisproxy_errors_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_p99_seconds',
    ]) {
      assert.ok(used.has(name), `the dashboard shows ${name}`);
    }
  });

  test('every metric the alert rules use is in /metrics', () => {
    const rules = alertRules();
    assert.ok(rules.length >= 8);
    for (const r of rules) {
      assert.match(r.alert, /^RedisProxy\w+$/);
      assert.ok(r.annotations.summary.length > 20, `${r.alert} says why`);
      const names = metricNames(r.expr);
      assert.ok(names.length > 0, `${r.alert} reads a metric`);
      for (const n of names) assert.ok(exposed.has(n) || PROMETHEUS_OWN.has(n), `${r.alert}: ${n} is exposed`);
    }
    const exprs = rules.map((r) => r.expr).join('\n');
    assert.match(exprs, /redisproxy_ready == 0/, 'an alert on readiness');
    assert.match(exprs, /histogram_quantile\(0\.99, [^\n]*redisproxy_command_duration_seconds_bucket/, 'an alert on latency');
    assert.match(exprs, /redisproxy_clients_connected > 0\.9 \* redisproxy_max_clients/, 'near max-clients without a hard-coded number');
    assert.match(exprs, /nodejs_eventloop_lag_p99_seconds/, 'an alert on the event loop');
  });

  test('the max_clients and ready gauges follow the proxy', () => {
    assert.ok(exposed.has('redisproxy_max_clients'));
    assert.ok(exposed.has('redisproxy_ready'));
  });
});

test('docs/operations.md holds the alert rule file as it is', () => {
  const ops = read('docs/operations.md');
  const rules = read('deploy/prometheus/alerts.yaml');
  const blocks = [...ops.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]);
  assert.ok(blocks.includes(rules), 'a ```yaml block of docs/operations.md equals deploy/prometheus/alerts.yaml');
  for (const r of alertRules()) assert.ok(ops.includes(r.alert), `${r.alert} is explained in docs/operations.md`);
});

test('the compose file parses, and every file it and Prometheus and Grafana reference exists', () => {
  const compose = parseYaml(read('deploy/compose.yaml')) as {
    services: Record<string, { build?: { context: string; dockerfile: string }; volumes?: string[]; environment?: Record<string, string>; profiles?: string[] }>;
  };
  const { proxy, redis, prometheus, grafana } = compose.services;
  assert.ok(proxy && redis && prometheus && grafana);
  assert.deepEqual(prometheus.profiles, ['monitoring']);
  assert.deepEqual(grafana.profiles, ['monitoring']);
  assert.ok(existsSync(path.join(DEPLOY, proxy.build!.context, proxy.build!.dockerfile)), 'the proxy is built from the Dockerfile');

  // host path → path in the container, for every bind mount
  const mounts = new Map<string, string>();
  for (const svc of Object.values(compose.services)) {
    for (const v of svc.volumes ?? []) {
      const [host, inside] = v.split(':') as [string, string];
      const abs = path.join(DEPLOY, host);
      assert.ok(existsSync(abs), `${host} exists`);
      mounts.set(inside, abs);
    }
  }
  const inContainer = (p: string): string => {
    for (const [inside, host] of mounts) {
      if (p === inside) return host;
      if (p.startsWith(`${inside}/`)) return path.join(host, p.slice(inside.length + 1));
    }
    throw new Error(`${p} is not mounted`);
  };

  const prom = parseYaml(read('deploy/prometheus/prometheus.yml')) as { rule_files: string[]; scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[] };
  for (const f of prom.rule_files) assert.ok(existsSync(inContainer(f)), `rule file ${f} is mounted`);
  const job = prom.scrape_configs.find((j) => j.job_name === 'redisproxy');
  assert.ok(job, 'the job the alert rules name (job="redisproxy") is scraped');
  assert.equal(job.static_configs[0]!.targets[0], `proxy:${proxy.environment?.REDISPROXY_ADMIN_PORT ?? '9100'}`);

  const provisioning = inContainer('/etc/grafana/provisioning');
  const ds = parseYaml(readFileSync(path.join(provisioning, 'datasources', 'prometheus.yaml'), 'utf8')) as { datasources: { uid: string; url: string }[] };
  const dash = JSON.parse(read('deploy/grafana/redisproxy.json')) as { templating: { list: { name: string; current: { value: string } }[] } };
  assert.equal(dash.templating.list.find((v) => v.name === 'datasource')!.current.value, ds.datasources[0]!.uid);
  const providers = parseYaml(readFileSync(path.join(provisioning, 'dashboards', 'redisproxy.yaml'), 'utf8')) as { providers: { options: { path: string } }[] };
  assert.ok(existsSync(inContainer(`${providers.providers[0]!.options.path}/redisproxy.json`)), 'the dashboard is where the provider looks');
});

test('the environment the compose file and the image give the proxy is a valid configuration', () => {
  const compose = parseYaml(read('deploy/compose.yaml')) as { services: { proxy: { environment: Record<string, string> } } };
  const dockerEnv = Object.fromEntries(
    [...read('Dockerfile').matchAll(/\b(REDISPROXY_[A-Z_]+)=(\S+)/g)].map((m) => [m[1]!, m[2]!]),
  );
  assert.ok(Object.keys(dockerEnv).length >= 5);
  const env = { PATH: process.env.PATH ?? '', ...dockerEnv, ...compose.services.proxy.environment };
  const r = spawnSync(process.execPath, [CLI_PATH, '--print-config'], { env, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const config = JSON.parse(r.stdout) as Record<string, unknown>;
  assert.equal(config.bind, '0.0.0.0');
  assert.equal(config.adminPort, 9100);
  assert.equal(config.capacity, 10000);
});
