/**
 * Video meetings of a group: the running ones ("running, N participants") with Join, Start
 * meeting, and in a meeting the videos, the controls (microphone, camera, screen, leave) and
 * the participants with who is speaking, what they have switched off and how the connection is.
 */
import { useEffect, useRef, useState } from 'preact/hooks'
import type { AppContext } from '../app.tsx'
import { onConnection, onEvent } from '../api.ts'
import { useT } from '../i18n.ts'
import { Mesh, type MeshView, type PeerState } from '../meeting/mesh.ts'
import { meetingApi } from '../meeting/client.ts'
import type { MeetingView } from '../types.ts'
import { ErrorBox } from '../ui.tsx'
import { GroupTabs } from './group-tabs.tsx'

/** The meetings running in a group, kept current from `meeting-update` events. */
export function useMeetings (group: string): MeetingView[] {
  const [list, setList] = useState<MeetingView[]>([])
  useEffect(() => {
    let live = true
    const load = (): void => { meetingApi.list(group).then((l) => { if (live) setList(l) }).catch(() => { /* the next meeting event loads again */ }) }
    load()
    const stopEvents = onEvent((e) => { if (e.type === 'meeting-update' && e.group === group) load() })
    const stopConn = onConnection((up) => { if (up) load() })
    return () => { live = false; stopEvents(); stopConn() }
  }, [group])
  return list
}

/** "Meeting" with "running, N participants" when one runs: for the group's tabs. */
export function MeetingTabLabel ({ group }: { group: string }) {
  const t = useT()
  const running = useMeetings(group)
  const n = running.reduce((sum, m) => sum + m.participants.length, 0)
  return <>{t('meeting.tab')}{running.length > 0 ? <span class="badge live">{t('meeting.running', { count: n })}</span> : null}</>
}

function Video ({ stream, muted, label }: { stream: MediaStream | null, muted: boolean, label: string }) {
  const ref = useRef<HTMLVideoElement>(null)
  useEffect(() => {
    const el = ref.current
    if (el && el.srcObject !== stream) {
      el.srcObject = stream
      if (stream) void el.play().catch(() => { /* autoplay refused: the video element shows its own play control */ })
    }
  }, [stream])
  return <video ref={ref} autoplay playsInline muted={muted} aria-label={label} />
}

export function MeetingPage ({ ctx, group }: { ctx: AppContext, group: string }) {
  const t = useT()
  const running = useMeetings(group)
  const [mesh, setMesh] = useState<Mesh | null>(null)
  const [view, setView] = useState<MeshView | null>(null)
  const [error, setError] = useState<unknown>(null)
  const [busy, setBusy] = useState(false)
  const name = ctx.groups.find((g) => g.id === group)?.name ?? ''

  useEffect(() => () => { void mesh?.leave() }, [mesh])
  useEffect(() => {
    if (mesh === null) return
    const leave = (): void => { void mesh.leave() }
    window.addEventListener('pagehide', leave)
    return () => window.removeEventListener('pagehide', leave)
  }, [mesh])

  const enter = async (meeting: string | null): Promise<void> => {
    setBusy(true)
    setError(null)
    const m = new Mesh(group, () => setView(m.view))
    try {
      await m.join(meeting)
      setMesh(m)
      setView(m.view)
      ;(window as unknown as { solidarMeeting?: Mesh }).solidarMeeting = m
    } catch (err) {
      setError(err)
    } finally {
      setBusy(false)
    }
  }
  const leave = async (): Promise<void> => {
    await mesh?.leave()
    setMesh(null)
    setView(null)
  }
  const act = (fn: () => Promise<void>) => () => { fn().catch((err) => setError(err)) }

  if (mesh === null || view === null || view.left) {
    return (
      <section>
        <h1>{name}</h1>
        <GroupTabs ctx={ctx} group={group} current="meeting" />
        <h2>{t('meeting.title')}</h2>
        <p class="muted">{t('meeting.intro')}</p>
        {error !== null ? <ErrorBox error={error} /> : null}
        {running.length === 0 ? <p>{t('meeting.none')}</p> : null}
        <ul class="meetings">
          {running.map((m) => (
            <li>
              <span>{t('meeting.runningSince', { count: m.participants.length, names: m.participants.map((p) => p.name).join(', ') })}</span>{' '}
              <button type="button" disabled={busy} onClick={() => { void enter(m.id) }}>{t('meeting.join')}</button>
            </li>
          ))}
        </ul>
        {/* While a meeting runs, joining it is the one way in: a second one beside it would split the group. */}
        {running.length === 0 ? <p class="actions"><button type="button" disabled={busy} onClick={() => { void enter(null) }}>{t('meeting.start')}</button></p> : null}
      </section>
    )
  }

  const { media } = view
  const stateText = (s: PeerState): string => t(s === 'connected' ? 'meeting.state.connected' : s === 'failed' ? 'meeting.state.failed' : 'meeting.state.connecting')
  return (
    <section class="meeting">
      <h1>{name}</h1>
      <GroupTabs ctx={ctx} group={group} current="meeting" />
      <h2>{t('meeting.in')}</h2>
      {error !== null ? <ErrorBox error={error} /> : null}
      {view.error !== null ? <ErrorBox error={view.error} /> : null}
      <div class="controls" role="toolbar" aria-label={t('meeting.controls')}>
        <button type="button" aria-pressed={!media.audio} onClick={act(() => mesh.setAudio(!media.audio))}>{media.audio ? t('meeting.mute') : t('meeting.unmute')}</button>
        <button type="button" aria-pressed={!media.video} onClick={act(() => mesh.setVideo(!media.video))}>{media.video ? t('meeting.cameraOff') : t('meeting.cameraOn')}</button>
        <button type="button" aria-pressed={media.screen} onClick={act(() => mesh.setScreen(!media.screen))}>{media.screen ? t('meeting.stopShare') : t('meeting.share')}</button>
        <button type="button" class="danger" onClick={() => { void leave() }}>{t('meeting.leave')}</button>
      </div>
      <div class="videos">
        <figure class={view.localSpeaking ? 'speaking' : ''}>
          <Video stream={view.localStream} muted label={t('meeting.yourVideo')} />
          <figcaption>{t('meeting.you')}</figcaption>
        </figure>
        {view.remotes.map((r) => (
          <figure key={r.key} class={`${r.speaking ? 'speaking' : ''} ${r.state}`}>
            <Video stream={r.stream} muted={false} label={t('meeting.videoOf', { name: r.participant.name })} />
            <figcaption>{r.participant.name}{r.state !== 'connected' ? ` · ${stateText(r.state)}` : ''}</figcaption>
          </figure>
        ))}
      </div>
      <h3>{t('meeting.participants')}</h3>
      <ul class="participants" aria-label={t('meeting.participants')}>
        {[...(view.self ? [{ p: view.self, speaking: view.localSpeaking, state: 'connected' as PeerState }] : []), ...view.remotes.map((r) => ({ p: r.participant, speaking: r.speaking, state: r.state }))].map(({ p, speaking, state }) => {
          const notes = [
            p.self ? t('meeting.you') : null,
            speaking ? t('meeting.speaking') : null,
            p.media.audio ? null : t('meeting.micOff'),
            p.media.video ? null : t('meeting.camOff'),
            p.media.screen ? t('meeting.sharing') : null,
            p.self ? null : stateText(state)
          ].filter((x) => x !== null)
          return <li class={speaking ? 'speaking' : ''} data-session={p.session}>{p.name}{notes.length > 0 ? ` (${notes.join(', ')})` : ''}</li>
        })}
      </ul>
    </section>
  )
}
