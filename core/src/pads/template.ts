/**
 * Pad templates. `minutes`: the minutes of a works-council meeting — date, attendees
 * (pre-filled with the group's current members), agenda, decisions with their vote
 * counts, and tasks — as blocks that become the pad's first update.
 */
import type { Block, Run } from './schema.ts'

export const TEMPLATES = ['minutes'] as const
export type TemplateName = typeof TEMPLATES[number]

const label = (name: string, value: string): Block => ({
  type: 'paragraph',
  runs: [{ text: `${name}: `, marks: { bold: true } }, ...(value ? [{ text: value, marks: {} }] : [])] as Run[]
})
const item = (text: string): Block[] => [{ type: 'paragraph', runs: [{ text, marks: {} }] }]
const h2 = (text: string): Block => ({ type: 'heading', level: 2, runs: [{ text, marks: {} }] })

export const TEMPLATE_LANGUAGES = ['en', 'de'] as const
export type TemplateLanguage = typeof TEMPLATE_LANGUAGES[number]

export interface MinutesInput {
  title: string
  /** Meeting date as YYYY-MM-DD (local date of the creating device). */
  date: string
  attendees: string[]
  /** The language of the headings and placeholders: the creator's (default en). */
  language?: TemplateLanguage
}

const WORDS: Record<TemplateLanguage, Record<string, string>> = {
  en: {
    date: 'Date', time: 'Time', place: 'Place', chair: 'Chair', taker: 'Minutes taken by', attendees: 'Attendees', names: '(names)',
    excused: 'Excused', agenda: 'Agenda', approval: 'Approval of the agenda and of the last minutes', reports: 'Reports', other: 'Any other business',
    decisions: 'Decisions', motion: 'Motion: ', wording: '(wording of the motion)', vote: 'Vote: ', count: 'yes 0, no 0, abstentions 0 — (carried / rejected)',
    tasks: 'Tasks', task: '(task) — who: (name) — due: (date)', next: 'Next meeting'
  },
  de: {
    date: 'Datum', time: 'Uhrzeit', place: 'Ort', chair: 'Sitzungsleitung', taker: 'Protokoll', attendees: 'Anwesend', names: '(Namen)',
    excused: 'Entschuldigt', agenda: 'Tagesordnung', approval: 'Genehmigung der Tagesordnung und des letzten Protokolls', reports: 'Berichte', other: 'Verschiedenes',
    decisions: 'Beschlüsse', motion: 'Antrag: ', wording: '(Wortlaut des Antrags)', vote: 'Abstimmung: ', count: 'ja 0, nein 0, Enthaltungen 0 — (angenommen / abgelehnt)',
    tasks: 'Aufgaben', task: '(Aufgabe) — wer: (Name) — bis: (Datum)', next: 'Nächste Sitzung'
  }
}

export function minutes ({ title, date, attendees, language = 'en' }: MinutesInput): Block[] {
  const w = WORDS[language]
  return [
    { type: 'heading', level: 1, runs: [{ text: title, marks: {} }] },
    label(w.date, date),
    label(w.time, ''),
    label(w.place, ''),
    label(w.chair, ''),
    label(w.taker, ''),
    h2(w.attendees),
    { type: 'bulletList', items: (attendees.length ? attendees : [w.names]).map(item) },
    label(w.excused, ''),
    h2(w.agenda),
    { type: 'orderedList', start: 1, items: [item(w.approval), item(w.reports), item(w.other)] },
    h2(w.decisions),
    { type: 'orderedList', start: 1, items: [[
      { type: 'paragraph', runs: [{ text: w.motion, marks: { bold: true } }, { text: w.wording, marks: {} }] },
      { type: 'paragraph', runs: [{ text: w.vote, marks: { bold: true } }, { text: w.count, marks: {} }] }
    ]] },
    h2(w.tasks),
    { type: 'bulletList', items: [item(w.task)] },
    label(w.next, '')
  ]
}

/** Local calendar date of `ts` as YYYY-MM-DD. */
export function isoDate (ts: number): string {
  const d = new Date(ts)
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`
}
