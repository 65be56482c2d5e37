// JavaScript values to specs (src/convert.rs), tried with generated values (fast-check).
//
// The bad-input corpus (tests/bad-input) reads specs as text; these properties feed the bindings'
// own conversion instead: valid specs with some of their values replaced by generated ones (any
// JSON-like value, NaN, infinities, undefined, nesting) must give a tenant or release, or the
// core's SPEC or VALIDATION error naming a field of the spec; never another error, never a crash.
// And a spec given as an object must be read as the same spec written as text is.
//
// The runs are seeded (the same in every run, so CI cannot fail on a draw of the day);
// MOORAGE_FASTCHECK_RUNS=5000 runs more of them, with random draws.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import fc from 'fast-check'
import { moorage, spec, SPECS, thrown } from './helpers.mjs'

const { Canary, Cluster, Prometheus, Quota, Release, Tenant } = moorage

const RUNS = Number(process.env.MOORAGE_FASTCHECK_RUNS ?? 300)
const OPTIONS = { numRuns: RUNS, includeErrorInReport: true, seed: Number(process.env.MOORAGE_FASTCHECK_SEED ?? (process.env.MOORAGE_FASTCHECK_RUNS ? Date.now() : 20261128)) }

const TENANT = Tenant.fromYaml(spec('acme.tenant.yaml')).toSpec()
const RELEASE = Release.fromYaml(spec('erp-verified.release.yaml')).toSpec()
const CANARY = new Release({ ...RELEASE, strategy: { type: 'canary', steps: [{ setWeight: 20 }, { pause: { duration: '1m' } }, { analysis: { name: 'error-rate' } }, { setWeight: 100 }] } }).toSpec()

// Field names of the specs, so that generated objects look like the ones they replace.
const KEYS = [...new Set([TENANT, RELEASE, CANARY].flatMap((s) => JSON.stringify(s).split('"').filter((_, i) => i % 2 === 1)).filter((k) => /^[A-Za-z]\w*$/.test(k)))].sort()

const scalar = fc.oneof(
  fc.constantFrom(null, undefined, NaN, Infinity, -Infinity, 2 ** 53 + 2, -0, 1.5),
  fc.boolean(),
  fc.integer(),
  fc.double(),
  fc.string({ maxLength: 12 }),
  fc.constantFrom('2Gi', '2g', '500m', '1.5', '-1', '25%', '0', 'acme', 'web', 'admin', 'canary', 'blueGreen', '10m')
)
const { value } = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', maxDepth: 4 },
    scalar,
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.oneof(fc.constantFrom(...KEYS), fc.string({ maxLength: 6 })), tie('value'), { maxKeys: 4, noNullPrototype: true })
  ),
}))

/** Every place in a spec that holds an object or a list: the paths of its members and items. */
function containers(s, at = []) {
  if (s === null || typeof s !== 'object') return []
  return [at, ...Object.entries(s).flatMap(([k, v]) => containers(v, [...at, Array.isArray(s) ? Number(k) : k]))]
}

/** The part of a spec at a path; undefined when an earlier change replaced what led there. */
function partAt(s, at) {
  for (const step of at) {
    if (s === null || typeof s !== 'object') return undefined
    s = s[step]
  }
  return s
}

/** Up to three changes of a spec: at one of its containers, the container replaced (key null), or
 * its member of that key set, or one of its items replaced, by a generated value. */
const changesOf = (base) => fc.array(fc.tuple(fc.constantFrom(...containers(base)), fc.option(fc.oneof(fc.constantFrom(...KEYS), fc.string({ maxLength: 6 }))), value), { minLength: 1, maxLength: 3 })

/** The spec with the changes made, and the places changed. */
function changed(base, changes) {
  let s = structuredClone(base)
  const made = []
  for (let [at, key, v] of changes) {
    let parent
    if (key === null) {
      if (at.length === 0) {
        s = v
        made.push([])
        continue
      }
      ;[parent, key, at] = [partAt(s, at.slice(0, -1)), at.at(-1), at.slice(0, -1)]
    } else {
      parent = partAt(s, at)
    }
    if (Array.isArray(parent) && parent.length > 0) {
      const index = (typeof key === 'number' ? key : key.length) % parent.length
      parent[index] = v
      made.push([...at, index])
    } else if (parent !== null && typeof parent === 'object' && typeof key === 'string' && key !== '__proto__') {
      parent[key] = v
      made.push([...at, key])
    }
  }
  return [s, made]
}

