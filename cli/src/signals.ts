/** Waiting for Ctrl+C / SIGTERM in long-running commands. */

/**
 * Resolves on the first SIGINT or SIGTERM. A second signal while shutting down exits
 * at once (code 130), so a hung shutdown can always be interrupted. `abort` ends the wait
 * (resolving null) and removes the listeners.
 */
export function untilSignal (abort?: AbortSignal): Promise<NodeJS.Signals | null> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
      process.once('SIGINT', () => process.exit(130))
      process.once('SIGTERM', () => process.exit(130))
      resolve(signal)
    }
    process.on('SIGINT', onSignal)
    process.on('SIGTERM', onSignal)
    // Stop waiting (null) without a signal: the listeners go, so a later wait installs its own.
    abort?.addEventListener('abort', () => {
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
      resolve(null)
    }, { once: true })
  })
}
