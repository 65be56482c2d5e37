// Generates spec-types.d.ts, the TypeScript types of the spec files, from the core's JSON Schemas
// (docs/schema/*.json, which core/tests/spec_files.rs keeps equal to the model): every field,
// type, enum, required key and description comes from the schema, so the declarations cannot
// drift from what the core reads. Every definition `X` becomes `XSpec` (the schema's root titles
// already end in `Spec`).
//
//   node scripts/spec-types.mjs           writes spec-types.d.ts
//   node scripts/spec-types.mjs --check   fails when spec-types.d.ts is not what it would write
//
// Only what schemars emits is supported (objects, arrays, maps, `$ref`, nullable `anyOf`/`type`,
// `oneOf` of constants); anything else stops the script instead of being typed vaguely.
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))
const SCHEMAS = ['tenant.schema.json', 'release.schema.json'].map((f) => path.join(here, '../../docs/schema', f))
const OUTPUT = path.join(here, '../spec-types.d.ts')

const typeName = (name) => (name.endsWith('Spec') ? name : `${name}Spec`)
const refName = (ref) => {
  const m = /^#\/\$defs\/(\w+)$/.exec(ref)
  if (!m) throw new Error(`unsupported $ref ${ref}`)
  return typeName(m[1])
}
const IDENT = /^[A-Za-z_$][\w$]*$/
const key = (k) => (IDENT.test(k) ? k : JSON.stringify(k))

/** A JSDoc comment of `lines`, indented. */
function doc(lines, indent) {
  const text = lines.filter((l) => l !== undefined && l !== '').join('\n\n').replaceAll('*/', '*\\/').split('\n')
  if (text.length === 0 || (text.length === 1 && text[0] === '')) return ''
  if (text.length === 1) return `${indent}/** ${text[0]} */\n`
  return `${indent}/**\n${text.map((l) => `${indent} *${l ? ` ${l}` : ''}`).join('\n')}\n${indent} */\n`
}

/** A description as TypeScript documentation: without Rust examples, rustdoc links as code. */
function prose(text) {
  return text
    ?.replace(/\n*```[\s\S]*?```\n*/g, '\n')
    .replace(/\[(`[^`\]]+`)\]/g, '$1')
    .trim()
}

function description(schema) {
  const lines = [prose(schema.description)]
  if (schema.default !== undefined) lines.push(`@default ${JSON.stringify(schema.default)}`)
  return lines
}

const KNOWN = new Set(['description', 'default', 'format', 'minimum', 'maximum', 'title', '$schema', '$defs'])

/** The TypeScript type of a schema, at `indent` (for the members of inline objects). */
function tsType(schema, indent) {
  for (const k of Object.keys(schema)) {
    if (!KNOWN.has(k) && !['type', 'properties', 'required', 'additionalProperties', 'items', '$ref', 'anyOf', 'oneOf', 'const'].includes(k)) {
      throw new Error(`unsupported schema keyword ${k} in ${JSON.stringify(schema).slice(0, 200)}`)
    }
  }
  if (schema.$ref) return refName(schema.$ref)
  if (schema.const !== undefined) return JSON.stringify(schema.const)
  if (schema.anyOf) return union(schema.anyOf.map((s) => tsType(s, indent)))
  if (schema.oneOf) return union(schema.oneOf.map((s) => tsType(s, indent)))
  if (Array.isArray(schema.type)) return union(schema.type.map((t) => tsType({ ...schema, type: t }, indent)))
  switch (schema.type) {
    case 'null':
      return 'null'
    case 'string':
      return 'string'
    case 'integer':
    case 'number':
      return 'number'
    case 'boolean':
      return 'boolean'
    case 'array': {
      const item = tsType(schema.items, indent)
      return /^[\w.]+$/.test(item) ? `${item}[]` : `Array<${item}>`
    }
    case 'object':
      if (schema.properties) return `{\n${members(schema, `${indent}  `)}${indent}}`
      if (schema.additionalProperties && typeof schema.additionalProperties === 'object') {
        return `Record<string, ${tsType(schema.additionalProperties, indent)}>`
      }
      throw new Error(`unsupported object schema ${JSON.stringify(schema).slice(0, 200)}`)
    default:
      throw new Error(`unsupported type ${JSON.stringify(schema.type)}`)
  }
}

function union(types) {
  return [...new Set(types)].join(' | ')
}

/** The members of an object schema, one per property, with their descriptions. */
function members(schema, indent) {
  if (schema.additionalProperties !== false) throw new Error('spec objects reject unknown keys (additionalProperties: false)')
  const required = new Set(schema.required ?? [])
  return Object.entries(schema.properties)
    .map(([name, prop]) => `${doc(description(prop), indent)}${indent}${key(name)}${required.has(name) ? '' : '?'}: ${tsType(prop, indent)}\n`)
    .join('')
}

/** One exported declaration: an interface for an object, a type for anything else. */
function declaration(name, schema) {
  const head = doc(description(schema), '')
  if (schema.type === 'object' && schema.properties) return `${head}export interface ${name} {\n${members(schema, '  ')}}\n`
  if (schema.oneOf && schema.oneOf.every((s) => s.const !== undefined)) {
    // An enum: its values, each with its description.
    const values = schema.oneOf.map((s) => `${doc([prose(s.description)], '  ')}  | ${JSON.stringify(s.const)}`).join('\n')
    return `${head}export type ${name} =\n${values}\n`
  }
  return `${head}export type ${name} = ${tsType(schema, '')}\n`
}

function generate() {
  const decls = new Map()
  const add = (name, schema, from) => {
    const previous = decls.get(name)
    if (previous && JSON.stringify(previous.schema) !== JSON.stringify(schema)) {
      throw new Error(`${name} differs between ${previous.from} and ${from}`)
    }
    decls.set(name, { schema, from })
  }
  for (const file of SCHEMAS) {
    const schema = JSON.parse(fs.readFileSync(file, 'utf8'))
    const { $defs = {}, title } = schema
    add(typeName(title), schema, path.basename(file))
    for (const [name, def] of Object.entries($defs)) add(typeName(name), def, path.basename(file))
  }
  const body = [...decls.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([name, { schema }]) => declaration(name, schema))
  return [
    '// The types of the spec files (the keys of tenant and release YAML files), generated from the',
    "// core's JSON Schemas (docs/schema/*.json) by scripts/spec-types.mjs: do not edit by hand.",
    '// bindings-node/test.sh checks that this file is what the script writes.',
    '/* eslint-disable */',
    '',
    body.join('\n'),
  ].join('\n')
}

const text = generate()
if (process.argv.includes('--check')) {
  const committed = fs.existsSync(OUTPUT) ? fs.readFileSync(OUTPUT, 'utf8') : ''
  if (committed !== text) {
    console.error(`${path.relative(process.cwd(), OUTPUT)} is out of date with docs/schema/: run \`node bindings-node/scripts/spec-types.mjs\` and commit it`)
    process.exit(1)
  }
  console.log(`${path.relative(process.cwd(), OUTPUT)} matches docs/schema/`)
} else {
  fs.writeFileSync(OUTPUT, text)
  console.log(`wrote ${path.relative(process.cwd(), OUTPUT)}`)
}
