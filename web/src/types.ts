// The API's JSON shapes, shared with the node (type-only: nothing of core is bundled).
export type {
  AuditEntry, CatchUp, CatchUpPeer, CatchUpWriter, DeliveryState, DmSummary, GroupSummary, InviteResult, InviteView, MemberView, MessageView, PadExport, PadHistory, PadPresence,
  PadSummary, Role, RoomView, SolidarEvent, WhoAmI, MediaState, MeetingParticipant, MeetingSignal, MeetingView
} from '@solidar/core/types'