/** What reading a spec gives: ['ok', its spec form] or [the error code, its paths], after checking
 * that a refusal is the core's, naming fields of the spec under `root`. */
function outcome(read, s, root) {
  const under = (path) => path === root || path.startsWith(root + '.') || path.startsWith(root + '[')
  try {
    return ['ok', read(s).toSpec()]
  } catch (e) {
    if (s === null || typeof s !== 'object') {
      // Not an object at all: an argument of the wrong type, as in any JavaScript API.
      if (e instanceof TypeError || e.code === 'InvalidArg') return ['TypeError', []]
    }
    assert.ok(e instanceof moorage.MoorageError, `not the core's error: ${e?.stack ?? e}`)
    if (e.code === 'SPEC') {
      assert.ok(under(e.path) && e.detail, `${e.path}: ${e.detail}`)
      return ['SPEC', [e.path]]
    }
    assert.equal(e.code, 'VALIDATION', e.message)
    assert.ok(e.errors.length > 0 && e.errors.every((x) => under(x.path) && x.message), JSON.stringify(e.errors))
    return ['VALIDATION', e.errors.map((x) => x.path).sort()]
  }
}

/** The spec as JSON text (which YAML reads), or null when JSON cannot write it as the object is
 * read: `null` or `undefined` (absent for a program, null in a file), a number that is not finite.
 * Characters YAML does not allow in a document, or reads as line breaks, are escaped. */
