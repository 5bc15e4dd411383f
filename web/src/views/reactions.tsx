/**
 * Reactions under a message (one emoji per member; the node keeps the latest): a chip per emoji
 * with how many gave it, pressed when one of them is this member (pressing it takes it back,
 * pressing another chip moves this member's reaction there), and a small picker of quick
 * reactions among the message's actions. Works by keyboard: chips and picker are buttons, the
 * picker a <details> that Escape closes.
 */
import { useRef } from 'preact/hooks'
import { useT } from '../i18n.ts'
import type { MessageView } from '../types.ts'

/** Offered in the picker; the node takes any single emoji (core/src/reactions.ts). */
export const QUICK_REACTIONS = ['👍', '❤️', '😂', '😮', '😢', '🙏']

interface ChipsProps {
  message: MessageView
  me: string
  canWrite: boolean
  /** Name of a member id, for the chips' labels. */
  nameOf: (id: string) => string
  onReact: (emoji: string | null) => void
}

/** The reactions a message has, as chips; nothing when it has none. */
export function ReactionChips ({ message, me, canWrite, nameOf, onReact }: ChipsProps) {
  const t = useT()
  if (message.reactions === undefined || message.reactions.length === 0) return null
  return (
    <div class="reactions" role="group" aria-label={t('chat.reactions')}>
      {message.reactions.map((r) => {
        const mine = r.members.includes(me as never)
        const names = r.members.map(nameOf).join(', ')
        const label = mine ? t('chat.reactionMine', { emoji: r.emoji, names }) : t('chat.reactionBy', { emoji: r.emoji, names })
        return (
          <button type="button" class="reaction" data-testid="reaction" aria-pressed={mine} title={label} aria-label={label}
            disabled={!canWrite} onClick={() => onReact(mine ? null : r.emoji)}>
            <span aria-hidden="true">{r.emoji}</span> {r.members.length}
          </button>
        )
      })}
    </div>
  )
}

/** "React" among a message's actions: opens the quick reactions. */
export function ReactionPicker ({ onReact }: { onReact: (emoji: string) => void }) {
  const t = useT()
  const details = useRef<HTMLDetailsElement>(null)
  const close = () => { if (details.current) details.current.open = false }
  return (
    <details class="react-picker" ref={details} onKeyDown={(e) => { if (e.key === 'Escape') { close(); details.current?.querySelector('summary')?.focus() } }}>
      <summary class="link">{t('chat.react')}</summary>
      <div class="react-choices">
        {QUICK_REACTIONS.map((emoji) => (
          <button type="button" aria-label={t('chat.reactWith', { emoji })} title={t('chat.reactWith', { emoji })}
            onClick={() => { close(); onReact(emoji) }}>{emoji}</button>
        ))}
      </div>
    </details>
  )
}
