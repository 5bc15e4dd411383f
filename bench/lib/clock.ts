/**
 * Milliseconds on the monotonic clock (CLOCK_MONOTONIC on Linux), which every process
 * on the machine shares: a send time taken in one worker and a receive time taken in
 * another can be subtracted.
 */
export const now = (): number => Number(process.hrtime.bigint()) / 1e6

export const sleep = (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms))
