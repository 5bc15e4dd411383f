/** Network status (transport, connections, peers and sync per group), the network choice, this device. */
import { NotificationsPanel } from '../notify.tsx'
import { useEffect, useState } from 'preact/hooks'
import { api } from '../api.ts'
import type { NetworkChoice, NodeSettings, NodeStatus } from '../api.ts'
import type { AppContext } from '../app.tsx'
import { formatTime, useT } from '../i18n.ts'
import { CodeBox, ErrorBox, Qr } from '../ui.tsx'
import { IceServersForm } from './ice-servers.tsx'
import { CatchUpNote } from './catch-up.tsx'

type Option = 'none' | 'lan' | 'bootstrap' | 'public'

/**
 * Choose how the node finds peers: each option says in plain words what it reveals. "Local
 * network" is LAN mode without a DHT (`serve --lan --no-dht`); beside a DHT, LAN mode is a
 * checkbox. The choice is saved in config.json and applies when `solidar serve` starts again.
 */
export function NetworkForm ({ settings, onSaved, submitLabel }: { settings: NodeSettings, onSaved: (s: NodeSettings) => void, submitLabel?: string }) {
  const t = useT()
  const initial = settings.network.saved ?? settings.network.running
  const initialLan = settings.network.lan.saved ?? settings.network.lan.running
  const [option, setOption] = useState<Option>(initial.mode === 'none' && initialLan ? 'lan' : initial.mode)
  const [alsoLan, setAlsoLan] = useState(initialLan)
  const [bootstrap, setBootstrap] = useState(initial.bootstrap.join(', '))
  const [error, setError] = useState<unknown>(null)
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault()
    try {
      const list = option === 'bootstrap' ? bootstrap.split(/[\s,]+/).filter((b) => b !== '') : []
      const mode: NetworkChoice['mode'] = option === 'lan' ? 'none' : option
      const lan = option === 'lan' || (option !== 'none' && alsoLan)
      onSaved(await api.setNetwork({ mode, bootstrap: list, lan }))
      setError(null)
    } catch (err) { setError(err) }
  }
  const radio = (value: Option, title: string, note: string) => (
    <label class="option">
      <input type="radio" name="network" value={value} checked={option === value} onChange={() => setOption(value)} />
      <span><strong>{title}</strong><span class="note">{note}</span></span>
    </label>
  )
  return (
    <form class="stack" onSubmit={submit}>
      <fieldset>
        <legend>{t('network.choose')}</legend>
        {radio('none', t('network.none'), t('network.noneNote'))}
        {radio('lan', t('network.lan'), t('network.lanNote'))}
        {radio('bootstrap', t('network.private'), t('network.privateNote'))}
        {option === 'bootstrap'
          ? <label class="indent">{t('network.bootstrap')}
            <input value={bootstrap} required placeholder="10.0.0.5:49737" onInput={(e) => setBootstrap((e.currentTarget as HTMLInputElement).value)} /></label>
          : null}
        {radio('public', t('network.public'), t('network.publicNote'))}
        {option === 'bootstrap' || option === 'public'
          ? <label class="check indent"><input type="checkbox" checked={alsoLan} onChange={(e) => setAlsoLan((e.currentTarget as HTMLInputElement).checked)} /> {t('network.alsoLan')}</label>
          : null}
      </fieldset>
      <ErrorBox error={error} />
      <button type="submit" class={submitLabel !== undefined ? 'primary' : undefined}>{submitLabel ?? t('network.save')}</button>
    </form>
  )
}

export function RestartNotice ({ settings }: { settings: NodeSettings }) {
  const t = useT()
  if (!settings.network.restartRequired) return null
  return <p class="notice" role="status">{t('network.restart')}</p>
}

const describe = (t: ReturnType<typeof useT>, n: NetworkChoice, lan: boolean): string => {
  if (n.mode === 'none') return lan ? t('network.lan') : t('network.none')
  const dht = n.mode === 'public' ? t('network.public') : `${t('network.private')} (${n.bootstrap.join(', ')})`
  return lan ? t('network.withLan', { network: dht }) : dht
}

