/** The app shell: header (language, network), navigation (groups with unread counts, DMs), the routed view. */
import { notifyOf } from './notify.tsx'
import { useCallback, useEffect, useMemo, useState, useRef } from 'preact/hooks'
import { ApiError, api, connectEvents, onConnection, onEvent } from './api.ts'
import { LANGUAGES, currentLanguage, setLanguage, useT } from './i18n.ts'
import type { Language } from './i18n.ts'
import { go, href, useRoute } from './route.ts'
import type { Route } from './route.ts'
import type { GroupSummary, WhoAmI } from './types.ts'
import { ErrorBox } from './ui.tsx'
import { Onboarding, ONBOARDED_KEY } from './views/onboarding.tsx'
import { Chat } from './views/chat.tsx'
import { Members } from './views/members.tsx'
import { Invite, JoinGroup, NewGroup } from './views/groups.tsx'
import { PadList, PadView } from './views/pads.tsx'
import { Network } from './views/network.tsx'
import { MeetingPage } from './views/meeting.tsx'
import { RepairView } from './views/repair.tsx'

/** How long a burst of new messages is gathered before the unread counts are asked for again. */
const UNREAD_RELOAD_MS = 250
const DMS_KEY = 'solidar.dms'

function loadJson<T> (key: string, fallback: T): T {
  try { return JSON.parse(localStorage.getItem(key) ?? '') as T } catch { return fallback }
}

export interface AppContext {
  me: WhoAmI
  groups: GroupSummary[]
  reloadGroups: () => Promise<void>
  reloadMe: () => Promise<void>
  /** Remembers a DM peer for the navigation; a null name keeps the one known (or a short id). */
  addDm: (member: string, name: string | null) => void
  /** A DM peer's name as known here; null while only a short id is. */
  dmName: (member: string) => string | null
}

/**
 * Unread messages per group and per direct conversation as the node counts them (`unread` in
 * GET /api/groups and GET /api/dms, from this device's read markers); the open chat counts
 * none. No history is fetched for this. The node's conversations join the navigation.
 */
function useUnread (me: WhoAmI | null, groups: GroupSummary[], route: Route, reloadGroups: () => Promise<void>, addDm: AppContext['addDm']) {
  const open = route.view === 'chat' ? route.group : route.view === 'dm' ? route.member : null
  const [dmCounts, setDmCounts] = useState<Record<string, number>>({})
  const reloadDms = useCallback(async () => {
    const list = await api.dms()
    for (const d of list) addDm(d.member, d.name === '' ? null : d.name)
    setDmCounts(Object.fromEntries(list.map((d) => [d.member, d.unread])))
  }, [])

  // A message from someone else changes a count: ask the node again, once for a burst.
  useEffect(() => {
    if (me === null) return
    const reload = { groups: reloadGroups, dms: reloadDms }
    const timers: Partial<Record<keyof typeof reload, ReturnType<typeof setTimeout>>> = {}
    const later = (what: keyof typeof reload): void => {
      if (timers[what] !== undefined) return
      timers[what] = setTimeout(() => {
        delete timers[what]
        void reload[what]().catch(() => { /* the counts shown stay; the next event or reconnect reloads them */ })
      }, UNREAD_RELOAD_MS)
    }
    void reloadDms().catch(() => { /* no counts for conversations until the next event or reconnect */ })
    const stopEvents = onEvent((e) => {
      if (e.type === 'message' && e.message.author !== me.id) later('groups')
      if (e.type === 'dm' && e.message.author !== me.id) later('dms')
    })
    const stopConn = onConnection((up) => { if (up) later('dms') })
    return () => { stopEvents(); stopConn(); for (const t of Object.values(timers)) clearTimeout(t) }
  }, [me])

  // A failed mark leaves the node's marker where it was: the chat marks again with its next message.
  const markRead = useCallback((group: string, id: string) => {
    api.markRead(group, id).then(() => reloadGroups(), () => {})
  }, [])
  const markDmRead = useCallback((member: string, id: string) => {
    api.markDmRead(member, id).then(() => reloadDms(), () => {})
  }, [])

  const unread = useMemo(() => {
    const out: Record<string, number> = {}
    for (const g of groups) out[g.id] = g.id === open ? 0 : (g.unread ?? 0)
    for (const [member, n] of Object.entries(dmCounts)) out[member] = member === open ? 0 : n
    return out
  }, [groups, dmCounts, open])
  return { unread, markRead, markDmRead }
}

