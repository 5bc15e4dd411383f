/** Small shared pieces of the UI: errors, QR codes, copying, downloads. */
import { useEffect, useState } from 'preact/hooks'
import QRCode from 'qrcode'
import { ApiError } from './api.ts'
import i18next from 'i18next'
import { currentLanguage, t, useT, type TextKey } from './i18n.ts'

/**
 * What to show for an error. The node's coded errors: in English its own message (it names
 * the group, the limit, the date); in other languages the code's translated text (the node
 * speaks English only), with the node's words only where they are the point (BAD_REQUEST).
 * A node that does not answer reads the same in every language.
 */
export function errorText (err: unknown): string {
  if (err instanceof ApiError) {
    if (err.code === 'UNREACHABLE') return t('errors.UNREACHABLE')
    if (currentLanguage() !== 'en' && i18next.exists(`errors.${err.code}`)) return t(`errors.${err.code}` as TextKey, { detail: err.message })
    return err.message
  }
  if (err instanceof Error) return err.message
  return String(err)
}

export function ErrorBox ({ error }: { error: unknown }) {
  if (error === null || error === undefined) return null
  return <p class="error" role="alert">{errorText(error)}</p>
}

/** A QR code of `text` as an image (a data: URL; the CSP allows data: images only). */
export function Qr ({ text, label }: { text: string, label: string }) {
  const [src, setSrc] = useState<string | null>(null)
  useEffect(() => {
    let live = true
    QRCode.toDataURL(text, { errorCorrectionLevel: 'M', margin: 2, width: 240 }).then((url) => { if (live) setSrc(url) }, () => setSrc(null))
    return () => { live = false }
  }, [text])
  return src === null ? null : <img class="qr" src={src} alt={label} width={240} height={240} />
}

/** A read-only code with a copy button. */
export function CodeBox ({ code, label }: { code: string, label: string }) {
  const t = useT()
  const [copied, setCopied] = useState(false)
  const copy = async (): Promise<void> => {
    try { await navigator.clipboard.writeText(code); setCopied(true) } catch { setCopied(false) }
  }
  return (
    <div class="codebox">
      <label>
        <span>{label}</span>
        <textarea readOnly rows={3} value={code} onFocus={(e) => (e.currentTarget as HTMLTextAreaElement).select()} />
      </label>
      <button type="button" onClick={copy}>{copied ? t('common.copied') : t('common.copy')}</button>
    </div>
  )
}

/** Starts a download of `content` as a file. */
export function download (name: string, content: string, type: string): void {
  const url = URL.createObjectURL(new Blob([content], { type }))
  const a = document.createElement('a')
  a.href = url
  a.download = name
  document.body.append(a)
  a.click()
  a.remove()
  setTimeout(() => URL.revokeObjectURL(url), 10_000)
}

/** A safe file name from a title. */
export function fileName (title: string, ext: string): string {
  const base = title.normalize('NFKD').replace(/[^\p{L}\p{N} _.-]+/gu, '').trim().replace(/\s+/g, '-').slice(0, 80)
  return `${base === '' ? 'pad' : base}.${ext}`
}
