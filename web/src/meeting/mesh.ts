/**
 * A meeting in this tab: the local camera and microphone, and one simple-peer (WebRTC)
 * connection to every other participant (a full mesh, at most six). Signals go through the
 * local node (meetingApi.signal → the group's encrypted channel → the peer's node → its
 * browser, as a `meeting-signal` event); media goes directly between the browsers
 * (DTLS-SRTP). Of each pair, the session with the smaller id offers.
 *
 * - the tab renews its participation every 5 s (the node drops it 20 s after the last renewal);
 * - video bitrate and resolution go down as the meeting grows, so six fit a typical uplink;
 * - a connection that fails, or does not connect within 20 s, is shown as failed and retried
 *   (a new attempt number in every signal tells both sides to start afresh);
 * - who is speaking: the level of each audio track (Web Audio analyser), every 200 ms.
 */
import './shim.ts'
import SimplePeer from 'simple-peer'
import { onEvent } from '../api.ts'
import type { MediaState, MeetingParticipant, MeetingSignal, MeetingView, SolidarEvent } from '../types.ts'
import { meetingApi, type IceServer } from './client.ts'

export type PeerState = 'connecting' | 'connected' | 'failed'

export interface RemoteView {
  key: string
  participant: MeetingParticipant
  state: PeerState
  stream: MediaStream | null
  speaking: boolean
}

export interface MeshView {
  meeting: MeetingView | null
  self: MeetingParticipant | null
  media: MediaState
  localStream: MediaStream | null
  localSpeaking: boolean
  remotes: RemoteView[]
  error: unknown
  left: boolean
}

const RENEW_MS = 5_000
const CONNECT_TIMEOUT_MS = 20_000
const RETRY_DELAY_MS = 3_000
const SPEAKING_LEVEL = 0.02

/** Video sending budget per connection by meeting size: everyone uploads n−1 copies. */
export function videoBudget (participants: number): { maxBitrate: number, scale: number } {
  if (participants <= 2) return { maxBitrate: 1_200_000, scale: 1 }
  if (participants === 3) return { maxBitrate: 700_000, scale: 1 }
  if (participants === 4) return { maxBitrate: 450_000, scale: 1.5 }
  return { maxBitrate: 300_000, scale: 2 }
}

interface Conn {
  peer: SimplePeer.Instance
  attempt: number
  initiator: boolean
  state: PeerState
  stream: MediaStream | null
  timer: ReturnType<typeof setTimeout> | null
}

const keyOf = (p: { device: string, session: string }): string => `${p.device}/${p.session}`

function randomSession (): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12))
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')
}

export class Mesh {
  readonly group: string
  readonly session = randomSession()
  #meetingId: string | null = null
  #meeting: MeetingView | null = null
  #media: MediaState = { audio: true, video: true, screen: false }
  #local: MediaStream | null = null
  #camera: MediaStreamTrack | null = null
  #screen: MediaStreamTrack | null = null
  #iceServers: IceServer[] = []
  #conns = new Map<string, Conn>()
  #attempts = new Map<string, number>()
  #retries = new Map<string, ReturnType<typeof setTimeout>>()
  #levels = new Map<string, () => number>()
  #speaking = new Set<string>()
  #audio: AudioContext | null = null
  #timers: Array<ReturnType<typeof setInterval>> = []
  #stopEvents: (() => void) | null = null
  #error: unknown = null
  #left = false
  #onChange: () => void

  constructor (group: string, onChange: () => void) {
    this.group = group
    this.#onChange = onChange
  }

