/**
 * Pads of a group (list with archived ones on request, create, import a file) and one pad:
 * the collaborative editor, rename, archive, export, history (time slider).
 */
import { useEffect, useState } from 'preact/hooks'
import { api, onEvent } from '../api.ts'
import type { AppContext } from '../app.tsx'
import { currentLanguage, formatTime, useT } from '../i18n.ts'
import { go, href } from '../route.ts'
import type { PadSummary } from '../types.ts'
import { GroupTabs } from './group-tabs.tsx'
import { ErrorBox, download, fileName } from '../ui.tsx'
import { PadEditor } from '../pad/editor.tsx'
import { PadSync } from '../pad/sync.ts'
import type { SyncState } from '../pad/sync.ts'
import { PadHistoryPanel } from './pad-history.tsx'

/** Longest file text a pad import takes (the API's limit for `content`). */
const MAX_IMPORT_CHARS = 900_000

/** Markdown for .md/.markdown files (or a Markdown MIME type), plain text otherwise. */
export function importFormat (file: { name: string, type: string }): 'md' | 'txt' {
  return /\.(md|markdown)$/i.test(file.name) || file.type === 'text/markdown' ? 'md' : 'txt'
}

/** A title from a file name: without the extension, at most 200 characters. */
const titleOf = (name: string): string => name.replace(/\.[^.]*$/, '').trim().slice(0, 200)

function ImportForm ({ group }: { group: string }) {
  const t = useT()
  const [file, setFile] = useState<File | null>(null)
  const [title, setTitle] = useState('')
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<unknown>(null)
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault()
    if (file === null) { setError(new Error(t('pads.importNoFile'))); return }
    setBusy(true)
    setError(null)
    try {
      const content = await file.text()
      if (content.length > MAX_IMPORT_CHARS) throw new Error(t('pads.importTooBig', { max: MAX_IMPORT_CHARS.toLocaleString() }))
      // As the node checks: NUL means binary, U+FFFD bytes that were not UTF-8 (e.g. Windows-1252 umlauts).
      if (/[\u0000\uFFFD]/.test(content)) throw new Error(t('pads.importBinary'))
      const pad = await api.importPad(group, title.trim() === '' ? titleOf(file.name) || file.name : title.trim(), content, importFormat(file))
      go('g', group, 'pads', pad.id)
    } catch (err) { setError(err) } finally { setBusy(false) }
  }
  return (
    <form class="stack" onSubmit={submit}>
      <h2>{t('pads.import')}</h2>
      <p class="muted small">{t('pads.importNote')}</p>
      <label>{t('pads.importFile')}
        <input type="file" accept=".md,.markdown,.txt,text/markdown,text/plain" required
          onChange={(e) => {
            const f = (e.currentTarget as HTMLInputElement).files?.[0] ?? null
            // A title taken from the previous file follows the new one; a typed title stays.
            if (f !== null && (title.trim() === '' || (file !== null && title === titleOf(file.name)))) setTitle(titleOf(f.name))
            setFile(f)
            setError(null)
          }} /></label>
      <label>{t('pads.importTitle')} <input maxLength={200} value={title} onInput={(e) => setTitle((e.currentTarget as HTMLInputElement).value)} /></label>
      <ErrorBox error={error} />
      <button type="submit" disabled={busy || file === null}>{t('pads.importButton')}</button>
    </form>
  )
}