export function Network ({ ctx }: { ctx: AppContext }) {
  const t = useT()
  const [status, setStatus] = useState<NodeStatus | null>(null)
  const [settings, setSettings] = useState<NodeSettings | null>(null)
  const [link, setLink] = useState<{ code: string, expires: number } | null>(null)
  const [error, setError] = useState<unknown>(null)
  useEffect(() => {
    const load = (): void => { api.status().then(setStatus, setError) }
    load()
    api.settings().then(setSettings, setError)
    const timer = setInterval(load, 3000)
    return () => clearInterval(timer)
  }, [])
  return (
    <section>
      <h1>{t('network.title')}</h1>
      <ErrorBox error={error} />
      {status !== null
        ? (
          <div class="panel">
            <h2>{t('network.status')}</h2>
            <BootstrapNotice status={status} />
            <dl>
              <dt>{t('network.transport')}</dt><dd>{describe(t, { mode: status.network.mode, bootstrap: status.network.bootstrap }, settings?.network.lan.running === true)}</dd>
              <dt>{t('network.connections')}</dt><dd data-testid="connections">{status.network.connections}</dd>
            </dl>
            <table>
              <caption class="sr-only">{t('network.perGroup')}</caption>
              <thead><tr><th scope="col">{t('network.group')}</th><th scope="col">{t('network.peers')}</th><th scope="col">{t('network.length')}</th></tr></thead>
              <tbody>{status.groups.map((g) => <tr><td>{g.name}</td><td>{g.peers}</td><td>{g.length}</td></tr>)}</tbody>
            </table>
            {status.groups.filter((g) => g.catchUp !== undefined).map((g) => (
              <div><h3>{g.name}</h3><CatchUpNote catchUp={g.catchUp!} /></div>
            ))}
            {status.groups.filter((g) => g.upgradeRequired !== undefined).map((g) => (
              <p class="notice" role="status">{t('network.upgradeRequired', { group: g.name })}</p>
            ))}
            {status.leaving.map((l) => <p class="notice" role="status" data-testid="leaving">{t('network.leaving', { group: l.name })}</p>)}
          </div>
          )
        : <p role="status">{t('app.loading')}</p>}
      {settings !== null
        ? (
          <div class="panel">
            <h2>{t('network.settings')}</h2>
            <RestartNotice settings={settings} />
            <NetworkForm settings={settings} onSaved={setSettings} />
          </div>
          )
        : null}
      {settings !== null
        ? (
          <div class="panel">
            <h2>{t('ice.title')}</h2>
            <IceServersForm settings={settings} onSaved={setSettings} />
          </div>
          )
        : null}
      <NotificationsPanel />
      <div class="panel">
        <h2>{t('device.title')}</h2>
        <dl>
          <dt>{t('device.name')}</dt><dd>{ctx.me.name}</dd>
          <dt>{t('device.id')}</dt><dd><code>{ctx.me.id}</code></dd>
          <dt>{t('device.fingerprint')}</dt><dd><code>{ctx.me.fingerprint}</code></dd>
        </dl>
        <p>{t('device.linkNote')}</p>
        <button type="button" onClick={async () => { try { setLink(await api.deviceLink()) } catch (err) { setError(err) } }}>{t('device.link')}</button>
        {link !== null
          ? <div><CodeBox code={link.code} label={t('device.code')} /><Qr text={link.code} label={t('device.qr')} /><p class="muted">{t('device.expires', { when: formatTime(link.expires) })}</p></div>
          : null}
      </div>
    </section>
  )
}

/** Says that a private DHT's bootstrap nodes do not answer, for as long as that holds (the status is reloaded every 3 s). */
function BootstrapNotice ({ status }: { status: NodeStatus }) {
  const t = useT()
  const health = status.network.transports?.find((x) => x.bootstrap !== undefined)?.bootstrap
  if (health === undefined || !health.checked || health.answering === health.nodes) return null
  return (
    <p class="notice warning" role="alert" data-testid="bootstrap-silent">
      {health.answering === 0
        ? t('network.bootstrapSilent', { nodes: health.silent.join(', ') })
        : t('network.bootstrapSome', { answering: health.answering, total: health.nodes, nodes: health.silent.join(', ') })}
    </p>
  )
}
