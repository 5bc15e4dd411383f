/**
 * Who of a group is online right now: the members whose devices this node is connected to
 * (the group's presence channel, core/src/pads/presence.ts; nothing is stored). Asked again
 * every 10 s and when the node's connection comes back.
 */
import { useEffect, useState } from 'preact/hooks'
import { api, onConnection } from './api.ts'

const POLL_MS = 10_000

export interface Online { member: string, name: string, self: boolean }

/** The members of `group` online now (this device's own member included, as `self`); null until known. */
export function useOnline (group: string | undefined): Online[] | null {
  const [online, setOnline] = useState<Online[] | null>(null)
  useEffect(() => {
    setOnline(null)
    if (group === undefined) return
    let live = true
    const load = (): void => {
      api.present(group).then((list) => { if (live) setOnline(list) }, () => { /* shown again at the next poll; the header shows the connection */ })
    }
    load()
    const timer = setInterval(load, POLL_MS)
    const stop = onConnection((up) => { if (up) load() })
    return () => { live = false; clearInterval(timer); stop() }
  }, [group])
  return online
}
