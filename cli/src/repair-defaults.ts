/**
 * How long a repair waits for peers of each log by default, in `solidar repair` and in a repair
 * offered by `serve` in the web app. Its own module so that registering the commands does not
 * load the repair machinery (a CLI call starts fast).
 */
export const REPAIR_TIMEOUT_MS = 60_000
