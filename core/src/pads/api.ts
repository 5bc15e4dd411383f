/**
 * What a node offers about pads (`SolidarApi.pads`). Group references are ids or
 * unambiguous names; a pad reference is a pad id or an unambiguous title in that group.
 * Every method throws `SolidarError` with a code on bad input (PAD_NOT_FOUND, PAD_AMBIGUOUS,
 * NOT_PERMITTED for observers and removed members, BAD_REQUEST).
 */
import type { GroupId, PadExport, PadFormat, PadHistory, PadPresence, PadSummary, PresentMember } from '../types.ts'
import type { TemplateLanguage, TemplateName } from './template.ts'

export interface PadCreateOptions {
  template?: TemplateName
  /** The template's language (its headings and placeholders): the creator's; default en. */
  language?: TemplateLanguage
  /** Initial content (import): Markdown or plain text. */
  content?: string
  format?: 'md' | 'txt'
}

export interface PadApi {
  create (group: string, title: string, opts?: PadCreateOptions): Promise<PadSummary>
  /** Pads of a group, newest change first; archived ones only with `archived: true`. */
  list (group: string, opts?: { archived?: boolean }): Promise<PadSummary[]>
  get (group: string, pad: string): Promise<PadSummary>
  /** The document as Markdown, plain text or HTML; `at`: as it was after its first `at` updates. */
  export (group: string, pad: string, opts?: { format?: PadFormat, at?: number }): Promise<PadExport>
  /** Appends a paragraph per line of `text` (or, `inline`, text at the end of the last paragraph), as an edit. */
  append (group: string, pad: string, text: string, opts?: { inline?: boolean }): Promise<PadSummary>
  rename (group: string, pad: string, title: string): Promise<PadSummary>
  archive (group: string, pad: string, archived: boolean): Promise<PadSummary>
  /** Versions (sessions of one author) and who wrote the text that is there now. */
  history (group: string, pad: string): Promise<PadHistory>
  /** Applies a Yjs update made by a client (the web editor); appended with the next group commit. */
  applyUpdate (group: string, pad: string, update: Uint8Array): Promise<void>
  /** The whole document as one Yjs update, and how many log updates it holds. */
  /** The document as one Yjs update; with `since` (a state vector) only what that copy lacks. */
  state (group: string, pad: string, opts?: { since?: Uint8Array }): Promise<{ id: string, update: Uint8Array, updates: number }>
  /** Sets (or with null clears) this node's presence in a pad: sent sealed to connected members, never stored. */
  setPresence (group: string, pad: string, state: Record<string, unknown> | null): Promise<PadPresence>
  presence (group: string, pad: string): Promise<PadPresence>
  /** Members online in the group now: this node's and those directly connected (the minutes template's attendees). */
  present (group: string): Promise<PresentMember[]>
}

export type { GroupId }
