/**
 * Where the video test's nodes bind their DHT sockets inside its namespace: Alice on 127.0.0.1
 * (with the bootstrap node), Bob and Carol on addresses of their own, between which
 * video.test.ts drops every packet, so their nodes can never connect to each other.
 */
export const BOB_HOST = '127.0.0.2'
export const CAROL_HOST = '127.0.0.3'

/** The nftables ruleset (family inet, table `meet`) that keeps Bob's and Carol's nodes apart, both ways. */
export const BLOCK_RULES = `table inet meet {
  chain output {
    type filter hook output priority 0; policy accept;
    ip saddr ${BOB_HOST} ip daddr ${CAROL_HOST} counter drop
    ip saddr ${CAROL_HOST} ip daddr ${BOB_HOST} counter drop
  }
}
`