export function App () {
  const t = useT()
  const route = useRoute()
  const [me, setMe] = useState<WhoAmI | null>(null)
  const [groups, setGroups] = useState<GroupSummary[]>([])
  // For the event listener set up once: who I am, the groups' names, what is open (notifications).
  const meRef = useRef<WhoAmI | null>(null)
  const groupsRef = useRef<GroupSummary[]>([])
  const openRef = useRef<string | null>(null)
  meRef.current = me
  groupsRef.current = groups
  openRef.current = route.view === 'chat' ? route.group : route.view === 'dm' ? route.member : null
  const [error, setError] = useState<unknown>(null)
  const [online, setOnline] = useState(true)
  const [dms, setDms] = useState<Record<string, string>>(() => loadJson(DMS_KEY, {}))
  const [menuOpen, setMenuOpen] = useState(false)
  const [repair, setRepair] = useState(false)
  // Set while the node is read-only on a full disk: where, and how many MB it needs free.
  const [readOnly, setReadOnly] = useState<{ path: string, needed: number } | null>(null)
  const loadStorage = useCallback(() => {
    api.status().then((s) => setReadOnly(s.storage !== undefined && !s.storage.writable ? s.storage : null), () => {}) // shown again at the next try
  }, [])

  const reloadGroups = useCallback(async () => { setGroups(await api.groups()) }, [])
  const reloadMe = useCallback(async () => { setMe(await api.whoami()) }, [])
  const addDm = useCallback((member: string, given: string | null) => {
    setDms((d) => {
      const name = given ?? d[member] ?? member.slice(0, 8)
      if (d[member] === name) return d
      const next = { ...d, [member]: name }
      localStorage.setItem(DMS_KEY, JSON.stringify(next))
      return next
    })
  }, [])

  useEffect(() => {
    (async () => {
      try {
        // whoami first: a node whose store waits for a repair answers only it (REPAIR_NEEDED).
        // A node that has just started (after a repair, at the same address) may still answer
        // 5xx or drop a request for a moment: try again for a while before showing the error.
        const { who, list } = await startingUp(async () => ({ who: await api.whoami(), list: await api.groups() }))
        setMe(who)
        setGroups(list)
        if (list.length === 0 && localStorage.getItem(ONBOARDED_KEY) === null && location.hash.replace(/^#\/?/, '') === '') go('onboarding')
        connectEvents()
        loadStorage()
      } catch (err) {
        if (err instanceof ApiError && err.code === 'REPAIR_NEEDED') setRepair(true)
        else setError(err)
      }
    })()
    const stopConn = onConnection((up) => { setOnline(up); if (up) { void reloadGroups().catch(() => { /* the next event or reconnect reloads; the banner shows the connection */ }); loadStorage() } })
    const stopEvents = onEvent((e) => {
      if (e.type === 'storage') loadStorage()
      if (e.type === 'group' || e.type === 'members') void reloadGroups().catch(() => { /* as above */ })
      if (e.type === 'identity') void Promise.all([reloadMe(), reloadGroups()]).catch(() => { /* as above */ })
      if (e.type === 'dm' || e.type === 'dm-live') addDm(e.peer, e.message.author === e.peer ? e.message.authorName : null)
      if (e.type === 'message' || e.type === 'dm' || e.type === 'message-live' || e.type === 'dm-live') notifyOf(e, meRef.current?.id ?? '', openRef.current, (id) => groupsRef.current.find((g) => g.id === id)?.name)
    })
    return () => { stopConn(); stopEvents() }
  }, [])

  useEffect(() => { setMenuOpen(false) }, [route])

  const { unread, markRead, markDmRead } = useUnread(me, groups, route, reloadGroups, addDm)
  const activeGroup = 'group' in route ? route.group : null
  // The total in the tab's title, as messengers do: "(3) Solidar".
  const total = Object.values(unread).reduce((a, b) => a + b, 0)
  useEffect(() => { document.title = total > 0 ? `(${total}) Solidar` : 'Solidar' }, [total])

  if (repair) return <RepairView />
  if (error !== null) {
    return <main class="center"><h1>Solidar</h1><ErrorBox error={error} /><p>{t('app.noToken')}</p></main>
  }
  if (me === null) return <main class="center"><p role="status">{t('app.loading')}</p></main>

  const dmName = (member: string): string | null => dms[member] !== undefined && dms[member] !== member.slice(0, 8) ? dms[member] : null
  const ctx: AppContext = { me, groups, reloadGroups, reloadMe, addDm, dmName }
  return (
    <div class="shell">
      <a class="skip" href="#main">{t('app.skip')}</a>
      <header class="top">
        <button type="button" class="menu-toggle" aria-expanded={menuOpen} aria-controls="nav" onClick={() => setMenuOpen(!menuOpen)}>{t('app.menu')}</button>
        <a class="brand" href="#/">Solidar</a>
        <span class={online ? 'conn up' : 'conn down'} role="status">{online ? t('app.connected') : t('app.disconnected')}</span>
        <label class="lang">
          <span class="sr-only">{t('app.language')}</span>
          <select value={currentLanguage()} onChange={(e) => { void setLanguage((e.currentTarget as HTMLSelectElement).value as Language) }}>
            {LANGUAGES.map((l) => <option value={l}>{l === 'de' ? 'Deutsch' : 'English'}</option>)}
          </select>
        </label>
      </header>
      <nav id="nav" class={menuOpen ? 'side open' : 'side'} aria-label={t('nav.label')}>
        <h2>{t('nav.groups')}</h2>
        {groups.length === 0 ? <p class="muted">{t('nav.noGroups')}</p> : null}
        <ul class="groups">
          {groups.map((g) => (
            <li>
              <a href={href('g', g.id)} aria-current={activeGroup === g.id ? 'page' : undefined}>
                <span class="gname">{g.name}</span>
                {(unread[g.id] ?? 0) > 0
                  ? <span class="badge" aria-label={t('nav.unread', { count: unread[g.id] })}>{unread[g.id]}</span>
                  : null}
              </a>
            </li>
          ))}
        </ul>
        {/* Not before the set-up is done: the onboarding comes first. */}
        {route.view !== 'onboarding' ? <p class="actions"><a class="button" href="#/new">{t('nav.newGroup')}</a> <a class="button" href="#/join">{t('nav.join')}</a></p> : null}
        {Object.keys(dms).length > 0 ? <h2>{t('nav.dms')}</h2> : null}
        <ul class="groups">
          {Object.entries(dms).map(([id, name]) => (
            <li>
              <a href={href('dm', id)} aria-current={route.view === 'dm' && route.member === id ? 'page' : undefined}>
                <span class="gname">{name}</span>
                {(unread[id] ?? 0) > 0
                  ? <span class="badge" aria-label={t('nav.unread', { count: unread[id] })}>{unread[id]}</span>
                  : null}
              </a>
            </li>
          ))}
        </ul>
        <p><a href="#/network">{t('nav.network')}</a></p>
        <p class="muted small">{t('nav.me', { name: me.name })}</p>
      </nav>
      <main id="main" tabIndex={-1}>
        {readOnly !== null
          ? <p class="notice" role="alert" data-testid="read-only">{t('app.readOnly', { path: readOnly.path, needed: String(Math.ceil(readOnly.needed / 1048576)) })}</p>
          : null}
        {renderView(route, ctx, markRead, markDmRead)}
      </main>
    </div>
  )
}

function renderView (route: Route, ctx: AppContext, markRead: (group: string, id: string) => void, markDmRead: (member: string, id: string) => void) {
  switch (route.view) {
    case 'onboarding': return <Onboarding ctx={ctx} />
    case 'new-group': return <NewGroup ctx={ctx} />
    case 'join': return <JoinGroup ctx={ctx} />
    case 'network': return <Network ctx={ctx} />
    case 'chat': return <Chat key={`${route.group}/${route.room}`} ctx={ctx} group={route.group} room={route.room} markRead={(id) => markRead(route.group, id)} />
    case 'dm': return <Chat key={`dm/${route.member}`} ctx={ctx} dm={route.member} markRead={(id) => markDmRead(route.member, id)} />
    case 'members': return <Members key={route.group} ctx={ctx} group={route.group} />
    case 'invite': return <Invite key={route.group} ctx={ctx} group={route.group} />
    case 'pads': return <PadList key={route.group} ctx={ctx} group={route.group} />
    case 'pad': return <PadView key={`${route.group}/${route.pad}`} ctx={ctx} group={route.group} pad={route.pad} />
    case 'meeting': return <MeetingPage key={route.group} ctx={ctx} group={route.group} />
    case 'home': return <Home ctx={ctx} />
  }
}

function Home ({ ctx }: { ctx: AppContext }) {
  const t = useT()
  return (
    <section>
      <h1>{t('home.title', { name: ctx.me.name })}</h1>
      {/* The groups themselves, as a messenger's start screen lists its chats (on a phone the
          navigation with them is behind the menu button). */}
      {ctx.groups.length === 0
        ? <p>{t('home.empty')}</p>
        : (
          <nav aria-labelledby="home-groups">
            <h2 id="home-groups">{t('home.pick')}</h2>
            <ul class="home-groups">
              {ctx.groups.map((g) => <li><a href={href('g', g.id)}>{g.name}</a></li>)}
            </ul>
          </nav>
          )}
      <p class="actions"><a class="button" href="#/new">{t('nav.newGroup')}</a> <a class="button" href="#/join">{t('nav.join')}</a> <a class="button" href="#/onboarding">{t('home.setup')}</a></p>
    </section>
  )
}

/** How long the app keeps asking a node that is still starting before it shows the error. */
const STARTUP_RETRY_MS = 20_000

/** Runs `load`, again every 500 ms while it fails with a server error or no answer, for at most STARTUP_RETRY_MS. */
async function startingUp<T> (load: () => Promise<T>): Promise<T> {
  const until = Date.now() + STARTUP_RETRY_MS
  for (;;) {
    try {
      return await load()
    } catch (err) {
      const transient = !(err instanceof ApiError) || err.status >= 500
      const repair = err instanceof ApiError && err.code === 'REPAIR_NEEDED'
      if (repair || !transient || Date.now() > until) throw err
      await new Promise((resolve) => setTimeout(resolve, 500))
    }
  }
}
