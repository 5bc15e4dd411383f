/** Numbers of the meeting service, each with its reason. */

/** A full mesh of n browsers sends n−1 copies of each stream; six fit a typical 10 Mbit/s uplink at the lowered bitrates. */
export const MAX_PARTICIPANTS = 6
/** A node repeats its participants' announcements this often, so peers that missed one (or joined later) learn them. */
export const ANNOUNCE_INTERVAL_MS = 5_000
/** A remote participant not announced for this long is gone (three announcements missed: its node or link died). */
export const PARTICIPANT_TTL_MS = 16_000
/** A browser tab renews its participation this often through the API… */
export const SESSION_RENEW_MS = 5_000
/** …and a tab silent for this long (closed, crashed, laptop asleep) leaves the meeting. */
export const SESSION_TTL_MS = 20_000
/** Expired participants are looked for this often. */
export const SWEEP_INTERVAL_MS = 2_000
/** One channel message: an SDP with three media sections is ~6 KiB; screen share and ICE restarts add a few. */
export const MAX_MESSAGE = 64 * 1024
/** A signal as JSON (an SDP offer or answer, or one ICE candidate). */
export const MAX_SIGNAL = 48 * 1024
/** Messages from senders the view does not know yet (it is still catching up), kept per connection for a retry. */
export const MAX_PENDING = 16

// ---------------------------------------------------------------- relaying through common peers (../live-relay.ts)

/**
 * A message is forwarded through at most this many relaying members. A group's swarm has short
 * paths (every member node announces the same topic); six covers a line of seven nodes and bounds
 * how far a message with a reset hop counter can travel.
 */
export const MAX_HOPS = 6
/**
 * A message whose sender's clock is further than this from ours is dropped as stale (a replay, or
 * a clock so far off that NTP is not running). Signals are useful for seconds; two minutes leaves
 * room for unsynchronised laptops.
 */
export const REPLAY_WINDOW_MS = 120_000
/**
 * Message ids remembered per group, each until its timestamp leaves the replay window (at most
 * 2 × the window). A 6-person meeting makes ~300 in that time (announcements every 5 s plus the
 * offers, answers and candidates of 15 connections); 8,192 leave room for several meetings.
 * When it is full of live ids, new messages are dropped rather than remembered too briefly.
 */
export const MAX_SEEN = 8_192
/**
 * Messages one device may originate per group: a burst of 200 (a tab connecting to five peers
 * sends ~60 offers, answers and ICE candidates at once), refilled at 20 per second.
 */
export const RATE_BURST = 200
export const RATE_PER_SECOND = 20
