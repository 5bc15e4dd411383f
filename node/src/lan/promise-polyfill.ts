/**
 * `Promise.withResolvers` (Node 22+) for Node 20: @libp2p/utils and @chainsafe/libp2p-yamux
 * call it, and without it the first libp2p connection fails. Import this module before
 * any libp2p module (ES modules evaluate their imports in order).
 */
const P = Promise as unknown as { withResolvers?: () => unknown }
if (typeof P.withResolvers !== 'function') {
  P.withResolvers = function withResolvers<T> () {
    let resolve!: (value: T | PromiseLike<T>) => void
    let reject!: (reason?: unknown) => void
    const promise = new Promise<T>((res, rej) => { resolve = res; reject = rej })
    return { promise, resolve, reject }
  }
}

export {}
