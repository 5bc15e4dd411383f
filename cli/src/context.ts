/** Small helpers every command uses: the chosen home and a client of its daemon. */
import type { Command } from 'commander'
import { resolveHome } from '@solidar/node/home'
import { ApiClient } from './client.ts'

/** The home folder for this invocation (`--home`, `$SOLIDAR_HOME` or `~/.solidar`). */
export function homeOf (cmd: Command): string {
  const { home } = cmd.optsWithGlobals<{ home?: string }>()
  return resolveHome(home)
}

/** A client of this home's daemon; throws `NoDaemonError` (exit 2) if none runs. */
export function clientOf (cmd: Command): ApiClient {
  return ApiClient.connect(homeOf(cmd))
}
