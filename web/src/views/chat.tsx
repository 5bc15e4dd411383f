/**
 * A chat: a group room (with room tabs) or a DM. Live through `message`/`dm` events
 * (upserts by id: new, edited, deleted); replies, edits and deletes of one's own messages.
 * Enter sends, Shift+Enter starts a new line. History comes a page at a time: the newest
 * PAGE_SIZE messages, then "Load earlier messages" fetches the page before the oldest shown.
 * The chat tells the node what was read (its newest message), which keeps the unread counts.
 */
import { useOnline } from '../presence.ts'
import { useEffect, useRef, useState } from 'preact/hooks'
import { PAGE_SIZE, api, onConnection, onEvent } from '../api.ts'
import type { AppContext } from '../app.tsx'
import { dayKey, dayLabel, formatTime, messageTime, useT } from '../i18n.ts'
import { go, href } from '../route.ts'
import type { MemberView, MessageView, RoomView } from '../types.ts'
import { ErrorBox } from '../ui.tsx'
import { prepend, upsert, withdraw } from '../message-list.ts'
import { GroupTabs } from './group-tabs.tsx'
import { CatchUpNote } from './catch-up.tsx'
import { ReactionChips, ReactionPicker } from './reactions.tsx'
import { DeliveryMark, useDelivery } from './delivery.tsx'

interface Props {
  ctx: AppContext
  group?: string
  room?: string
  dm?: string
  /** Tells the node the chat is read up to this message. */
  markRead?: (id: string) => void
}

type NameFlag = 'keyChanged' | 'lookAlike'

/** Authors whose names need a second look, by member id: a changed key under a verified (or look-alike) name, or a name that looks like another member's. */
async function nameFlags (groups: string[]): Promise<Map<string, NameFlag>> {
  const flags = new Map<string, NameFlag>()
  // A group whose member list cannot be read (just left, node busy) adds no marks; the chat's own load reports errors.
  const settled = await Promise.allSettled(groups.map((g) => api.members(g)))
  const lists: MemberView[][] = settled.map((r) => r.status === 'fulfilled' ? r.value : [])
  for (const m of lists.flat()) {
    if (m.keyChanged === true) flags.set(m.id, 'keyChanged')
    else if (m.lookAlike !== undefined && !flags.has(m.id)) flags.set(m.id, 'lookAlike')
  }
  return flags
}

