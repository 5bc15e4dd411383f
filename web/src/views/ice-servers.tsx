/**
 * The meetings' STUN/TURN servers on the network page: a list of servers (address, and for
 * TURN a username and password), saved in the node's config.json (PUT /api/settings/ice-servers).
 * No restart: the web app reads them from /api/meetings/config whenever it joins a meeting.
 */
import { useRef, useState } from 'preact/hooks'
import { api } from '../api.ts'
import type { IceServer, NodeSettings } from '../api.ts'
import { useT } from '../i18n.ts'
import { ErrorBox } from '../ui.tsx'

interface Row { urls: string, username: string, credential: string }

const toRow = (s: IceServer): Row => ({ urls: s.urls, username: s.username ?? '', credential: s.credential ?? '' })
/** A STUN server takes no credentials; empty fields are left out (the node checks the rest). */
const toServer = (r: Row): IceServer => r.urls.trim().startsWith('stun:') || (r.username === '' && r.credential === '')
  ? { urls: r.urls.trim() }
  : { urls: r.urls.trim(), username: r.username, credential: r.credential }

export function IceServersForm ({ settings, onSaved }: { settings: NodeSettings, onSaved: (s: NodeSettings) => void }) {
  const t = useT()
  const [rows, setRows] = useState<Row[]>(settings.meetings.iceServers.map(toRow))
  const [error, setError] = useState<unknown>(null)
  const [saved, setSaved] = useState(false)
  const form = useRef<HTMLFormElement>(null)
  const edit = (i: number, field: keyof Row, value: string): void => {
    setSaved(false)
    setRows(rows.map((r, j) => j === i ? { ...r, [field]: value } : r))
  }
  /** After adding or removing a row, keyboard focus goes to the new address field, or to "Add". */
  const focusLater = (selector: string): void => { setTimeout(() => form.current?.querySelector<HTMLElement>(selector)?.focus(), 0) }
  const add = (): void => {
    setSaved(false)
    setRows([...rows, { urls: '', username: '', credential: '' }])
    focusLater(`[data-row="${rows.length}"] input`)
  }
  const remove = (i: number): void => {
    setSaved(false)
    setRows(rows.filter((_, j) => j !== i))
    focusLater('[data-add]')
  }
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault()
    try {
      const next = await api.setIceServers(rows.filter((r) => r.urls.trim() !== '').map(toServer))
      setRows(next.meetings.iceServers.map(toRow))
      onSaved(next)
      setError(null)
      setSaved(true)
    } catch (err) {
      setSaved(false)
      setError(err)
    }
  }
  return (
    <form class="stack" onSubmit={submit} ref={form}>
      <fieldset>
        <legend>{t('ice.legend')}</legend>
        <p class="note">{t('ice.note')}</p>
        {rows.length === 0 ? <p class="muted">{t('ice.none')}</p> : null}
        {rows.map((r, i) => (
          <fieldset class="ice-server" data-row={i}>
            <legend>{t('ice.server', { n: String(i + 1) })}</legend>
            <label>{t('ice.url')}
              <input value={r.urls} required spellcheck={false} autocomplete="off" placeholder="turn:turn.example.org:3478"
                onInput={(e) => edit(i, 'urls', (e.currentTarget as HTMLInputElement).value)} /></label>
            <label>{t('ice.username')}
              <input value={r.username} autocomplete="off" onInput={(e) => edit(i, 'username', (e.currentTarget as HTMLInputElement).value)} /></label>
            <label>{t('ice.password')}
              <input type="password" value={r.credential} autocomplete="new-password" onInput={(e) => edit(i, 'credential', (e.currentTarget as HTMLInputElement).value)} /></label>
            <button type="button" onClick={() => remove(i)}>{t('ice.remove', { n: String(i + 1) })}</button>
          </fieldset>
        ))}
        <button type="button" data-add onClick={add}>{t('ice.add')}</button>
      </fieldset>
      <ErrorBox error={error} />
      {saved ? <p class="notice" role="status">{t('ice.saved')}</p> : null}
      <button type="submit">{t('ice.save')}</button>
    </form>
  )
}
