/**
 * A pad's history as a time slider (Etherpad's is the reference): one stop per version (a run
 * of edits by one member), the pad as it was after that version rendered read-only from the
 * node's HTML export (`…/export?format=html&at=SEQ`), and who wrote how much of today's text.
 */
import { useEffect, useRef, useState } from 'preact/hooks'
import { safeUrl } from '@solidar/core/safe-url'
import { api, onEvent } from '../api.ts'
import { formatTime, useT } from '../i18n.ts'
import type { PadHistory } from '../types.ts'
import { ErrorBox } from '../ui.tsx'

/** Elements and attributes an exported pad uses (core/src/pads/markdown.ts blocksToHtml). */
const ALLOWED = new Set(['H1', 'H2', 'H3', 'P', 'UL', 'OL', 'LI', 'STRONG', 'EM', 'CODE', 'A', 'BR'])

/** Copies an exported HTML document's body into safe DOM nodes: known elements, text, http(s)/mailto links. */
export function safeFragment (html: string): DocumentFragment {
  const source = new DOMParser().parseFromString(html, 'text/html').body
  const out = document.createDocumentFragment()
  const copy = (from: Node, to: Node): void => {
    for (const child of Array.from(from.childNodes)) {
      if (child.nodeType === Node.TEXT_NODE) {
        to.appendChild(document.createTextNode(child.textContent ?? ''))
      } else if (child instanceof Element) {
        if (!ALLOWED.has(child.tagName)) { copy(child, to); continue }
        const el = document.createElement(child.tagName.toLowerCase())
        if (child.tagName === 'A') {
          const href = safeUrl(child.getAttribute('href'))
          if (href !== null) el.setAttribute('href', href)
          el.setAttribute('rel', 'noopener noreferrer')
          el.setAttribute('target', '_blank')
        }
        copy(child, el)
        to.appendChild(el)
      }
    }
  }
  copy(source, out)
  return out
}

function VersionText ({ html, label }: { html: string, label: string }) {
  const [host, setHost] = useState<HTMLDivElement | null>(null)
  useEffect(() => {
    if (host === null) return
    host.replaceChildren(safeFragment(html))
  }, [host, html])
  return <div ref={setHost} class="version-text" role="document" aria-label={label} tabIndex={0} />
}

export function PadHistoryPanel ({ group, pad, onClose }: { group: string, pad: string, onClose: () => void }) {
  const t = useT()
  const [history, setHistory] = useState<PadHistory | null>(null)
  const [index, setIndex] = useState(0)
  /** The rendered version: its last update and its HTML (shown only while it is the selected one). */
  const [shown, setShown] = useState<{ seq: number, html: string } | null>(null)
  const [error, setError] = useState<unknown>(null)

  /** Bumped by every change of the pad's log: the history is read again. */
  const [changes, setChanges] = useState(0)
  /** How many versions the panel showed: a reader at the newest version follows new ones, one looking back stays. */
  const shownCount = useRef(0)

  useEffect(() => onEvent((e) => {
    // Live edits reach the editor before the log; the history is the log's, so it follows the log's events.
    if (e.type === 'pad' && e.group === group && e.pad === pad && e.live !== true) setChanges((n) => n + 1)
  }), [group, pad])

  useEffect(() => {
    let live = true
    api.padHistory(group, pad).then((h) => {
      if (!live) return
      setHistory(h)
      const newest = Math.max(0, h.versions.length - 1)
      const before = shownCount.current
      shownCount.current = h.versions.length
      setIndex((i) => before === 0 || i >= before - 1 ? newest : Math.min(i, newest))
    }, setError)
    return () => { live = false }
  }, [group, pad, changes])

  const versions = history?.versions ?? []
  const version = versions[index]
  useEffect(() => {
    if (version === undefined) return
    let live = true
    const seq = version.seq
    api.padExport(group, pad, 'html', seq).then((out) => { if (live) setShown({ seq, html: out.content }) }, (err) => { if (live) setError(err) })
    return () => { live = false }
  }, [group, pad, version?.seq])

  const total = history?.authors.reduce((n, a) => n + a.chars, 0) ?? 0
  const describe = (i: number): string => {
    const v = versions[i]
    return t('pads.versionOf', { n: i + 1, total: versions.length, name: v.authorName, when: formatTime(v.endTs), edits: v.updates })
  }
  return (
    <section class="panel history" aria-labelledby="pad-history-title">
      <h2 id="pad-history-title">{t('pads.timeslider')}</h2>
      <ErrorBox error={error} />
      {history === null
        ? <p role="status">{t('app.loading')}</p>
        : versions.length === 0
          ? <p class="muted">{t('pads.noHistory')}</p>
          : (
            <>
              <div class="slider">
                <button type="button" onClick={() => setIndex((i) => Math.max(0, i - 1))} disabled={index === 0} aria-label={t('pads.earlier')}>◀</button>
                <label class="grow"><span class="sr-only">{t('pads.sliderLabel')}</span>
                  <input type="range" min={1} max={versions.length} step={1} value={index + 1}
                    aria-valuetext={describe(index)}
                    onInput={(e) => setIndex(Number((e.currentTarget as HTMLInputElement).value) - 1)} /></label>
                <button type="button" onClick={() => setIndex((i) => Math.min(versions.length - 1, i + 1))} disabled={index === versions.length - 1} aria-label={t('pads.later')}>▶</button>
              </div>
              <p class="version-label" aria-live="polite">{describe(index)}</p>
              {shown !== null && shown.seq === version?.seq
                ? <VersionText html={shown.html} label={t('pads.versionText', { n: index + 1 })} />
                : <p role="status">{t('app.loading')}</p>}
            </>
            )}
      {history !== null && history.authors.length > 0
        ? (
          <>
            <h3>{t('pads.authorsTitle')}</h3>
            <ul class="authors">
              {history.authors.map((a) => (
                <li>{t('pads.authorChars', { name: a.name, chars: a.chars, percent: total > 0 ? Math.round((a.chars * 100) / total) : 0 })}</li>
              ))}
            </ul>
          </>
          )
        : null}
      <p><button type="button" onClick={onClose}>{t('pads.closeHistory')}</button></p>
    </section>
  )
}