export function PadList ({ ctx, group }: { ctx: AppContext, group: string }) {
  const t = useT()
  const [pads, setPads] = useState<PadSummary[] | null>(null)
  const [title, setTitle] = useState('')
  const [minutes, setMinutes] = useState(false)
  const [archived, setArchived] = useState(false)
  const [error, setError] = useState<unknown>(null)
  const info = ctx.groups.find((g) => g.id === group)
  const load = async (): Promise<void> => {
    try { setPads(await api.pads(group, archived)) } catch (err) { setError(err) }
  }
  useEffect(() => {
    void load()
    return onEvent((e) => { if (e.type === 'pad' && e.group === group && e.change !== 'updated') void load() })
  }, [group, archived])
  const create = async (e: Event): Promise<void> => {
    e.preventDefault()
    try {
      const pad = await api.createPad(group, title.trim(), minutes ? 'minutes' : undefined, currentLanguage())
      go('g', group, 'pads', pad.id)
    } catch (err) { setError(err) }
  }
  return (
    <section>
      <header class="view-head">
        <h1>{t('pads.title', { group: info?.name ?? '' })}</h1>
        <GroupTabs ctx={ctx} group={group} current="pads" />
      </header>
      <ErrorBox error={error} />
      <label class="check"><input type="checkbox" checked={archived} onChange={(e) => setArchived((e.currentTarget as HTMLInputElement).checked)} /> {t('pads.showArchived')}</label>
      {pads === null
        ? <p role="status">{t('app.loading')}</p>
        : (
          <ul class="pads" aria-label={t('pads.list')}>
            {pads.length === 0 ? <li class="muted">{t('pads.empty')}</li> : null}
            {pads.map((p) => (
              <li class={p.archived ? 'archived' : undefined}><a href={href('g', group, 'pads', p.id)}>{p.unreadable ? t('pads.unreadable') : p.title}</a>
                {p.archived ? <span class="tag">{t('pads.archivedTag')}</span> : null}
                <span class="muted small"> · {t('pads.changed', { when: formatTime(p.changedTs), by: p.createdByName, edits: p.updates })}</span></li>
            ))}
          </ul>
          )}
      {info?.role !== 'observer'
        ? (
          <form class="stack" onSubmit={create}>
            <h2>{t('pads.new')}</h2>
            <label>{t('pads.newTitle')} <input required maxLength={200} value={title} onInput={(e) => setTitle((e.currentTarget as HTMLInputElement).value)} /></label>
            <label class="check"><input type="checkbox" checked={minutes} onChange={(e) => setMinutes((e.currentTarget as HTMLInputElement).checked)} /> {t('pads.minutes')}</label>
            <button type="submit" disabled={title.trim() === ''}>{t('pads.create')}</button>
          </form>
          )
        : null}
      {info?.role !== 'observer' ? <ImportForm group={group} /> : null}
    </section>
  )
}

