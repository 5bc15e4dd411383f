/**
 * Shown instead of the app while the node's data store waits for a repair (`serve` answers
 * whoami with REPAIR_NEEDED): why, what a repair does and may lose, a button that runs it
 * (node/src/repair-session.ts), each group's progress, and the choice to go on without what no
 * peer had. Once the store is whole the node starts and the page loads the app.
 */
import { useEffect, useRef, useState } from 'preact/hooks'
import { useT } from '../i18n.ts'
import { api, type RepairState } from '../api.ts'
import { ErrorBox } from '../ui.tsx'

const POLL_MS = 1_000

export function RepairView () {
  const t = useT()
  const [state, setState] = useState<RepairState | null>(null)
  const [error, setError] = useState<unknown>(null)
  const [confirmFinish, setConfirmFinish] = useState(false)
  const live = useRef(true)

  useEffect(() => {
    live.current = true
    let timer: ReturnType<typeof setTimeout> | null = null
    const poll = async (): Promise<void> => {
      try {
        const s = await api.repairState()
        if (!live.current) return
        setState(s)
      } catch (err) {
        // Once repaired, the node replaces the repair routes: the app starts at this address.
        if (!live.current) return
        if (await api.whoami().then(() => true, () => false)) { location.reload(); return }
        setError(err)
      }
      if (live.current) timer = setTimeout(() => { void poll() }, POLL_MS)
    }
    void poll()
    return () => { live.current = false; if (timer !== null) clearTimeout(timer) }
  }, [])

  const run = async (finish: boolean): Promise<void> => {
    setError(null)
    setConfirmFinish(false)
    try { setState(await api.startRepair(finish)) } catch (err) { setError(err) }
  }

  if (state === null) return <main class="center"><p role="status">{t('app.loading')}</p><ErrorBox error={error} /></main>
  const running = state.phase === 'running'
  const starting = state.phase === 'repaired' || state.phase === 'finished'
  return (
    <main class="center repair" id="main">
      <h1>{t('repair.title')}</h1>
      <p role="alert">{state.cause === 'damaged' ? t('repair.damaged') : t('repair.pending')}</p>
      <details>
        <summary>{t('repair.detail')}</summary>
        <p class="muted small">{state.reason}</p>
      </details>
      <h2>{t('repair.whatTitle')}</h2>
      <ul>
        <li>{t('repair.what1')}</li>
        <li>{t('repair.what2')}</li>
        <li>{t('repair.what3')}</li>
      </ul>
      <p><strong>{t('repair.lossTitle')}</strong> {t('repair.loss')}</p>
      {state.damaged !== null ? <p class="muted">{t('repair.kept', { folder: state.damaged })}</p> : null}
      {!state.networked ? <p class="notice" role="status">{t('repair.noNetwork')}</p> : null}
      <p role="status" data-testid="repair-phase" data-phase={state.phase}>{t(`repair.phase.${state.phase}` as 'repair.phase.offered')}{state.error !== null ? `: ${state.error}` : ''}</p>
      {state.logs.length > 0
        ? (
          <table class="repair-logs">
            <caption class="sr-only">{t('repair.progress')}</caption>
            <thead><tr><th scope="col">{t('repair.log')}</th><th scope="col">{t('repair.state')}</th><th scope="col">{t('repair.entries')}</th></tr></thead>
            <tbody>
              {state.logs.map((l) => (
                <tr key={l.id}>
                  <td><code>{l.id.slice(0, 12)}</code> <span class="muted">{t(`repair.kind.${l.kind}` as 'repair.kind.group')}</span></td>
                  <td>{t(`repair.log.${l.phase}` as 'repair.log.waiting')}</td>
                  <td>{l.length > 0 ? `${l.have}/${l.length}` : String(l.have)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          )
        : null}
      <ErrorBox error={error} />
      {starting
        ? null
        : (
          <p class="actions">
            <button type="button" onClick={() => { void run(false) }} disabled={running || !state.networked}>
              {state.phase === 'offered' ? t('repair.run') : t('repair.again')}
            </button>
            {state.phase === 'incomplete' || (state.cause === 'pending' && state.phase === 'offered')
              ? <button type="button" onClick={() => setConfirmFinish(true)} disabled={running}>{t('repair.finish')}</button>
              : null}
          </p>
          )}
      {confirmFinish
        ? (
          <div class="notice" role="alertdialog" aria-labelledby="finish-q">
            <p id="finish-q">{t('repair.finishConfirm')}</p>
            <p class="actions">
              <button type="button" onClick={() => { void run(true) }}>{t('repair.finishYes')}</button>
              <button type="button" onClick={() => setConfirmFinish(false)}>{t('common.cancel')}</button>
            </p>
          </div>
          )
        : null}
    </main>
  )
}
