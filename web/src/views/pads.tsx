/** Pads of a group (list, create) and one pad: the collaborative editor, export, history. */
import { useEffect, useState } from 'preact/hooks'
import { api, onEvent } from '../api.ts'
import type { AppContext } from '../app.tsx'
import { formatTime, useT } from '../i18n.ts'
import { go, href } from '../route.ts'
import type { PadHistory, PadSummary } from '../types.ts'
import { GroupTabs } from './group-tabs.tsx'
import { ErrorBox, download, fileName } from '../ui.tsx'
import { PadEditor } from '../pad/editor.tsx'
import { PadSync } from '../pad/sync.ts'
import type { SyncState } from '../pad/sync.ts'

export function PadList ({ ctx, group }: { ctx: AppContext, group: string }) {
  const t = useT()
  const [pads, setPads] = useState<PadSummary[] | null>(null)
  const [title, setTitle] = useState('')
  const [minutes, setMinutes] = useState(false)
  const [error, setError] = useState<unknown>(null)
  const info = ctx.groups.find((g) => g.id === group)
  const load = async (): Promise<void> => {
    try { setPads(await api.pads(group)) } catch (err) { setError(err) }
  }
  useEffect(() => {
    void load()
    return onEvent((e) => { if (e.type === 'pad' && e.group === group && e.change !== 'updated') void load() })
  }, [group])
  const create = async (e: Event): Promise<void> => {
    e.preventDefault()
    try {
      const pad = await api.createPad(group, title.trim(), minutes ? 'minutes' : undefined)
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
      {pads === null
        ? <p role="status">{t('app.loading')}</p>
        : (
          <ul class="pads">
            {pads.length === 0 ? <li class="muted">{t('pads.empty')}</li> : null}
            {pads.map((p) => (
              <li><a href={href('g', group, 'pads', p.id)}>{p.unreadable ? t('pads.unreadable') : p.title}</a>
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
    </section>
  )
}

export function PadView ({ ctx, group, pad }: { ctx: AppContext, group: string, pad: string }) {
  const t = useT()
  const [summary, setSummary] = useState<PadSummary | null>(null)
  const [sync, setSync] = useState<PadSync | null>(null)
  const [state, setState] = useState<{ s: SyncState, detail?: string }>({ s: 'loading' })
  const [history, setHistory] = useState<PadHistory | null>(null)
  const [error, setError] = useState<unknown>(null)
  const info = ctx.groups.find((g) => g.id === group)

  useEffect(() => {
    let live = true
    const s = new PadSync(group, pad, (st, detail) => { if (live) setState({ s: st, detail }) })
    api.pad(group, pad).then((p) => { if (live) setSummary(p) }, setError)
    s.start().then(() => { if (live) setSync(s) }, (err) => { if (live) setError(err) })
    const stop = onEvent((e) => {
      if (e.type === 'pad' && e.group === group && e.pad === pad && e.change !== 'updated') void api.pad(group, pad).then(setSummary, () => {})
    })
    return () => { live = false; stop(); void s.close() }
  }, [group, pad])

  const exportAs = async (format: 'md' | 'txt' | 'html'): Promise<void> => {
    try {
      await sync?.flush()
      const out = await api.padExport(group, pad, format)
      const type = format === 'md' ? 'text/markdown' : format === 'html' ? 'text/html' : 'text/plain'
      download(fileName(out.title, format), out.content, `${type};charset=utf-8`)
    } catch (err) { setError(err) }
  }

  const readOnly = info?.role === 'observer' || summary?.archived === true
  return (
    <section class="pad">
      <header class="view-head">
        <h1>{summary?.title ?? t('app.loading')}</h1>
        <p><a href={href('g', group, 'pads')}>{t('pads.back')}</a></p>
      </header>
      <p class="sync" role="status" data-state={state.s}>{t(`pads.state.${state.s}` as 'pads.state.saved')}{state.detail !== undefined && state.s === 'error' ? `: ${state.detail}` : ''}</p>
      {summary?.archived === true ? <p class="muted">{t('pads.archived')}</p> : null}
      <ErrorBox error={error} />
      {sync !== null ? <PadEditor sync={sync} me={ctx.me} readOnly={readOnly} label={t('pads.editorLabel', { title: summary?.title ?? '' })} /> : null}
      <div class="actions" role="group" aria-label={t('pads.export')}>
        <span>{t('pads.export')}:</span>
        <button type="button" onClick={() => { void exportAs('md') }}>Markdown</button>
        <button type="button" onClick={() => { void exportAs('txt') }}>{t('pads.text')}</button>
        <button type="button" onClick={() => { void exportAs('html') }}>HTML</button>
        <button type="button" onClick={async () => { try { setHistory(await api.padHistory(group, pad)) } catch (err) { setError(err) } }}>{t('pads.history')}</button>
      </div>
      {history !== null
        ? (
          <div class="panel">
            <h2>{t('pads.history')}</h2>
            <ol>
              {history.versions.map((v) => <li>{t('pads.version', { name: v.authorName, when: formatTime(v.endTs), edits: v.updates })}</li>)}
            </ol>
            <p>{t('pads.authors', { list: history.authors.map((a) => `${a.name} (${a.chars})`).join(', ') })}</p>
          </div>
          )
        : null}
    </section>
  )
}