export function PadView ({ ctx, group, pad }: { ctx: AppContext, group: string, pad: string }) {
  const t = useT()
  const [summary, setSummary] = useState<PadSummary | null>(null)
  const [sync, setSync] = useState<PadSync | null>(null)
  const [state, setState] = useState<{ s: SyncState, detail?: string }>({ s: 'loading' })
  const [history, setHistory] = useState(false)
  const [renaming, setRenaming] = useState<string | null>(null)
  const [error, setError] = useState<unknown>(null)
  /** The node refused an edit for good: why, shown until the next one; the pad is loaded afresh. */
  const [refused, setRefused] = useState<string | null>(null)
  const [generation, setGeneration] = useState(0)
  const info = ctx.groups.find((g) => g.id === group)

  useEffect(() => {
    let live = true
    const s = new PadSync(group, pad, (st, detail) => {
      if (!live) return
      if (st === 'refused') {
        setRefused(detail ?? '')
        setSync(null)
        setGeneration((g) => g + 1)
        return
      }
      setState({ s: st, detail })
    }, ctx.me.id)
    api.pad(group, pad).then((p) => { if (live) setSummary(p) }, setError)
    s.start().then(() => { if (live) setSync(s) }, (err) => { if (live) setError(err) })
    const stop = onEvent((e) => {
      if (e.type === 'pad' && e.group === group && e.pad === pad && e.change !== 'updated') void api.pad(group, pad).then(setSummary, () => {})
    })
    return () => { live = false; stop(); void s.close() }
  }, [group, pad, generation])

  const exportAs = async (format: 'md' | 'txt' | 'html'): Promise<void> => {
    try {
      await sync?.flush()
      const out = await api.padExport(group, pad, format)
      const type = format === 'md' ? 'text/markdown' : format === 'html' ? 'text/html' : 'text/plain'
      download(fileName(out.title, format), out.content, `${type};charset=utf-8`)
    } catch (err) { setError(err) }
  }

  const rename = async (e: Event): Promise<void> => {
    e.preventDefault()
    if (renaming === null || renaming.trim() === '') return
    try {
      setSummary(await api.renamePad(group, pad, renaming.trim()))
      setRenaming(null)
      setError(null)
    } catch (err) { setError(err) }
  }
  const setArchived = async (archived: boolean): Promise<void> => {
    try {
      await sync?.flush()
      setSummary(await api.archivePad(group, pad, archived))
      setError(null)
    } catch (err) { setError(err) }
  }

  const observer = info?.role === 'observer'
  const readOnly = observer || summary?.archived === true
  return (
    <section class="pad">
      <header class="view-head">
        <h1>{summary?.title ?? t('app.loading')}</h1>
        <p><a href={href('g', group, 'pads')}>{t('pads.back')}</a></p>
      </header>
      {summary !== null && !observer
        ? renaming !== null
          ? (
            <form class="inline" onSubmit={rename}>
              <label>{t('pads.renameLabel')}
                <input required maxLength={200} value={renaming} autoFocus
                  onInput={(e) => setRenaming((e.currentTarget as HTMLInputElement).value)}
                  onKeyDown={(e) => { if (e.key === 'Escape') setRenaming(null) }} /></label>
              <button type="submit" disabled={renaming.trim() === ''}>{t('common.save')}</button>
              <button type="button" onClick={() => setRenaming(null)}>{t('common.cancel')}</button>
            </form>
            )
          : (
            <div class="actions" role="group" aria-label={t('pads.manage')}>
              <button type="button" onClick={() => setRenaming(summary.title)}>{t('pads.rename')}</button>
              {summary.archived
                ? <button type="button" onClick={() => { void setArchived(false) }}>{t('pads.unarchive')}</button>
                : <button type="button" onClick={() => { void setArchived(true) }}>{t('pads.archive')}</button>}
            </div>
            )
        : null}
      <p class="sync" role="status" data-state={state.s}>{t(`pads.state.${state.s}` as 'pads.state.saved')}{state.detail !== undefined && state.s === 'error' ? `: ${state.detail}` : ''}</p>
      {refused !== null ? <p class="notice" role="alert" data-testid="pad-refused">{t('pads.refused', { reason: refused })}</p> : null}
      {sync !== null && sync.hidden > 0 ? <p class="notice" role="status" data-testid="pad-hidden">{t('pads.hidden', { count: String(sync.hidden) })}</p> : null}
      {summary?.archived === true ? <p class="muted">{t('pads.archived')}</p> : null}
      <ErrorBox error={error} />
      {sync !== null ? <PadEditor sync={sync} me={ctx.me} readOnly={readOnly} label={t('pads.editorLabel', { title: summary?.title ?? '' })} /> : null}
      <div class="actions" role="group" aria-label={t('pads.export')}>
        <span>{t('pads.export')}:</span>
        <button type="button" onClick={() => { void exportAs('md') }}>Markdown</button>
        <button type="button" onClick={() => { void exportAs('txt') }}>{t('pads.text')}</button>
        <button type="button" onClick={() => { void exportAs('html') }}>HTML</button>
        <button type="button" aria-expanded={history} onClick={async () => { await sync?.flush().catch(() => { /* the history shows what the node has; the editor keeps unsent edits */ }); setHistory((h) => !h) }}>{t('pads.history')}</button>
      </div>
      {history ? <PadHistoryPanel group={group} pad={pad} onClose={() => setHistory(false)} /> : null}
    </section>
  )
}