  get view (): MeshView {
    const participants = this.#meeting?.participants ?? []
    const self = participants.find((p) => p.self && p.session === this.session) ?? null
    const remotes: RemoteView[] = participants.filter((p) => p.session !== this.session).map((p) => {
      const key = keyOf(p)
      const c = this.#conns.get(key)
      return { key, participant: p, state: c?.state ?? (this.#retries.has(key) ? 'failed' : 'connecting'), stream: c?.stream ?? null, speaking: this.#speaking.has(key) }
    })
    return { meeting: this.#meeting, self, media: { ...this.#media }, localStream: this.#local, localSpeaking: this.#speaking.has('self'), remotes, error: this.#error, left: this.#left }
  }

  /** Starts a new meeting (meeting null) or joins one: camera and microphone first, then the node. */
  async join (meeting: string | null, room?: string): Promise<void> {
    this.#left = false
    this.#error = null
    this.#iceServers = (await meetingApi.config()).iceServers
    this.#local = await navigator.mediaDevices.getUserMedia({
      audio: true,
      video: { width: { ideal: 640 }, height: { ideal: 360 }, frameRate: { ideal: 24, max: 30 } }
    })
    this.#camera = this.#local.getVideoTracks()[0] ?? null
    this.#audio = new AudioContext()
    this.#watchLevel('self', this.#local)
    this.#stopEvents = onEvent((e) => this.#onEvent(e))
    try {
      const view = meeting === null
        ? await meetingApi.start(this.group, this.session, this.#media, room)
        : await meetingApi.join(this.group, meeting, this.session, this.#media)
      this.#meetingId = view.id
      this.#update(view)
    } catch (err) {
      this.#stopLocal()
      throw err
    }
    this.#timers.push(setInterval(() => { void this.#renew() }, RENEW_MS))
    this.#timers.push(setInterval(() => this.#measure(), 200))
    this.#onChange()
  }

  async leave (): Promise<void> {
    if (this.#left) return
    this.#left = true
    for (const t of this.#timers) clearInterval(t)
    this.#timers = []
    this.#stopEvents?.()
    for (const key of [...this.#conns.keys()]) this.#drop(key)
    for (const t of this.#retries.values()) clearTimeout(t)
    this.#retries.clear()
    this.#stopLocal()
    const id = this.#meetingId
    this.#meeting = null
    this.#onChange()
    if (id !== null) await meetingApi.leave(this.group, id, this.session).catch(() => { /* the others drop us at our participant timeout */ })
  }

  async setAudio (on: boolean): Promise<void> {
    for (const t of this.#local?.getAudioTracks() ?? []) t.enabled = on
    this.#media.audio = on
    await this.#renew()
  }

  async setVideo (on: boolean): Promise<void> {
    if (this.#camera) this.#camera.enabled = on
    this.#media.video = on
    await this.#renew()
  }

  /** Screen sharing replaces the camera track in every connection (and back when it ends). */
  async setScreen (on: boolean): Promise<void> {
    if (on === this.#media.screen || this.#local === null) return
    if (on) {
      const display = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false })
      const track = display.getVideoTracks()[0]
      track.addEventListener('ended', () => { void this.setScreen(false) })
      this.#swapVideo(this.#camera, track)
      this.#screen = track
    } else {
      const track = this.#screen
      this.#screen = null
      if (track) { this.#swapVideo(track, this.#camera); track.stop() }
    }
    this.#media.screen = on
    await this.#renew()
  }

  /** Per connection: decoded video frames, received audio packets and the addresses and types (host, srflx, prflx, relay) of the ICE pair in use (tests, diagnosis). */
  async stats (): Promise<Array<{ name: string, state: PeerState, framesDecoded: number, audioPackets: number, pairs: Array<{ local: string, localType: string, remote: string, remoteType: string }> }>> {
    const out = []
    for (const [key, c] of this.#conns) {
      const pc = (c.peer as unknown as { _pc: RTCPeerConnection })._pc
      let framesDecoded = 0
      let audioPackets = 0
      const pairs: Array<{ local: string, localType: string, remote: string, remoteType: string }> = []
      if (pc) {
        const report = await pc.getStats()
        const byId = new Map<string, any>()
        report.forEach((s: any) => byId.set(s.id, s))
        report.forEach((s: any) => {
          if (s.type === 'inbound-rtp' && s.kind === 'video') framesDecoded += s.framesDecoded ?? 0
          if (s.type === 'inbound-rtp' && s.kind === 'audio') audioPackets += s.packetsReceived ?? 0
          if (s.type === 'candidate-pair' && s.state === 'succeeded' && s.nominated) {
            const l = byId.get(s.localCandidateId)
            const r = byId.get(s.remoteCandidateId)
            // A peer-reflexive remote candidate (learnt from a check that came before the
            // candidate's signal) has no address in the stats: browsers hide it.
            pairs.push({ local: `${l?.address ?? l?.ip ?? ''}:${l?.port}`, localType: String(l?.candidateType), remote: `${r?.address ?? r?.ip ?? ''}:${r?.port}`, remoteType: String(r?.candidateType) })
          }
        })
      }
      const p = this.#meeting?.participants.find((x) => keyOf(x) === key)
      out.push({ name: p?.name ?? key, state: c.state, framesDecoded, audioPackets, pairs })
    }
    return out
  }

  // ---------------------------------------------------------------- participants and connections

  async #renew (): Promise<void> {
    if (this.#left || this.#meetingId === null) return
    try {
      this.#update(await meetingApi.join(this.group, this.#meetingId, this.session, this.#media))
      this.#error = null
    } catch (err) {
      this.#error = err
      this.#onChange()
    }
  }

  #onEvent (e: SolidarEvent): void {
    if (this.#left || this.#meetingId === null || !('group' in e) || e.group !== this.group) return
    if (e.type === 'meeting-update' && e.meeting.id === this.#meetingId) this.#update(e.meeting)
    if (e.type === 'meeting-signal' && e.meeting === this.#meetingId && e.to === this.session) this.#onSignal(keyOf(e.from), e.signal)
  }

  #update (view: MeetingView): void {
    this.#meeting = view
    const present = new Set(view.participants.filter((p) => p.session !== this.session).map(keyOf))
    for (const key of [...this.#conns.keys()]) if (!present.has(key)) this.#drop(key)
    for (const key of [...this.#retries.keys()]) if (!present.has(key)) { clearTimeout(this.#retries.get(key)); this.#retries.delete(key) }
    for (const key of present) {
      if (!this.#conns.has(key) && !this.#retries.has(key) && this.#offers(key)) this.#connect(key, (this.#attempts.get(key) ?? 0) + 1)
    }
    this.#applyBudget()
    this.#onChange()
  }

  /** Of two sessions, the one with the smaller key sends the offer. */
  #offers (key: string): boolean {
    return keyOf({ device: this.view.self?.device ?? '', session: this.session }) < key
  }

  #connect (key: string, attempt: number): void {
    const initiator = this.#offers(key)
    this.#attempts.set(key, attempt)
    const stream = this.#local!
    const peer = new SimplePeer({ initiator, stream, trickle: true, config: { iceServers: this.#iceServers } })
    const conn: Conn = { peer, attempt, initiator, state: 'connecting', stream: null, timer: null }
    this.#conns.set(key, conn)
    conn.timer = setTimeout(() => { if (conn.state === 'connecting') this.#fail(key, conn) }, CONNECT_TIMEOUT_MS)
    peer.on('signal', (signal: SimplePeer.SignalData) => { void this.#send(key, { ...(signal as MeetingSignal), attempt }) })
    peer.on('stream', (remote: MediaStream) => {
      conn.stream = remote
      this.#watchLevel(key, remote)
      this.#onChange()
    })
    peer.on('connect', () => {
      conn.state = 'connected'
      if (conn.timer) clearTimeout(conn.timer)
      this.#applyBudget()
      this.#onChange()
    })
    peer.on('close', () => { if (this.#conns.get(key) === conn) this.#fail(key, conn) })
    peer.on('error', () => { if (this.#conns.get(key) === conn) this.#fail(key, conn) })
    this.#onChange()
  }

  async #send (key: string, signal: MeetingSignal): Promise<void> {
    const p = this.#meeting?.participants.find((x) => keyOf(x) === key)
    if (!p || this.#meetingId === null) return
    await meetingApi.signal(this.group, this.#meetingId, { session: this.session, device: p.device, to: p.session, signal }).catch((err) => {
      this.#error = err
      this.#onChange()
    })
  }

  #onSignal (key: string, signal: MeetingSignal): void {
    const attempt = typeof signal.attempt === 'number' ? signal.attempt : 1
    const { attempt: _, ...data } = signal
    let conn = this.#conns.get(key)
    if (conn && attempt < conn.attempt) return // from an attempt given up
    if (conn && attempt > conn.attempt) { this.#drop(key); conn = undefined }
    if (!conn) {
      const retry = this.#retries.get(key)
      if (retry) { clearTimeout(retry); this.#retries.delete(key) }
      this.#connect(key, attempt)
      conn = this.#conns.get(key)!
    }
    try { conn.peer.signal(data as unknown as SimplePeer.SignalData) } catch { this.#fail(key, conn) }
  }

  /** Shown as failed; the offering side tries again after a pause with a new attempt number. */
  #fail (key: string, conn: Conn): void {
    conn.state = 'failed'
    this.#drop(key)
    if (this.#left || !this.#meeting?.participants.some((p) => keyOf(p) === key)) return
    this.#retries.set(key, setTimeout(() => {
      this.#retries.delete(key)
      if (this.#left || this.#conns.has(key)) return
      if (this.#offers(key)) this.#connect(key, (this.#attempts.get(key) ?? 0) + 1)
      this.#onChange()
    }, RETRY_DELAY_MS))
    this.#onChange()
  }

  #drop (key: string): void {
    const conn = this.#conns.get(key)
    if (!conn) return
    this.#conns.delete(key)
    this.#levels.delete(key)
    this.#speaking.delete(key)
    if (conn.timer) clearTimeout(conn.timer)
    conn.peer.removeAllListeners()
    conn.peer.on('error', () => {})
    conn.peer.destroy()
  }

  #swapVideo (from: MediaStreamTrack | null, to: MediaStreamTrack | null): void {
    if (!from || !to || !this.#local) return
    for (const c of this.#conns.values()) {
      try { c.peer.replaceTrack(from, to, this.#local) } catch { /* not negotiated yet: the new track goes with the next offer */ }
    }
    this.#local.removeTrack(from)
    this.#local.addTrack(to)
  }

  /** Lower bitrate and resolution for bigger meetings (applied to every video sender). */
  #applyBudget (): void {
    const n = this.#meeting?.participants.length ?? 1
    const { maxBitrate, scale } = videoBudget(n)
    for (const c of this.#conns.values()) {
      const pc = (c.peer as unknown as { _pc?: RTCPeerConnection })._pc
      for (const sender of pc?.getSenders() ?? []) {
        if (sender.track?.kind !== 'video') continue
        const params = sender.getParameters()
        if (!params.encodings || params.encodings.length === 0) continue
        const e = params.encodings[0]
        if (e.maxBitrate === maxBitrate && e.scaleResolutionDownBy === scale) continue
        e.maxBitrate = maxBitrate
        e.scaleResolutionDownBy = scale
        sender.setParameters(params).catch(() => { /* the browser keeps its own bitrate choice */ })
      }
    }
  }

  // ---------------------------------------------------------------- speaking

  #watchLevel (key: string, stream: MediaStream): void {
    if (!this.#audio || stream.getAudioTracks().length === 0) return
    const source = this.#audio.createMediaStreamSource(stream)
    const analyser = this.#audio.createAnalyser()
    analyser.fftSize = 512
    source.connect(analyser)
    const data = new Float32Array(analyser.fftSize)
    this.#levels.set(key, () => {
      analyser.getFloatTimeDomainData(data)
      let sum = 0
      for (const v of data) sum += v * v
      return Math.sqrt(sum / data.length)
    })
  }

  #measure (): void {
    let changed = false
    for (const [key, level] of this.#levels) {
      const speaking = (key === 'self' ? this.#media.audio : true) && level() > SPEAKING_LEVEL
      if (speaking !== this.#speaking.has(key)) {
        changed = true
        if (speaking) this.#speaking.add(key)
        else this.#speaking.delete(key)
      }
    }
    if (changed) this.#onChange()
  }

  #stopLocal (): void {
    for (const t of this.#local?.getTracks() ?? []) t.stop()
    this.#screen?.stop()
    this.#local = null
    this.#camera = null
    this.#screen = null
    this.#levels.clear()
    this.#speaking.clear()
    void this.#audio?.close().catch(() => { /* closing: the other resources must still close, and a failed close has no caller left to tell */ })
    this.#audio = null
  }
}
