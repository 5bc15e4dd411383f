/**
 * German and English with i18next. The language comes from the browser (navigator.languages)
 * unless the user picked one (localStorage); `useT()` re-renders a component on a switch.
 */
import i18next from 'i18next'
import { useEffect, useState } from 'preact/hooks'
import { en } from './locales/en.ts'
import { de } from './locales/de.ts'

export const LANGUAGES = ['en', 'de'] as const
export type Language = typeof LANGUAGES[number]
const KEY = 'solidar.language'

function initialLanguage (): Language {
  const saved = localStorage.getItem(KEY)
  if (saved === 'en' || saved === 'de') return saved
  for (const l of navigator.languages ?? [navigator.language]) {
    const base = l.toLowerCase().split('-')[0]
    if (base === 'de' || base === 'en') return base
  }
  return 'en'
}

export async function initI18n (): Promise<void> {
  await i18next.init({
    lng: initialLanguage(),
    fallbackLng: 'en',
    keySeparator: false, // flat keys such as 'chat.send'
    nsSeparator: false,
    resources: { en: { translation: en }, de: { translation: de } },
    interpolation: { escapeValue: false } // Preact escapes text itself
  })
  document.documentElement.lang = i18next.language
}

export async function setLanguage (lang: Language): Promise<void> {
  localStorage.setItem(KEY, lang)
  await i18next.changeLanguage(lang)
  document.documentElement.lang = lang
}

export const currentLanguage = (): Language => (i18next.language === 'de' ? 'de' : 'en')

/** A text's key; a plural's base key (`nav.unread` for `nav.unread_one`/`_other`) takes `count`. */
type Plural<K> = K extends `${infer Base}_one` ? Base : never
export type TextKey = keyof typeof en | Plural<keyof typeof en>
export type T = (key: TextKey, vars?: Record<string, unknown>) => string

export const t: T = (key, vars) => i18next.t(key, vars ?? {})

/** The translate function; the calling component re-renders when the language changes. */
export function useT (): T {
  const [, setLang] = useState(i18next.language)
  useEffect(() => {
    const onChange = (lng: string): void => setLang(lng)
    i18next.on('languageChanged', onChange)
    return () => i18next.off('languageChanged', onChange)
  }, [])
  return t
}

/** A message's time in the chat: "now", minutes ago within the hour, else the clock time (the day is in the separator above). */
export function messageTime (ts: number, now = Date.now()): string {
  const ago = now - ts
  if (ago >= 0 && ago < 60_000) return t('time.now')
  if (ago >= 0 && ago < 3_600_000) return new Intl.RelativeTimeFormat(currentLanguage(), { numeric: 'auto', style: 'short' }).format(-Math.floor(ago / 60_000), 'minute')
  return new Intl.DateTimeFormat(currentLanguage(), { hour: '2-digit', minute: '2-digit' }).format(new Date(ts))
}

/** The local day of `ts` as a key ("2026-12-07"), for grouping messages by day. */
export function dayKey (ts: number): string {
  const d = new Date(ts)
  return `${d.getFullYear()}-${d.getMonth() + 1}-${d.getDate()}`
}

/** A day separator's text: "Today", "Yesterday", else the weekday and date (with the year if not this one). */
export function dayLabel (ts: number, now = Date.now()): string {
  if (dayKey(ts) === dayKey(now)) return t('time.today')
  if (dayKey(ts) === dayKey(now - 86_400_000)) return t('time.yesterday')
  const sameYear = new Date(ts).getFullYear() === new Date(now).getFullYear()
  return new Intl.DateTimeFormat(currentLanguage(), { weekday: 'long', day: 'numeric', month: 'long', ...(sameYear ? {} : { year: 'numeric' }) }).format(new Date(ts))
}

export function formatTime (ts: number): string {
  const d = new Date(ts)
  const sameDay = new Date().toDateString() === d.toDateString()
  return new Intl.DateTimeFormat(currentLanguage(), sameDay ? { hour: '2-digit', minute: '2-digit' } : { dateStyle: 'short', timeStyle: 'short' }).format(d)
}
