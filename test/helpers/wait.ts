/** The suite's waits: one implementation for every test (core/test/wait.ts). */
export { sleep, waitFor, withTimeout, type WaitOptions } from '@solidar/core/testing/wait'
