/**
 * Every text the web app shows, in both languages: the same keys in German and English, the
 * same placeholders in both, no literal Markdown backticks, and every call of `t('key', vars)`
 * in the app's source passes each placeholder its text uses (a missing one is shown raw, as
 * `{{name}}` once was on the safety-number screen). Each key is rendered through i18next with
 * the names its call sites pass, in both languages, and the result must hold no `{{`.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { readdir, readFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import i18next from 'i18next'
import { en } from '../src/locales/en.ts'
import { de } from '../src/locales/de.ts'

const SRC = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'src')
const LOCALES: Record<string, Record<string, string>> = { en, de }

const placeholders = (text: string): string[] => [...text.matchAll(/\{\{\s*([\w.]+)\s*(?:,[^}]*)?\}\}/g)].map((m) => m[1]).sort()

interface Call { file: string, line: number, key: string | null, keyPattern: RegExp | null, vars: Set<string> | 'unknown' | 'none' }

async function sources (dir: string): Promise<string[]> {
  const out: string[] = []
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name)
    if (e.isDirectory()) { if (e.name !== 'locales') out.push(...await sources(p)) } else if (/\.tsx?$/.test(e.name)) out.push(p)
  }
  return out
}

/** The index just past the bracket that closes the one opened at `open` (strings and templates skipped). */
function closing (src: string, open: number): number {
  let depth = 0
  for (let i = open; i < src.length; i++) {
    const c = src[i]
    if (c === '\'' || c === '"' || c === '`') {
      for (i++; i < src.length && src[i] !== c; i++) if (src[i] === '\\') i++
      continue
    }
    if (c === '(' || c === '{' || c === '[') depth++
    else if (c === ')' || c === '}' || c === ']') { depth--; if (depth === 0) return i + 1 }
  }
  throw new Error(`unbalanced bracket at ${open}`)
}

/** The top-level property names of an object literal's source (`{ a: 1, b, ...c }`); 'unknown' with a spread. */
function objectKeys (literal: string): Set<string> | 'unknown' {
  const keys = new Set<string>()
  let depth = 0
  let token = ''
  for (let i = 0; i < literal.length; i++) {
    const c = literal[i]
    if (c === '\'' || c === '"' || c === '`') {
      for (i++; i < literal.length && literal[i] !== c; i++) if (literal[i] === '\\') i++
      continue
    }
    if (c === '{' || c === '(' || c === '[') { depth++; if (depth === 1) { token = ''; continue } }
    if (c === '}' || c === ')' || c === ']') { if (depth === 1 && token.trim() !== '') keys.add(token.trim()); depth--; token = ''; continue }
    if (depth !== 1) continue
    if (c === ':') { keys.add(token.trim()); token = ''; i = skipValue(literal, i + 1) - 1; continue }
    if (c === ',') { if (token.trim() !== '') keys.add(token.trim()); token = ''; continue }
    token += c
  }
  for (const k of keys) if (k.startsWith('...')) return 'unknown'
  return keys
}

/** From a property's value start, the index of the ',' or '}' that ends it at the object's level. */
function skipValue (src: string, from: number): number {
  for (let i = from; i < src.length; i++) {
    const c = src[i]
    if (c === '\'' || c === '"' || c === '`') { for (i++; i < src.length && src[i] !== c; i++) if (src[i] === '\\') i++; continue }
    if (c === '(' || c === '{' || c === '[') { i = closing(src, i) - 1; continue }
    if (c === ',' || c === '}') return i
  }
  return src.length
}