export function Chat ({ ctx, group, room = 'general', dm, markRead }: Props) {
  const t = useT()
  const [messages, setMessages] = useState<MessageView[] | null>(null)
  const [rooms, setRooms] = useState<RoomView[]>([])
  const [error, setError] = useState<unknown>(null)
  /** The DM peer's name as the node knows it, for a conversation they have not written in yet. */
  const [peerName, setPeerName] = useState<string | null>(null)
  useEffect(() => {
    setPeerName(null)
    if (dm === undefined || ctx.dmName(dm) !== null) return
    let live = true
    api.verification(dm).then((v) => { if (live) { setPeerName(v.name); ctx.addDm(dm, v.name) } }, () => { /* the heading keeps the short id */ })
    return () => { live = false }
  }, [dm])
  /** The clock the relative times ("5 min ago") are shown against, moved on every 30 s. */
  const [now, setNow] = useState(Date.now())
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 30_000)
    return () => clearInterval(timer)
  }, [])
  const delivered = useDelivery(group, messages, ctx.me.id)
  /** Why the last send failed: shown at the composer, where the unsent text still is. */
  const [sendError, setSendError] = useState<unknown>(null)
  const [text, setText] = useState('')
  const [replyTo, setReplyTo] = useState<MessageView | null>(null)
  const [editing, setEditing] = useState<{ id: string, text: string } | null>(null)
  const [busy, setBusy] = useState(false)
  const [newRoom, setNewRoom] = useState('')
  const [flags, setFlags] = useState<Map<string, NameFlag>>(new Map())
  // Whether a page before the oldest message shown may exist (a full page came back), and the state of fetching it.
  const [more, setMore] = useState(false)
  const [earlier, setEarlier] = useState<'idle' | 'loading' | 'done'>('idle')
  const input = useRef<HTMLTextAreaElement>(null)
  const bottom = useRef<HTMLDivElement>(null)
  const start = useRef<HTMLParagraphElement>(null)
  const keepScroll = useRef(false)
  const marked = useRef<string | null>(null)
  /**
   * Where this visit's unread messages begin, fixed when the chat opens (the node's read marker
   * and count, from the group list): a "New messages" line stands there and the chat opens at it.
   * undefined: not decided yet; null: nothing unread.
   */
  const firstUnread = useRef<string | null | undefined>(undefined)
  const unreadMark = useRef<HTMLLIElement>(null)
  const scrolled = useRef(false)
  const groupInfo = group !== undefined ? ctx.groups.find((g) => g.id === group) : undefined
  // Decided in the render that first shows the messages (before this visit marks them read), so
  // the line is drawn in it.
  if (firstUnread.current === undefined && messages !== null) {
    firstUnread.current = dm === undefined ? firstUnreadOf(messages, ctx.me.id, { unread: groupInfo?.unread ?? 0, lastRead: groupInfo?.lastRead }) : null
  }
  // A group stopped at a newer Solidar's entry takes no writes (UPGRADE_REQUIRED): it says so below.
  const canWrite = groupInfo?.upgradeRequired === undefined && (dm !== undefined || (groupInfo?.role !== 'observer' && groupInfo?.role !== null))

  // A DM partner is flagged if any shared group flags them.
  const loadFlags = (): void => {
    void nameFlags(dm !== undefined ? ctx.groups.map((g) => g.id) : [group!]).then(setFlags)
  }
  const load = async (): Promise<void> => {
    loadFlags()
    try {
      if (dm !== undefined) {
        const list = await api.dmMessages(dm, { limit: PAGE_SIZE })
        setMessages(list)
        setMore(list.length === PAGE_SIZE)
      } else {
        const [list, roomList] = await Promise.all([api.messages(group!, room, { limit: PAGE_SIZE }), api.rooms(group!)])
        setMessages(list)
        setMore(list.length === PAGE_SIZE)
        setRooms(roomList)
      }
      setEarlier('idle')
      setError(null)
    } catch (err) { setError(err) }
  }

  useEffect(() => {
    void load()
    const stopEvents = onEvent((e) => {
      if (dm === undefined && (e.type === 'message' || e.type === 'message-live') && e.group === group && e.message.room === room) setMessages((l) => upsert(l ?? [], e.message, e.type === 'message-live'))
      if (dm !== undefined && (e.type === 'dm' || e.type === 'dm-live') && e.peer === dm) setMessages((l) => upsert(l ?? [], e.message, e.type === 'dm-live'))
      if ((dm === undefined && e.type === 'message-withdrawn' && e.group === group) || (dm !== undefined && e.type === 'dm-withdrawn' && e.peer === dm)) setMessages((l) => withdraw(l ?? [], e.id))
      if (dm === undefined && e.type === 'group' && e.group === group) void api.rooms(group).then(setRooms, () => {})
      if (e.type === 'members' && (dm !== undefined || e.group === group)) loadFlags()
    })
    const stopConn = onConnection((up) => { if (up) void load() })
    return () => { stopEvents(); stopConn() }
  }, [group, room, dm])

  const loadEarlier = async (): Promise<void> => {
    const oldest = messages?.[0]
    if (oldest === undefined || earlier === 'loading') return
    setEarlier('loading')
    try {
      const page = { before: oldest.id, limit: PAGE_SIZE }
      const older = dm !== undefined ? await api.dmMessages(dm, page) : await api.messages(group!, room, page)
      keepScroll.current = true
      setMessages((l) => prepend(older, l ?? []))
      setMore(older.length === PAGE_SIZE)
      setEarlier(older.length === PAGE_SIZE ? 'idle' : 'done')
    } catch (err) {
      setEarlier('idle')
      setError(err)
    }
  }

  // Once the start is reached the button goes: keyboard focus moves to the note that replaces it.
  useEffect(() => { if (earlier === 'done') start.current?.focus() }, [earlier])

  // Whether the user is at the newest message: new ones then scroll into view; someone reading
  // further up (at the first unread, or earlier messages) is left where they are.
  const nearBottom = useRef(true)
  useEffect(() => {
    const onScroll = (): void => { nearBottom.current = window.innerHeight + window.scrollY >= document.documentElement.scrollHeight - 120 }
    window.addEventListener('scroll', onScroll, { passive: true })
    return () => window.removeEventListener('scroll', onScroll)
  }, [])

  useEffect(() => {
    if (messages === null) return
    const first = !scrolled.current
    scrolled.current = true
    const newestMine = messages[messages.length - 1]?.author === ctx.me.id
    if (keepScroll.current) keepScroll.current = false
    else if (first && firstUnread.current !== null) { unreadMark.current?.scrollIntoView({ block: 'start' }); nearBottom.current = false }
    else if (first || nearBottom.current || newestMine) bottom.current?.scrollIntoView({ block: 'end' })
    // Read up to the newest message in the log (one shown live is marked once its entry is here).
    const newest = messages.findLast((m) => m.seq > 0)
    if (markRead !== undefined && newest !== undefined && marked.current !== newest.id) {
      marked.current = newest.id
      markRead(newest.id)
    }
    if (dm !== undefined) {
      const theirs = messages.find((m) => m.author === dm)
      if (theirs !== undefined) ctx.addDm(dm, theirs.authorName)
    }
  }, [messages])

  const send = async (): Promise<void> => {
    const body = text.trim()
    if (body === '' || busy) return
    setBusy(true)
    try {
      const sent = dm !== undefined
        ? await api.dm(dm, body, replyTo?.id)
        : await api.send(group!, body, { room, ...(replyTo !== null ? { replyTo: replyTo.id } : {}) })
      setMessages((l) => upsert(l ?? [], sent))
      if (dm !== undefined) ctx.addDm(dm, null)
      setText('')
      setReplyTo(null)
      setSendError(null)
    } catch (err) { setSendError(err) } finally {
      setBusy(false)
      input.current?.focus()
    }
  }

  const saveEdit = async (): Promise<void> => {
    if (editing === null) return
    try {
      const m = dm !== undefined ? await api.dmEdit(dm, editing.id, editing.text.trim()) : await api.edit(group!, editing.id, editing.text.trim())
      setMessages((l) => upsert(l ?? [], m))
      setEditing(null)
    } catch (err) { setError(err) }
  }

  const remove = async (m: MessageView): Promise<void> => {
    if (!confirm(t('chat.confirmDelete'))) return
    try {
      const deleted = dm !== undefined ? await api.dmDelete(dm, m.id) : await api.remove(group!, m.id)
      setMessages((l) => upsert(l ?? [], deleted))
    } catch (err) { setError(err) }
  }

  const react = async (m: MessageView, emoji: string | null): Promise<void> => {
    try {
      const updated = dm !== undefined ? await api.dmReact(dm, m.id, emoji) : await api.react(group!, m.id, emoji)
      setMessages((l) => upsert(l ?? [], updated))
    } catch (err) { setError(err) }
  }

  const addRoom = async (e: Event): Promise<void> => {
    e.preventDefault()
    if (group === undefined || newRoom.trim() === '') return
    try {
      const r = await api.createRoom(group, newRoom.trim().toLowerCase())
      setNewRoom('')
      go('g', group, 'r', r.name)
    } catch (err) { setError(err) }
  }

  const byId = new Map((messages ?? []).map((m) => [m.id, m]))
  const authorNames = new Map<string, string>([...(messages ?? []).map((m): [string, string] => [m.author, m.authorName]), [ctx.me.id, ctx.me.name]])
  const nameOf = (id: string): string => authorNames.get(id) ?? ctx.dmName(id) ?? id.slice(0, 8)
  const title = dm !== undefined ? t('chat.dmTitle', { name: messages?.find((m) => m.author === dm)?.authorName ?? ctx.dmName(dm) ?? peerName ?? dm.slice(0, 8) }) : (groupInfo?.name ?? t('chat.group'))

  return (
    <section class="chat">
      <header class="view-head">
        <h1>{title}</h1>
        {group !== undefined ? <OnlineLine group={group} /> : null}
        {group !== undefined ? <GroupTabs ctx={ctx} group={group} current="chat" /> : null}
      </header>
      {group !== undefined
        ? (
          <div class="rooms">
            <ul aria-label={t('chat.rooms')}>
              {(rooms.length > 0 ? rooms.map((r) => r.name) : ['general']).map((name) => (
                <li><a href={href('g', group, 'r', name)} aria-current={name === room ? 'page' : undefined}>#{name}</a></li>
              ))}
            </ul>
            {canWrite
              ? (
                // Folded away until asked for: the chat, not a form, is what a chat opens with.
                <details class="new-room">
                  <summary>{t('chat.roomForm')}</summary>
                  <form class="inline" onSubmit={addRoom}>
                    <label><span class="sr-only">{t('chat.roomForm')}</span>
                      <input value={newRoom} onInput={(e) => setNewRoom((e.currentTarget as HTMLInputElement).value)} placeholder={t('chat.newRoom')} maxLength={48} pattern="[a-zA-Z0-9_\-]+" /></label>
                    <button type="submit">{t('chat.addRoom')}</button>
                  </form>
                </details>
                )
              : null}
          </div>
          )
        : null}
      <ErrorBox error={error} />
      {messages !== null && more
        ? <p class="earlier"><button type="button" onClick={() => { void loadEarlier() }} aria-disabled={earlier === 'loading'}>{t('chat.loadEarlier')}</button></p>
        : null}
      {messages !== null && earlier === 'done' && !more
        ? <p class="earlier muted" tabIndex={-1} ref={start}>{t('chat.historyStart')}</p>
        : null}
      {messages === null
        ? <p role="status">{t('app.loading')}</p>
        : (
          <div role="log" aria-live="polite" aria-label={t('chat.messages')}><ol class="messages">
            {messages.length === 0 ? <li class="muted">{t('chat.empty')}</li> : null}
            {messages.map((m, i) => {
              const mine = m.author === ctx.me.id
              const parent = m.replyTo !== undefined ? byId.get(m.replyTo) : undefined
              const newDay = i === 0 || dayKey(messages[i - 1].ts) !== dayKey(m.ts)
              return (
                <>
                {newDay ? <li class="day" role="separator" aria-label={dayLabel(m.ts, now)}><span>{dayLabel(m.ts, now)}</span></li> : null}
                {m.id === firstUnread.current ? <li class="unread-mark" role="separator" aria-label={t('chat.newMessages')} ref={unreadMark} data-testid="first-unread"><span>{t('chat.newMessages')}</span></li> : null}
                <li class={mine ? 'msg mine' : 'msg'} data-id={m.id}>
                  <div class="meta">
                    {m.bridged !== undefined
                      ? <><strong>{m.bridged.nick ?? m.bridged.jid}</strong> <span class="muted" title={m.bridged.jid}>{t('chat.bridged', { jid: m.bridged.jid, bridge: m.authorName })}</span></>
                      : <><strong>{m.authorName}</strong><NameWarning flag={flags.get(m.author)} /></>} <time dateTime={new Date(m.ts).toISOString()} title={formatTime(m.ts)}>{messageTime(m.ts, now)}</time>
                    {m.editedTs !== undefined && !m.deleted ? <span class="muted"> · {t('chat.edited')}</span> : null}
                    {mine && delivered.has(m.id) ? <DeliveryMark state={delivered.get(m.id)!} /> : null}
                  </div>
                  {m.replyTo !== undefined
                    ? <blockquote class="quote">{parent !== undefined ? `${parent.authorName}: ${parent.deleted ? t('chat.deleted') : parent.text.slice(0, 140)}` : t('chat.replyUnknown')}</blockquote>
                    : null}
                  {editing?.id === m.id
                    ? (
                      <form class="edit" onSubmit={(e) => { e.preventDefault(); void saveEdit() }}>
                        <label><span class="sr-only">{t('chat.editLabel')}</span>
                          <textarea value={editing.text} rows={2} onInput={(e) => setEditing({ id: m.id, text: (e.currentTarget as HTMLTextAreaElement).value })}
                            onKeyDown={(e) => {
                              if (e.key === 'Escape') setEditing(null)
                              if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); void saveEdit() }
                            }} /></label>
                        <button type="submit">{t('common.save')}</button>
                        <button type="button" onClick={() => setEditing(null)}>{t('common.cancel')}</button>
                      </form>
                      )
                    : <p class="text">{m.deleted ? <em class="muted">{t('chat.deleted')}</em> : m.unreadable ? <em class="muted">{t('chat.unreadable')}</em> : m.text}</p>}
                  {!m.deleted ? <ReactionChips message={m} me={ctx.me.id} canWrite={canWrite} nameOf={nameOf} onReact={(emoji) => { void react(m, emoji) }} /> : null}
                  {!m.deleted && canWrite && editing?.id !== m.id
                    ? (
                      <div class="msg-actions">
                        <button type="button" class="link" onClick={() => { setReplyTo(m); input.current?.focus() }} aria-label={t('chat.replyTo', { name: m.authorName })}>{t('chat.reply')}</button>
                        <ReactionPicker onReact={(emoji) => { void react(m, emoji) }} />
                        {mine
                          ? <>
                            <button type="button" class="link" onClick={() => setEditing({ id: m.id, text: m.text })}>{t('chat.edit')}</button>
                            <button type="button" class="link" onClick={() => { void remove(m) }}>{t('chat.delete')}</button>
                          </>
                          : null}
                      </div>
                      )
                    : null}
                </li>
                </>
              )
            })}
          </ol></div>
          )}
      {canWrite
        ? (
          <form class="composer" onSubmit={(e) => { e.preventDefault(); void send() }}>
            {replyTo !== null
              ? (
                <p class="replying">{t('chat.replyingTo', { name: replyTo.authorName })} <span class="muted">{replyTo.text.slice(0, 80)}</span>
                  <button type="button" class="link" onClick={() => setReplyTo(null)}>{t('common.cancel')}</button></p>
                )
              : null}
            <ErrorBox error={sendError} />
            <label class="sr-only" for="composer">{t('chat.messageLabel')}</label>
            <textarea id="composer" ref={input} rows={2} value={text} placeholder={t('chat.placeholder')} maxLength={100_000} aria-describedby="composer-keys"
              onInput={(e) => setText((e.currentTarget as HTMLTextAreaElement).value)}
              onKeyDown={(e) => { if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); void send() } }} />
            <button type="submit" disabled={busy || text.trim() === ''}>{t('chat.send')}</button>
            <p id="composer-keys" class="keys muted small">{t('chat.keys')}</p>
          </form>
          )
        : groupInfo?.upgradeRequired !== undefined
          ? <p class="notice" role="status" data-testid="upgrade-required">{t('chat.upgradeRequired')}</p>
          : groupInfo?.catchUp !== undefined
          ? <CatchUpNote catchUp={groupInfo.catchUp} refresh={ctx.reloadGroups} />
          : <p class="muted" role="status">{groupInfo?.role === null ? t('chat.catchingUp') : t('chat.observer')}</p>}
      {/* Scrolled into view for the newest message: after the composer, which sticks to the
          bottom of the view, so the newest message ends above it instead of behind it. */}
      <div ref={bottom} />
    </section>
  )
}

