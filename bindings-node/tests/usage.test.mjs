// Usage reports (the core's usage module) through a `Prometheus` handle: against Debian's
// prometheus started by the test (scraping an exporter the test controls), compared with the
// figures computed by hand, and the error codes of an unreachable server and of a bad period.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import http from 'node:http'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { clusterRequired, moorage, rejection, thrown } from './helpers.mjs'

const { Prometheus, PrometheusError, Tenant } = moorage
const GIB = 1024 ** 3

/** An exporter of per-pod usage: each pod's CPU counter grows by its cores per second. */
async function exporter(pods) {
  const since = Date.now()
  const server = http.createServer((_req, res) => {
    const seconds = (Date.now() - since) / 1000
    let body = ''
    for (const [ns, pod, cores, memory, volume] of pods) {
      const labels = `namespace="${ns}",pod="${pod}",container="app"`
      body += `container_cpu_usage_seconds_total{${labels}} ${cores * seconds}\n`
      body += `container_memory_working_set_bytes{${labels}} ${memory}\n`
      body += `kubelet_volume_stats_capacity_bytes{namespace="${ns}",persistentvolumeclaim="${pod}-data"} ${volume}\n`
    }
    res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4' }).end(body)
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  return server
}

async function freePort() {
  const s = net.createServer()
  await new Promise((resolve) => s.listen(0, '127.0.0.1', resolve))
  const { port } = s.address()
  await new Promise((resolve) => s.close(resolve))
  return port
}

/** Debian's prometheus on loopback scraping `target` every second, or null after skipping (failing under CI). */
async function startPrometheus(t, target) {
  const binary = process.env.MOORAGE_PROMETHEUS || 'prometheus'
  if (spawnSync(binary, ['--version']).error) {
    if (clusterRequired()) assert.fail(`no Prometheus binary (${binary}); test.sh installs Debian's prometheus`)
    t.skip(`no Prometheus binary (${binary}); install Debian's prometheus or set MOORAGE_PROMETHEUS`)
    return null
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'moorage-node-prometheus-'))
  fs.writeFileSync(path.join(dir, 'prometheus.yml'), `global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: exporter\n    static_configs:\n      - targets: ['${target}']\n`)
  const port = await freePort()
  const child = spawn(binary, [`--config.file=${dir}/prometheus.yml`, `--storage.tsdb.path=${dir}/data`, `--web.listen-address=127.0.0.1:${port}`, '--storage.tsdb.retention.time=1d'], { stdio: 'ignore' })
  t.after(() => {
    child.kill()
    fs.rmSync(dir, { recursive: true, force: true })
  })
  const address = `http://127.0.0.1:${port}`
  for (let i = 0; i < 300; i++) {
    const ready = await fetch(`${address}/-/ready`).then((r) => r.ok, () => false)
    if (ready) return address
    await sleep(200)
  }
  assert.fail('Prometheus was not ready within 60 s')
}

/** Waits until `query` has a finite value (data has been scraped). */
async function waitForData(address, query) {
  for (let i = 0; i < 240; i++) {
    const answer = await fetch(`${address}/api/v1/query?query=${encodeURIComponent(query)}`).then((r) => r.json(), () => null)
    const result = answer?.data?.result ?? []
    if (result.length > 0 && result.every((s) => Number.isFinite(Number(s.value[1])))) return
    await sleep(250)
  }
  assert.fail(`no data for ${query} within 60 s`)
}

function close(actual, expected, tolerance, what) {
  const err = expected === 0 ? Math.abs(actual) : Math.abs((actual - expected) / expected)
  assert.ok(err <= tolerance, `${what}: ${actual} is not within ${tolerance * 100}% of ${expected}`)
}

test('a usage report matches the figures computed by hand', async (t) => {
  // acme: two pods (0.5 + 0.25 cores, 512 + 256 MiB), two 5 GiB volumes; globex: 1 core, 1 GiB, 2 GiB.
  const server = await exporter([
    ['acme', 'web-1', 0.5, 512 * 1024 ** 2, 5 * GIB],
    ['acme', 'web-2', 0.25, 256 * 1024 ** 2, 5 * GIB],
    ['globex', 'bi-1', 1, GIB, 2 * GIB],
  ])
  t.after(() => server.close())
  const address = await startPrometheus(t, `127.0.0.1:${server.address().port}`)
  if (!address) return
  // Enough scrapes for every point of the period to see a full rate window.
  await waitForData(address, 'sum(rate(container_cpu_usage_seconds_total[4s]))')
  await sleep(10_000)
  const now = Math.floor(Date.now() / 1000)
  // Six one-second points, ending two seconds ago (the last scrape is in).
  const period = { start: now - 8, end: now - 2, step: 1, rateWindow: 4 }
  const seconds = 6
  const prometheus = new Prometheus(address)
  assert.equal(prometheus.address, address)

  const acme = await prometheus.tenantUsage(new Tenant({ name: 'acme' }), period)
  // By hand: cores × seconds / 3600; GiB × seconds / 3600; GiB × seconds / 86400.
  close(acme.cpuCoreHours, (0.75 * seconds) / 3600, 0.01, 'acme CPU core-hours')
  close(acme.memoryGibHours, (0.75 * seconds) / 3600, 1e-9, 'acme memory GiB-hours')
  close(acme.storageGibDays, (10 * seconds) / 86400, 1e-9, 'acme storage GiB-days')
  assert.equal(acme.requests, 0)

  const fleet = await prometheus.fleetUsage(['acme', 'globex', 'initech'], period)
  assert.deepEqual([fleet.start, fleet.end, fleet.step], [period.start, period.end, 1])
  assert.deepEqual(Object.keys(fleet.tenants).sort(), ['acme', 'globex', 'initech'])
  close(fleet.tenants.globex.memoryGibHours, (1 * seconds) / 3600, 1e-9, 'globex memory GiB-hours')
  close(fleet.tenants.globex.cpuCoreHours, (1 * seconds) / 3600, 0.01, 'globex CPU core-hours')
  assert.deepEqual(fleet.tenants.initech, { cpuCoreHours: 0, memoryGibHours: 0, storageGibDays: 0, requests: 0 }, 'no data: nothing used')
  close(fleet.tenants.acme.memoryGibHours, acme.memoryGibHours, 1e-9, 'the same tenant in the fleet report')
  close(fleet.total.memoryGibHours, (1.75 * seconds) / 3600, 1e-9, 'fleet memory GiB-hours')
  close(fleet.total.storageGibDays, (12 * seconds) / 86400, 1e-9, 'fleet storage GiB-days')

  // `last`: the core picks the step (a minute, for ten minutes) and the period ends now.
  const recent = await prometheus.fleetUsage(['acme'], { last: '10m' })
  assert.equal(recent.step, 60)
  assert.equal(recent.end - recent.start, 600)
  assert.ok(recent.tenants.acme.memoryGibHours > 0, JSON.stringify(recent))
})

test('PROMETHEUS_UNREACHABLE names the server and the attempts', async () => {
  const port = await freePort()
  const prometheus = new Prometheus(`http://127.0.0.1:${port}/`, { attempts: 2, timeout: 2 })
  assert.equal(prometheus.address, `http://127.0.0.1:${port}`)
  const e = await rejection(prometheus.tenantUsage('acme', { last: '3d' }))
  assert.ok(e instanceof moorage.PrometheusUnreachableError && e instanceof PrometheusError, `${e.code}: ${e.message}`)
  assert.deepEqual([e.code, e.address, e.attempts], ['PROMETHEUS_UNREACHABLE', `http://127.0.0.1:${port}`, 2])
  assert.match(e.detail, /unreachable/)
})

test('a bad period is refused before any query, naming the field', async () => {
  // Port 1 answers nothing: a query would reject with PROMETHEUS_UNREACHABLE instead.
  const prometheus = new Prometheus('http://127.0.0.1:1', { attempts: 1 })
  // Thrown at the call, as every bad argument is (tests/bad-input/call-options.json has more).
  const last = thrown(() => prometheus.fleetUsage(['acme'], { last: 'forever' }))
  assert.ok(last instanceof moorage.ValidationError, last.message)
  assert.deepEqual(last.errors.map((x) => x.path), ['period.last'])
  const none = thrown(() => prometheus.tenantUsage('acme', { end: 2 }))
  assert.deepEqual([none.code, none.errors.map((x) => x.path)], ['VALIDATION', ['period']])
  const step = thrown(() => prometheus.tenantUsage('acme', { start: 1, end: 2, step: -1, rateWindow: 4 }))
  assert.deepEqual([step.code, step.errors.map((x) => x.path)], ['VALIDATION', ['period.step']])
  const timeout = thrown(() => new Prometheus('http://127.0.0.1:1', { timeout: -1 }))
  assert.deepEqual([timeout.code, timeout.errors.map((x) => x.path)], ['VALIDATION', ['timeout']])
})
