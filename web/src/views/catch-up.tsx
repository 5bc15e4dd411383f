/**
 * How far a group that has not fully reached this device is (core/src/catch-up.ts): blocks
 * held of those known, the peers it fetches from (names once their presence checked out, else
 * short keys) and whether an admin is online; not admitted with no admin online says it waits
 * for one. Plain text in a live region (read out when it changes); the per-writer detail is a
 * native <details>, reachable and opened with the keyboard.
 */
import { useEffect } from 'preact/hooks'
import { useT } from '../i18n.ts'
import type { CatchUp, CatchUpPeer } from '../types.ts'

/** Reloads the state every few seconds while it is shown (no event announces each fetched block). */
const REFRESH_MS = 3000

export function CatchUpNote ({ catchUp, refresh }: { catchUp: CatchUp, refresh?: () => Promise<void> }) {
  const t = useT()
  useEffect(() => {
    if (refresh === undefined) return
    // A failed reload keeps the last state on screen; the app shows the lost connection itself.
    const timer = setInterval(() => { refresh().catch(() => { /* the next tick tries again; the connection banner says when the node is unreachable */ }) }, REFRESH_MS)
    return () => clearInterval(timer)
  }, [refresh])
  const who = (p: CatchUpPeer): string => p.name ?? p.peer
  const fetching = catchUp.peers.filter((p) => p.ahead > 0)
  return (
    <div class="catch-up" data-testid="catch-up">
      <p role="status">
        {t(catchUp.stage === 'admission' ? 'catchUp.admission' : 'catchUp.history')}{' '}
        {t('catchUp.progress', { have: catchUp.have, known: catchUp.known, applied: catchUp.applied })}{' '}
        {fetching.length > 0
          ? t('catchUp.fetching', { peers: fetching.map((p) => `${who(p)} (${p.ahead})`).join(', ') })
          : catchUp.peers.length > 0 ? t('catchUp.connected', { peers: catchUp.peers.map(who).join(', ') }) : t('catchUp.noPeer')}
      </p>
      {catchUp.waitingForAdmin
        ? <p class="notice" data-testid="waiting-for-admin">{t('catchUp.waitingForAdmin')}</p>
        : catchUp.stage === 'admission' ? <p class="muted">{t('catchUp.adminOnline')}</p> : null}
      {catchUp.writers.length > 0
        ? (
          <details>
            <summary>{t('catchUp.perWriter')}</summary>
            <ul>{catchUp.writers.map((w) => <li>{t('catchUp.writer', { name: w.name ?? w.writer, have: w.have, known: w.known })}</li>)}</ul>
          </details>
          )
        : null}
    </div>
  )
}
