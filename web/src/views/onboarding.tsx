/**
 * First start: the name others see (or linking this device to one you already use) and how
 * to connect. The node's network is fixed while it runs: a new choice applies after a restart,
 * and the page says so.
 */
import { useEffect, useState } from 'preact/hooks'
import { api } from '../api.ts'
import type { NodeSettings } from '../api.ts'
import type { AppContext } from '../app.tsx'
import { useT } from '../i18n.ts'
import { go } from '../route.ts'
import { ErrorBox } from '../ui.tsx'
import { NetworkForm, RestartNotice } from './network.tsx'

export const ONBOARDED_KEY = 'solidar.onboarded'

export function Onboarding ({ ctx }: { ctx: AppContext }) {
  const t = useT()
  const [settings, setSettings] = useState<NodeSettings | null>(null)
  const [path, setPath] = useState<'new' | 'link'>('new')
  const [name, setName] = useState(ctx.me.name)
  const [code, setCode] = useState('')
  const [step, setStep] = useState<'who' | 'network'>('who')
  const [busy, setBusy] = useState(false)
  /** Admitted, but the first device's vault has not reached this one yet (it links by itself later). */
  const [linkPending, setLinkPending] = useState(false)
  const [error, setError] = useState<unknown>(null)
  useEffect(() => { api.settings().then(setSettings, setError) }, [])

  const saveWho = async (e: Event): Promise<void> => {
    e.preventDefault()
    setBusy(true)
    setError(null)
    try {
      if (path === 'new') {
        if (settings?.canRename === true && name.trim() !== ctx.me.name) setSettings(await api.setName(name.trim()))
      } else {
        const added = await api.deviceAdd(code)
        setLinkPending(!added.linked)
        await ctx.reloadGroups()
      }
      await ctx.reloadMe()
      setStep('network')
    } catch (err) { setError(err) } finally { setBusy(false) }
  }
  const finish = (): void => {
    localStorage.setItem(ONBOARDED_KEY, '1')
    go()
  }

  return (
    <section class="onboarding">
      <h1>{t('onboarding.title')}</h1>
      <p>{t('onboarding.intro')}</p>
      {/* The language is chosen in the header, as everywhere in the app. */}
      <p class="steps" aria-live="polite"><strong>{t('onboarding.step', { n: step === 'who' ? 1 : 2, total: 2 })}:</strong> {step === 'who' ? t('onboarding.stepWho') : t('onboarding.stepNetwork')}</p>
      {step === 'who'
        ? (
          <form class="stack" onSubmit={saveWho}>
            <fieldset>
              <legend>{t('onboarding.device')}</legend>
              <label class="option"><input type="radio" name="path" checked={path === 'new'} onChange={() => setPath('new')} />
                <span><strong>{t('onboarding.new')}</strong><span class="note">{t('onboarding.newNote')}</span></span></label>
              <label class="option"><input type="radio" name="path" checked={path === 'link'} onChange={() => setPath('link')} />
                <span><strong>{t('onboarding.link')}</strong><span class="note">{t('onboarding.linkNote')}</span></span></label>
            </fieldset>
            {path === 'new'
              ? settings?.canRename === false
                ? <p class="muted">{t('onboarding.nameFixed', { name: ctx.me.name })}</p>
                : <label>{t('onboarding.name')}
                  <input required maxLength={512} value={name} onInput={(e) => setName((e.currentTarget as HTMLInputElement).value)} autoFocus />
                  <span class="note">{t('onboarding.nameNote')}</span></label>
              : <label>{t('onboarding.code')}
                <textarea required rows={3} value={code} onInput={(e) => setCode((e.currentTarget as HTMLTextAreaElement).value)} /></label>}
            <ErrorBox error={error} />
            <button type="submit" disabled={busy}>{busy && path === 'link' ? t('join.waiting') : t('onboarding.next')}</button>
          </form>
          )
        : (
          <div>
            {linkPending ? <p class="notice" role="status">{t('onboarding.linkPending')}</p> : null}
            {settings !== null
              ? <>
                {/* One way on: saving the choice finishes, unless the node must restart for it;
                    then the notice says how, and Done goes on. */}
                <NetworkForm settings={settings} submitLabel={t('onboarding.saveFinish')}
                  onSaved={(s) => { setSettings(s); if (!s.network.restartRequired) finish() }} />
                <RestartNotice settings={settings} />
                {settings.network.restartRequired ? <p><button type="button" class="primary" onClick={finish}>{t('onboarding.done')}</button></p> : null}
              </>
              : null}
            <ErrorBox error={error} />
          </div>
          )}
    </section>
  )
}
