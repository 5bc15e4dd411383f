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

export interface MinutesInput {
  title: string
  /** Meeting date as YYYY-MM-DD (local date of the creating device). */
  date: string
  attendees: string[]
}

export function minutes ({ title, date, attendees }: MinutesInput): Block[] {
  return [
    { type: 'heading', level: 1, runs: [{ text: title, marks: {} }] },
    label('Date', date),
    label('Time', ''),
    label('Place', ''),
    label('Chair', ''),
    label('Minutes taken by', ''),
    h2('Attendees'),
    { type: 'bulletList', items: (attendees.length ? attendees : ['(names)']).map(item) },
    label('Excused', ''),
    h2('Agenda'),
    { type: 'orderedList', start: 1, items: [item('Approval of the agenda and of the last minutes'), item('Reports'), item('Any other business')] },
    h2('Decisions'),
    { type: 'orderedList', start: 1, items: [[
      { type: 'paragraph', runs: [{ text: 'Motion: ', marks: { bold: true } }, { text: '(wording of the motion)', marks: {} }] },
      { type: 'paragraph', runs: [{ text: 'Vote: ', marks: { bold: true } }, { text: 'yes 0, no 0, abstentions 0 — (carried / rejected)', marks: {} }] }
    ]] },
    h2('Tasks'),
    { type: 'bulletList', items: [item('(task) — who: (name) — due: (date)')] },
    label('Next meeting', '')
  ]
}

/** Local calendar date of `ts` as YYYY-MM-DD. */
export function isoDate (ts: number): string {
  const d = new Date(ts)
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`
}
