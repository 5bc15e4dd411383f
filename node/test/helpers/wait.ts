/** Polls `fn` until it returns true, or fails after `timeout` ms naming `what`. */
export async function waitFor (fn: () => Promise<boolean>, what: string, timeout = 30_000): Promise<void> {
  const start = Date.now()
  while (Date.now() - start < timeout) {
    if (await fn()) return
    await new Promise(resolve => setTimeout(resolve, 50))
  }
  throw new Error(`timed out waiting for ${what}`)
}
