/**
 * Delivery marks on this device's own messages in a group chat: ✓ saved here, ✓✓ reached
 * another device, with "n/m" until every other device of the group has it (the node counts
 * them over direct connections: a lower bound, core/src/delivery.ts).
 */
import { useEffect, useState } from 'preact/hooks'
import { api } from '../api.ts'
import { useT } from '../i18n.ts'
import type { DeliveryState, MessageView } from '../types.ts'

/** Every other device of the group holds it (as far as the node can see). */
const everywhere = (s: DeliveryState | undefined): boolean => s !== undefined && s.of > 0 && s.devices >= s.of
const sameDelivery = (a: DeliveryState | undefined, b: DeliveryState): boolean => a !== undefined && a.reached === b.reached && a.devices === b.devices && a.of === b.of

/**
 * The delivery states of the newest 30 of `me`'s messages shown, asked every 3 s while one is
 * not on every other device yet (the node knows the messages it sent since it started; older
 * ones get no mark).
 */
export function useDelivery (group: string | undefined, messages: MessageView[] | null, me: string): Map<string, DeliveryState> {
  const [delivered, setDelivered] = useState<Map<string, DeliveryState>>(new Map())
  useEffect(() => {
    if (group === undefined || messages === null) return
    const mine = messages.filter((m) => m.author === me && !m.deleted).slice(-30).map((m) => m.id)
    const pending = mine.filter((id) => !everywhere(delivered.get(id)))
    if (pending.length === 0) return
    let live = true
    const ask = (): void => {
      api.delivery(group, pending).then((states) => {
        if (!live || states.length === 0) return
        // A new map only when something changed: the map is this effect's input.
        setDelivered((d) => states.every((s) => sameDelivery(d.get(s.id), s)) ? d : new Map([...d, ...states.map((s): [string, DeliveryState] => [s.id, s])]))
      }, () => { /* asked again in 3 s; the mark is a convenience */ })
    }
    ask()
    const timer = setInterval(ask, 3000)
    return () => { live = false; clearInterval(timer) }
  }, [group, messages, delivered])
  return delivered
}

/** ✓ saved here; ✓✓ reached another device, with "n/m" until all the group's devices have it. */
export function DeliveryMark ({ state }: { state: DeliveryState }) {
  const t = useT()
  const label = !state.reached
    ? t('chat.sent')
    : everywhere(state)
      ? state.of === 1 ? t('chat.reachedOne') : t('chat.reachedAll', { of: String(state.of) })
      : state.devices > 0
        ? t('chat.reachedSome', { devices: String(state.devices), of: String(state.of) })
        : t('chat.reached')
  return (
    <span class="delivery" data-testid="delivery" data-reached={String(state.reached)} data-devices={state.devices} data-of={state.of} title={label} aria-label={label}>
      {' '}{state.reached ? '✓✓' : '✓'}{state.reached && !everywhere(state) && state.of > 1 ? <small> {state.devices}/{state.of}</small> : null}
    </span>
  )
}
