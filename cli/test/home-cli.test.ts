/**
 * The CLI and the home folder's modes: `solidar init` makes an existing 0755 folder private,
 * every file init and serve create is private, and a folder with unrelated files is left alone
 * with a warning. (The home functions themselves: node/test/home.test.ts.)
 */
import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { LongRunning, run } from './helpers/cli.ts'

const mode = (file: string): number => fs.statSync(file).mode & 0o777

describe('home folder (CLI)', () => {
  let root: string
  let oldUmask: number

  before(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'solidar-home-cli-test-'))
    // A permissive umask proves the modes are set explicitly, not inherited.
    oldUmask = process.umask(0)
  })
  after(() => {
    process.umask(oldUmask)
    fs.rmSync(root, { recursive: true, force: true })
  })

  it('the CLI: init in an existing 0755 folder makes it 0700; every file it and serve create is private', async () => {
    const home = path.join(root, 'cli-home')
    fs.mkdirSync(home, { mode: 0o755 })
    const init = await run(['--home', home, 'init', '--name', 'Mode'])
    assert.equal(init.code, 0, init.stderr)
    assert.equal(mode(home), 0o700)
    assert.equal(init.stderr, '')
    const tree: string[] = []
    const walk = (dir: string): void => {
      for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        const full = path.join(dir, entry.name)
        tree.push(full)
        if (entry.isDirectory()) walk(full)
      }
    }
    const serve = new LongRunning(['--home', home, 'serve', '--port', '0'])
    try {
      await serve.waitFor(/http:\/\/127\.0\.0\.1:\d+\/#token=/)
      walk(home)
      assert.ok(tree.some((f) => f.includes(`${path.sep}store${path.sep}`)), 'the store has files')
      for (const file of tree) {
        const m = mode(file)
        assert.equal(m & 0o077, 0, `${path.relative(home, file)} has mode ${m.toString(8)}`)
      }
    } finally {
      await serve.stop()
    }

    // And a folder with unrelated files: init warns on stderr and leaves the mode.
    const shared = path.join(root, 'cli-shared')
    fs.mkdirSync(shared, { mode: 0o755 })
    fs.writeFileSync(path.join(shared, 'notes.txt'), 'x')
    const warned = await run(['--home', shared, 'init', '--name', 'Mode'])
    assert.equal(warned.code, 0, warned.stderr)
    assert.equal(mode(shared), 0o755)
    assert.match(warned.stderr, /Warning: the home folder .* has mode 0755/)
  })
})