async function calls (): Promise<Call[]> {
  const out: Call[] = []
  for (const file of await sources(SRC)) {
    const src = await readFile(file, 'utf8')
    for (const m of src.matchAll(/(?<![\w.])t\(/g)) {
      const open = m.index + 1
      const end = closing(src, open)
      const args = src.slice(open + 1, end - 1).trim()
      const line = src.slice(0, m.index).split('\n').length
      const lit = /^(['"])((?:[^\\]|\\.)*?)\1/.exec(args)
      const tpl = /^`([^`]*)`/.exec(args)
      let key: string | null = null
      let keyPattern: RegExp | null = null
      let rest: string
      if (lit !== null) { key = lit[2]; rest = args.slice(lit[0].length) } else if (tpl !== null) {
        keyPattern = new RegExp('^' + tpl[1].split(/\$\{[^}]*\}/).map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('[\\w-]+') + '$')
        rest = args.slice(tpl[0].length)
      } else {
        // A computed key (a conditional of literal keys): each literal in it is a key.
        const keys = [...args.matchAll(/'([\w.-]+)'/g)].map((k) => k[1]).filter((k) => k in en)
        assert.ok(keys.length > 0, `${path.relative(SRC, file)}:${line}: t(${args.slice(0, 60)}) names no key this test can read`)
        for (const k of keys) out.push({ file, line, key: k, keyPattern: null, vars: 'none' })
        continue
      }
      rest = rest.replace(/^\s*as\s+('[^']*'|\w+)/, '').trim()
      let vars: Call['vars'] = 'none'
      if (rest.startsWith(',')) {
        const v = rest.slice(1).trim()
        vars = v.startsWith('{') ? objectKeys(v.slice(0, closing(v, 0))) : 'unknown'
      }
      out.push({ file, line, key, keyPattern, vars })
    }
  }
  return out
}

describe('web app texts (en, de)', () => {
  it('German and English have the same keys and the same placeholders, and no literal backticks', () => {
    assert.deepEqual(Object.keys(de).sort(), Object.keys(en).sort())
    for (const key of Object.keys(en)) {
      for (const [lang, texts] of Object.entries(LOCALES)) {
        assert.equal(typeof texts[key], 'string', `${lang} ${key}`)
        assert.ok(texts[key].trim() !== '', `${lang} ${key} is empty`)
        assert.doesNotMatch(texts[key], /`/, `${lang} ${key} shows a backtick: ${texts[key]}`)
      }
      assert.deepEqual(placeholders(LOCALES.de[key]), placeholders(LOCALES.en[key]), `placeholders of ${key}`)
    }
  })

  it('every t() call names keys that exist and passes every placeholder its text uses; rendered, no text keeps a {{…}}', async () => {
    const found = await calls()
    assert.ok(found.length > 300, `the scan found the app's calls (${found.length})`)
    await i18next.init({ lng: 'en', fallbackLng: false, keySeparator: false, nsSeparator: false, resources: { en: { translation: en }, de: { translation: de } }, interpolation: { escapeValue: false } })
    const problems: string[] = []
    const used = new Set<string>()
    for (const c of found) {
      const where = `${path.relative(SRC, c.file)}:${c.line}`
      // With `count`, i18next shows a plural form (`key_one`, `key_other`) where there is one.
      const counted = c.vars === 'unknown' || (c.vars !== 'none' && c.vars.has('count'))
      const forms = (k: string): string[] => {
        const plural = Object.keys(en).filter((f) => f === `${k}_one` || f === `${k}_other`)
        return counted && plural.length > 0 ? plural : k in en ? [k] : []
      }
      const keys = c.key !== null ? forms(c.key) : Object.keys(en).filter((k) => c.keyPattern!.test(k))
      if (keys.length === 0) { problems.push(`${where}: no text for ${c.key ?? String(c.keyPattern)}`); continue }
      for (const key of keys) {
        used.add(key)
        if (c.vars === 'unknown') continue
        const passed = c.vars === 'none' ? new Set<string>() : c.vars
        const missing = placeholders(en[key as keyof typeof en]).filter((p) => !passed.has(p.split('.')[0]))
        if (missing.length > 0) problems.push(`${where}: t('${key}') does not pass ${missing.join(', ')}`)
        const vars = Object.fromEntries([...passed].map((p) => [p, `<${p}>`]))
        for (const lng of ['en', 'de']) {
          const text = i18next.t(key, { ...vars, lng })
          if (/\{\{/.test(text)) problems.push(`${where}: ${lng} '${key}' renders as "${text}"`)
        }
      }
    }
    assert.deepEqual(problems, [])
    // A text no call uses is dead or called in a way this scan does not see: list them.
    const unused = Object.keys(en).filter((k) => !used.has(k))
    assert.deepEqual(unused, [], 'texts no t() call in web/src uses')
  })
})
