/** The invites of a group for its admins: each one's state, and a button that revokes an open one. */
import { useEffect, useState } from 'preact/hooks'
import { api, onEvent } from '../api.ts'
import { formatTime, useT } from '../i18n.ts'
import type { InviteView } from '../types.ts'
import { ErrorBox } from '../ui.tsx'

/** `version` changes when the parent made a new invite, so the list reloads. */
export function InviteList ({ group, version }: { group: string, version: number }) {
  const t = useT()
  const [invites, setInvites] = useState<InviteView[] | null>(null)
  const [showAll, setShowAll] = useState(false)
  const [error, setError] = useState<unknown>(null)
  const [done, setDone] = useState<string | null>(null)

  const load = async (): Promise<void> => {
    try { setInvites(await api.invites(group)); setError(null) } catch (err) { setError(err) }
  }
  useEffect(() => {
    void load()
    return onEvent((e) => { if ((e.type === 'members' || e.type === 'group') && e.group === group) void load() })
  }, [group, version])

  const revoke = async (inv: InviteView): Promise<void> => {
    if (!confirm(t('invites.confirmRevoke'))) return
    try {
      await api.revokeInvite(group, inv.id)
      setDone(t('invites.revoked'))
      await load()
    } catch (err) { setError(err) }
  }

  const shown = (invites ?? []).filter((i) => showAll || i.status === 'open')
  return (
    <section class="invite-list" aria-labelledby="invite-list-title">
      <h2 id="invite-list-title">{t('invites.title')}</h2>
      <ErrorBox error={error} />
      {done !== null ? <p role="status">{done}</p> : null}
      <label><input type="checkbox" checked={showAll} onChange={(e) => setShowAll((e.currentTarget as HTMLInputElement).checked)} /> {t('invites.showAll')}</label>
      {invites === null
        ? <p role="status">{t('app.loading')}</p>
        : shown.length === 0
          ? <p class="muted">{showAll ? t('invites.none') : t('invites.noneOpen')}</p>
          : (
            <table>
              <thead>
                <tr>
                  <th scope="col">{t('invites.state')}</th>
                  <th scope="col">{t('invite.role')}</th>
                  <th scope="col">{t('invites.used')}</th>
                  <th scope="col">{t('invites.expires')}</th>
                  <th scope="col">{t('invites.by')}</th>
                  <th scope="col"><span class="sr-only">{t('invites.actions')}</span></th>
                </tr>
              </thead>
              <tbody>
                {shown.map((i) => (
                  <tr data-invite={i.id}>
                    <td>{t(`invites.status.${i.status}` as 'invites.status.open')}</td>
                    <td>{t(`role.${i.role}` as 'role.member')}</td>
                    <td>{i.used}/{i.uses}</td>
                    <td>{formatTime(i.expires)}</td>
                    <td>{i.createdByName !== '' ? i.createdByName : i.createdBy.slice(0, 8)}</td>
                    <td>
                      {i.status === 'open'
                        ? <button type="button" class="danger" onClick={() => { void revoke(i) }} aria-label={t('invites.revokeLabel', { by: i.createdByName, expires: formatTime(i.expires) })}>{t('invites.revoke')}</button>
                        : null}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
            )}
      <p class="muted small">{t('invites.note')}</p>
    </section>
  )
}
