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
