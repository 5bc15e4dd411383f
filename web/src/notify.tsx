/**
 * Desktop notifications through the browser's Notification API: off by default; the browser's
 * permission is asked only when the user turns them on (NotificationsPanel), never at load.
 * 'on' shows who wrote where, never the text (a lock screen or a shared screen shows it);
 * 'text' also shows the text, by the user's choice. Only for messages of others that arrive
 * while this tab is hidden or another conversation is open.
 */
import { useState } from 'preact/hooks'
import type { SolidarEvent } from './types.ts'
import { t, useT } from './i18n.ts'
import { go } from './route.ts'

export type NotifyChoice = 'off' | 'on' | 'text'
/** Ids of messages notified lately (a live message and its log copy notify once). */
const notified = new Set<string>()
const NOTIFIED_MEMORY = 1_000
const KEY = 'solidar.notify'

export function notifyChoice (): NotifyChoice {
  const v = localStorage.getItem(KEY)
  return v === 'on' || v === 'text' ? v : 'off'
}

/** Whether this browser can show notifications at all (not in every context: an insecure origin, some phones). */
export const canNotify = (): boolean => typeof Notification !== 'undefined'

/**
 * Shows a notification for a new message event if the user chose so and the browser allows it.
 * `open`: the group or DM peer shown right now (no notification for it while the tab is visible).
 */
export function notifyOf (event: SolidarEvent, me: string, open: string | null, groupName: (id: string) => string | undefined): void {
  if (event.type !== 'message' && event.type !== 'dm' && event.type !== 'message-live' && event.type !== 'dm-live') return
  const choice = notifyChoice()
  if (choice === 'off' || !canNotify() || Notification.permission !== 'granted') return
  const { message } = event
  // New messages of others only (an edit or a delete comes as the same event type).
  if (message.author === me || message.deleted === true || message.editedTs !== undefined) return
  // A message shown live was notified then: its log copy is not news.
  if (notified.has(message.id)) return
  const group = event.type === 'message' || event.type === 'message-live' ? event.group : null
  const where = group ?? (event as { peer: string }).peer
  if (open === where && document.visibilityState === 'visible') return
  notified.add(message.id)
  if (notified.size > NOTIFIED_MEMORY) notified.delete(notified.values().next().value!)
  const shown = new Notification(group !== null ? groupName(group) ?? t('chat.group') : message.authorName, {
    body: choice === 'text' ? `${message.authorName}: ${message.text.slice(0, 200)}` : t('notify.newMessage', { name: message.authorName }),
    tag: `solidar-${where}`
  })
  shown.onclick = () => { window.focus(); go(group !== null ? 'g' : 'dm', where); shown.close() }
}

/** The setting, with the permission asked for when the user turns notifications on. */
export function NotificationsPanel () {
  const t = useT()
  const [choice, setChoice] = useState<NotifyChoice>(notifyChoice())
  const [permission, setPermission] = useState<string>(canNotify() ? Notification.permission : 'unsupported')
  const pick = async (next: NotifyChoice): Promise<void> => {
    // Stored at once, not in an effect after the next render: a message arriving live a few
    // milliseconds after the click already follows the new choice.
    localStorage.setItem(KEY, next)
    setChoice(next)
    if (next !== 'off' && canNotify() && Notification.permission === 'default') setPermission(await Notification.requestPermission())
  }
  const option = (value: NotifyChoice, label: string) => (
    <label class="option"><input type="radio" name="notify" value={value} checked={choice === value} onChange={() => { void pick(value) }} /> <span>{label}</span></label>
  )
  return (
    <div class="panel">
      <h2>{t('notify.title')}</h2>
      {permission === 'unsupported'
        ? <p class="muted">{t('notify.unsupported')}</p>
        : (
          <fieldset>
            <legend>{t('notify.legend')}</legend>
            {option('off', t('notify.off'))}
            {option('on', t('notify.on'))}
            {option('text', t('notify.text'))}
          </fieldset>
          )}
      {choice !== 'off' && permission === 'denied' ? <p class="notice" role="status" data-testid="notify-denied">{t('notify.denied')}</p> : null}
    </div>
  )
}