/** The mark after an author's name whose key changed or whose name looks like another member's. */
function NameWarning ({ flag }: { flag: NameFlag | undefined }) {
  const t = useT()
  if (flag === undefined) return null
  return flag === 'keyChanged'
    ? <span class="warning name-flag" title={t('chat.keyChangedTitle')}> ⚠ {t('chat.keyChanged')}</span>
    : <span class="warning name-flag" title={t('chat.lookAlikeTitle')}> ⚠ {t('chat.lookAlike')}</span>
}

/** Who else of the group is online now, under the chat's heading. */
function OnlineLine ({ group }: { group: string }) {
  const t = useT()
  const online = useOnline(group)
  if (online === null) return null
  const others = online.filter((o) => !o.self).map((o) => o.name)
  return (
    <p class="muted small online-line" data-testid="online-now">
      {others.length === 0 ? t('chat.nobodyOnline') : t('chat.online', { names: others.join(', ') })}
    </p>
  )
}

/**
 * The first message the user has not read: the first by others after the read marker, or,
 * without a marker, the first of the `unread` newest messages by others. null when nothing
 * loaded is unread.
 */
function firstUnreadOf (messages: MessageView[], me: string, at: { unread: number, lastRead?: string }): string | null {
  if (at.unread <= 0) return null
  if (at.lastRead !== undefined) {
    // The marker in another room or beyond this page: no mark rather than a wrong one.
    const i = messages.findIndex((m) => m.id === at.lastRead)
    return i >= 0 ? messages.slice(i + 1).find((m) => m.author !== me)?.id ?? null : null
  }
  const others = messages.filter((m) => m.author !== me)
  return others.length > 0 ? others[Math.max(0, others.length - at.unread)].id : null
}


