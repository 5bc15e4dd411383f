/**
 * Which writer core of this device Autobase opens for a log.
 *
 * Autobase 7 remembers "the local writer" as user data (`autobase/local`) on the log's
 * bootstrap core, and a corestore keeps one bootstrap core per key across all namespaces.
 * Each time this device joins a log, Solidar gives it a fresh namespace and so a fresh writer
 * (the `local` core of that namespace), whose key the admin adds. But after a leave and a new
 * join, the bootstrap core still named the writer of the first membership, which the group
 * had removed: Autobase reopened that one, and the device could never write again.
 * So before Autobase boots, the bootstrap core is pointed at this namespace's writer.
 */
import Autobase from 'autobase'
import b4a from 'b4a'

const LOCAL = 'autobase/local'

/** Makes Autobase open the `local` core of `store` (a log's namespace) as this device's writer of log `key`. */
export async function claimLocalWriter (store: any, key: Buffer): Promise<void> {
  const local: Buffer = await Autobase.getLocalKey(store)
  const bootstrap = store.get({ key, active: false })
  await bootstrap.ready()
  try {
    const remembered: Buffer | null = await bootstrap.getUserData(LOCAL)
    // Nothing remembered: Autobase picks the namespace's `local` core (or, for the creator, the
    // bootstrap core itself, which is that same core). Remembered and equal: nothing to do.
    if (remembered === null || b4a.equals(remembered, local)) return
    await bootstrap.setUserData(LOCAL, local)
  } finally {
    await bootstrap.close()
  }
}