function asText(s) {
  const plain = (v) => v !== null && v !== undefined && (typeof v === 'number' ? Number.isFinite(v) : typeof v !== 'object' || Object.values(v).every(plain))
  // `members` as a mapping of name to role is the bindings' form, not a spec file's.
  if (!plain(s) || (s.members !== null && typeof s.members === 'object' && !Array.isArray(s.members))) return null
  return JSON.stringify(s).replace(/[\u007f-\u009f\u2028\u2029\ufffe\uffff]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'))
}

const placePath = (root, at) => root + at.map((step) => (typeof step === 'number' ? `[${step}]` : `.${step}`)).join('')

/** The object and the text of one spec are read alike: the same spec, the same rules broken, or a
 * malformed spec both ways, each naming a place that was changed (or one that holds it). Which
 * malformed place is named first may differ (the object's members are met in sorted order). */
function agree(fromObject, fromText, made, root) {
  assert.equal(fromObject[0], fromText[0], JSON.stringify([fromObject, fromText]))
  // A number given for a text field is read as its text both ways (serde_json reads floats exactly,
  // `float_roundtrip`: 9.008142268714947e-107 was once read back as 9.008142268714948e-107).
  if (fromObject[0] === 'ok') return assert.deepEqual(fromObject[1], fromText[1])
  if (fromObject[0] !== 'SPEC') return assert.deepEqual(fromObject, fromText)
  const places = made.map((at) => placePath(root, at))
  for (const path of [...fromObject[1], ...fromText[1]]) {
    assert.ok(places.some((p) => path.startsWith(p) || p.startsWith(path)), `${path} is none of ${places}`)
  }
}

/** The changed spec read from an object is a value or the core's error at a field, and is read
 * as the same spec written as text is. */
function readAlike(base, changes, fromObject, fromText, root) {
  const [s, made] = changed(base, changes)
  const result = outcome(fromObject, s, root)
  const text = asText(s)
  if (text !== null) agree(result, outcome(fromText, text, root), made, root)
}

test('a changed tenant is a tenant or the core\'s error at a field', () => {
  const read = (changes) => readAlike(TENANT, changes, (x) => new Tenant(x), (x) => Tenant.fromYaml(x), 'tenant')
  fc.assert(fc.property(changesOf(TENANT), read), OPTIONS)
})

test('a changed release is a release or the core\'s error at a field', () => {
  const baseAndChanges = fc.constantFrom(RELEASE, CANARY).chain((base) => fc.tuple(fc.constant(base), changesOf(base)))
  const read = ([base, changes]) => readAlike(base, changes, (x) => new Release(x), (x) => Release.fromYaml(x), 'release')
  fc.assert(fc.property(baseAndChanges, read), OPTIONS)
})

test('canary steps and container defaults are read by the core', () => {
  fc.assert(
    fc.property(fc.array(value, { maxLength: 5 }), value, (steps, defaults) => {
      outcome((x) => new Canary(x), steps, 'strategy')
      outcome((x) => new Quota({ containerDefaults: x }), defaults, 'quota')
    }),
    OPTIONS
  )
})

test('the properties reach the core\'s readers', () => {
  // The generated values are not all refused at the root: the properties above see both sides.
  assert.equal(outcome((x) => new Tenant(x), changed(TENANT, [[['quota'], 'pods', 7]])[0], 'tenant')[0], 'ok')
  assert.deepEqual(outcome((x) => new Tenant(x), changed(TENANT, [[['quota'], 'pods', NaN]])[0], 'tenant'), ['SPEC', ['tenant.quota.pods']])
  assert.deepEqual(outcome((x) => new Canary(x), [{ setWeight: Infinity }], 'strategy'), ['SPEC', ['strategy.steps[0].setWeight']])
  assert.deepEqual(outcome((x) => new Canary(x), [[20]], 'strategy'), ['SPEC', ['strategy.steps[0]']])
  const defaults = { default: { cpu: NaN }, defaultRequest: {} }
  assert.deepEqual(outcome((x) => new Quota({ containerDefaults: x }), defaults, 'quota'), ['SPEC', ['quota.containerDefaults.default.cpu']])
})

test('options given wrongly are the core\'s SPEC errors, as in Python', () => {
  // The cases of tests/bad-input/options.json, which Python's test_convert.py runs too: each
  // constructor option is read by the core as the same field of a spec file, so both bindings give
  // the same path and message.
  const { cases } = JSON.parse(fs.readFileSync(path.join(SPECS, '..', '..', 'tests', 'bad-input', 'options.json'), 'utf8'))
  assert.ok(cases.length >= 10)
  for (const c of cases) {
    const make = () => (c.steps ? new moorage[c.class](c.steps, c.options) : new moorage[c.class](c.options))
    let error = null
    try {
      make()
    } catch (e) {
      error = e
    }
    assert.ok(error, `${JSON.stringify(c)} was accepted`)
    assert.deepEqual([error.code, error.path, error.detail], ['SPEC', c.path, c.message], JSON.stringify(c))
  }
})

test('an options object with a key it does not have is refused, naming the ones index.d.ts declares', () => {
  // napi-rs's conversion alone skips a key it does not know: `{too: 3}` would have rolled back to
  // the default revision, `{storageClass: [...]}` applied without the allow list.
  const declared = {}
  const dts = fs.readFileSync(path.join(SPECS, '..', '..', 'bindings-node', 'index.d.ts'), 'utf8')
  for (const [, name, body] of dts.matchAll(/^export interface (\w+) \{\n([\s\S]*?)\n\}/gm)) {
    declared[name] = [...body.matchAll(/^ {2}(\w+)\??:/gm)].map((m) => m[1])
  }
  declared.UsagePeriodOptions = declared.UsagePeriod // the union type's members (types-header.d.ts)
  const { Cluster, Fleet, Prometheus } = moorage
  const cluster = Cluster.simulated()
  const tenant = new Tenant({ name: 'acme' })
  const release = new Release({ tenant, app: 'web', version: 'v1', image: 'nginx:1.27' })
  const fleet = new Fleet([{ name: 'onprem', cluster }])
  const bogus = { bogusOption: 1 }
  const calls = [
    () => Cluster.fromKubeconfig(bogus),
    () => Cluster.simulated(bogus),
    () => Cluster.manifests(fs.mkdtempSync(path.join(os.tmpdir(), 'moorage-bogus-'))).ciCredentials(tenant, bogus),
    () => cluster.scale(tenant, 'web', 1, bogus),
    () => fleet.applyTenant(tenant, bogus),
    () => fleet.startWaves('name: p\napp: web\nselector: {tenants: [acme]}\nrelease: {image: nginx:1.28}\nwaves: [{percent: 100}]\n', bogus),
    () => fleet.resumeWaves('p', bogus),
    () => moorage.compileMonitoring(tenant, [], bogus),
    () => new Quota(bogus),
    () => new moorage.BlueGreen(bogus),
    () => new moorage.Rolling(bogus),
    () => new Canary([{ setWeight: 100 }], bogus),
    ...['rollout', 'resume', 'promote', 'abort', 'retry'].map((m) => () => (m === 'rollout' ? cluster.rollout(tenant, release, bogus) : cluster[m](tenant, 'web', bogus))),
    () => cluster.rollback(tenant, 'web', bogus),
    () => cluster.applyTenant(tenant, bogus),
    () => cluster.deleteTenant(tenant, bogus),
    () => new Prometheus('http://127.0.0.1:1', bogus),
    () => new Prometheus('http://127.0.0.1:1').tenantUsage('acme', { last: '1h', ...bogus }),
    () => new Prometheus('http://127.0.0.1:1').fleetUsage(['acme'], { last: '1h', ...bogus }),
  ]
  const checked = new Set()
  for (const call of calls) {
    const e = thrown(call)
    assert.equal(e.code, 'InvalidArg', e.message)
    const [, name, expected] = e.message.match(/^(\w+): unknown option `bogusOption`, expected one of (.*)$/) ?? assert.fail(e.message)
    assert.deepEqual(expected.split(', ').map((k) => k.replaceAll('`', '')), declared[name], name)
    checked.add(name)
  }
  assert.equal(checked.size, 16, [...checked].join(' '))
  // A fleet's clusters too: a misspelt capacity was no limit at all.
  const header = fs.readFileSync(path.join(SPECS, '..', '..', 'bindings-node', 'types-header.d.ts'), 'utf8')
  const fleetCluster = [...header.match(/^export interface FleetClusterOptions \{\n([\s\S]*?)\n\}/m)[1].matchAll(/^ {2}(\w+)\??:/gm)].map((m) => m[1])
  const e = thrown(() => new Fleet([{ name: 'onprem', cluster, capacty: 5 }]))
  assert.equal(e.code, 'InvalidArg', e.message)
  assert.equal(e.message, `clusters[0]: unknown option \`capacty\`, expected one of ${fleetCluster.map((k) => `\`${k}\``).join(', ')}`)
  // The options that exist still work, undefined and null among them.
  assert.equal(new Quota({ pods: 3, limitsCpu: undefined }).pods, 3)
  assert.equal(new moorage.BlueGreen(null).toSpec().type, 'blueGreen')
})

test('call options given wrongly are the core\'s VALIDATION errors, as in Python', async () => {
  // The cases of tests/bad-input/call-options.json, which Python's test_convert.py runs too: the
  // core reads every timeout and usage period, so both bindings give the same path and message,
  // thrown at the call, before anything runs.
  const { timeouts, periods } = JSON.parse(fs.readFileSync(path.join(SPECS, '..', '..', 'tests', 'bad-input', 'call-options.json'), 'utf8'))
  const number = (v) => (['NaN', 'Infinity', '-Infinity'].includes(v) ? Number(v) : v)
  const cluster = Cluster.simulated()
  const t = new Tenant({ name: 'acme' })
  const r = new Release({ tenant: t, app: 'web', version: 'v1', image: 'nginx:1.27' })
  const calls = {
    applyTenant: (x) => cluster.applyTenant(t, { timeout: x }),
    rollout: (x) => cluster.rollout(t, r, { timeout: x }),
    Prometheus: (x) => new Prometheus('http://127.0.0.1:1', { timeout: x }),
  }
  assert.ok(timeouts.length >= 4)
  for (const c of timeouts) {
    for (const [name, call] of Object.entries(calls)) {
      const e = thrown(() => call(number(c.timeout)))
      assert.deepEqual([e.code, e.errors], ['VALIDATION', [{ path: 'timeout', message: c.message }]], `${name} ${JSON.stringify(c)}`)
    }
  }
  // Nothing listens on port 1: a period that got through would reject with PROMETHEUS_UNREACHABLE.
  const prometheus = new Prometheus('http://127.0.0.1:1', { attempts: 1 })
  assert.ok(periods.length >= 10)
  for (const c of periods) {
    const period = Object.fromEntries(Object.entries(c.period).map(([k, v]) => [k, number(v)]))
    for (const call of [() => prometheus.tenantUsage('acme', period), () => prometheus.fleetUsage(['acme'], period)]) {
      const e = thrown(call)
      assert.deepEqual([e.code, e.errors], ['VALIDATION', [{ path: c.path, message: c.message }]], JSON.stringify(c))
    }
  }
  // Infinity is no limit (the core's Duration::MAX), not an error.
  assert.ok((await cluster.applyTenant(t, { timeout: Infinity })).created > 0)
  assert.equal((await cluster.rollout(t, r, { timeout: Infinity })).phase, 'done')
})
