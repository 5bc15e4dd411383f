/** Hash routes (#/g/GROUP/pads/PAD …): the token fragment is gone by the time these are used. */
import { useEffect, useState } from 'preact/hooks'

export type Route =
  | { view: 'home' }
  | { view: 'onboarding' }
  | { view: 'new-group' }
  | { view: 'join' }
  | { view: 'network' }
  | { view: 'chat', group: string, room: string }
  | { view: 'members', group: string }
  | { view: 'invite', group: string }
  | { view: 'pads', group: string }
  | { view: 'pad', group: string, pad: string }
  | { view: 'meeting', group: string }
  | { view: 'dm', member: string }

export function parseRoute (hash: string): Route {
  const parts = hash.replace(/^#\/?/, '').split('/').filter((p) => p !== '').map((p) => { try { return decodeURIComponent(p) } catch { return p } })
  const [a, b, c, d] = parts
  switch (a) {
    case 'onboarding': return { view: 'onboarding' }
    case 'new': return { view: 'new-group' }
    case 'join': return { view: 'join' }
    case 'network': return { view: 'network' }
    case 'dm': if (b !== undefined) return { view: 'dm', member: b }; break
    case 'g':
      if (b === undefined) break
      if (c === 'members') return { view: 'members', group: b }
      if (c === 'invite') return { view: 'invite', group: b }
      if (c === 'pads' && d !== undefined) return { view: 'pad', group: b, pad: d }
      if (c === 'pads') return { view: 'pads', group: b }
      if (c === 'meeting') return { view: 'meeting', group: b }
      if (c === 'r' && d !== undefined) return { view: 'chat', group: b, room: d }
      return { view: 'chat', group: b, room: 'general' }
  }
  return { view: 'home' }
}

export function href (...parts: string[]): string {
  return '#/' + parts.map(encodeURIComponent).join('/')
}

export function go (...parts: string[]): void {
  location.hash = href(...parts)
}

export function useRoute (): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash))
  useEffect(() => {
    const on = (): void => setRoute(parseRoute(location.hash))
    window.addEventListener('hashchange', on)
    return () => window.removeEventListener('hashchange', on)
  }, [])
  return route
}
