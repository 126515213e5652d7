package audit

import "slices"

// Action is what an audit entry says was done. Every action the project
// writes is one of the constants below; Append refuses any other, so a
// new kind of access or change is added here, with its Kind, before any
// code can audit it.
type Action string

// The actions, by what they do to recordings and the rest.
const (
	// Stored and changed recordings.
	ActionStore           Action = "store"            // the uploader indexed a recording
	ActionRebuild         Action = "rebuild"          // a row restored from the bucket
	ActionHold            Action = "hold"             // legal hold placed
	ActionReleaseHold     Action = "release-hold"     // legal hold released
	ActionRetentionChange Action = "retention-change" // retain-until moved by a policy change
	ActionRestrict        Action = "restrict"         // stop of use
	ActionUnrestrict      Action = "unrestrict"       // use resumed
	ActionCorrect         Action = "correct"          // a correction request applied
	ActionErase           Action = "erase"            // erased on a data subject's request
	ActionDelete          Action = "delete"           // purged at the end of its retention
	ActionDeleteOrphan    Action = "delete-orphan"    // an object without a catalog row removed
	ActionPause           Action = "pause"            // recording of a call in progress paused
	ActionResume          Action = "resume"           // and resumed
	ActionPurgeRequest    Action = "purge-request"    // a purge run on a person's request (each deletion has its own entry)
	// ActionTranscode: a recording's stored object replaced by the same
	// audio in its purpose's format (the background transcoder).
	ActionTranscode Action = "transcode"
	ActionNote      Action = "note" // a note added to a recording

	// Reads.
	ActionSearch         Action = "search"          // a search, with the ids it showed
	ActionView           Action = "view"            // a recording's details
	ActionPlay           Action = "play"            // audio streamed for listening
	ActionRead           Action = "read"            // audio or manifest read by a tool
	ActionAuditRead      Action = "audit-read"      // the audit log listed
	ActionAuditVerify    Action = "audit-verify"    // the audit chain verified
	ActionCallsList      Action = "calls-list"      // calls in progress listed
	ActionRetentionPlan  Action = "retention-plan"  // the retention plan (and a preview, with the ids it listed) read
	ActionIncidentReport Action = "incident-report" // an incident report, with the ids it showed
	ActionRightsAPI      Action = "rights-api"      // a data-subject request read
	ActionWaveform       Action = "waveform"        // a recording's waveform computed from its audio
	// ActionListen: a call in progress listened in to, with the reason;
	// ActionListenEnd: that listening over (how long, how many bytes).
	ActionListen    Action = "listen"
	ActionListenEnd Action = "listen-end"

	// Data leaving the system.
	ActionDownload            Action = "download"             // audio downloaded as a file
	ActionDisclose            Action = "disclose"             // disclosed to its data subject
	ActionProvide             Action = "provide"              // provided to a third party (recorded provision)
	ActionPseudonymisedExport Action = "pseudonymised-export" // pseudonymised data exported
	ActionSearchExport        Action = "search-export"        // a search's result exported as CSV, with its ids

	// Data-subject requests.
	ActionRequestCreate   Action = "request-create"
	ActionRequestAnswered Action = "request-answered"
	ActionRequestRefused  Action = "request-refused"

	// A client's contract end.
	ActionContractEndPlan    Action = "contract-end-plan"
	ActionContractEndStart   Action = "contract-end-start"
	ActionContractEndResume  Action = "contract-end-resume"
	ActionContractEndExport  Action = "contract-end-export"
	ActionContractEndVerify  Action = "contract-end-verify"
	ActionContractEndConfirm Action = "contract-end-confirm"
	ActionContractEndDestroy Action = "contract-end-destroy"
	ActionContractEndHeld    Action = "contract-end-held"
	ActionContractEndCertify Action = "contract-end-certify"
	ActionContractEndRead    Action = "contract-end-read"
	// A client's own master key destroyed at the end of its contract.
	ActionContractEndKeyDestroy Action = "contract-end-key-destroy"

	// Webhook events given up (dead-lettered), listed and requeued.
	ActionWebhookDeadList Action = "webhook-dead-list"
	ActionWebhookRequeue  Action = "webhook-requeue"

	// A refusal: the principal did not reach what it asked for.
	ActionDenied Action = "denied"
)

// Kind classifies an action for incident reports and auditors.
type Kind string

// The kinds of action.
const (
	KindAccessed Kind = "accessed" // read, listened to, listed
	KindExported Kind = "exported" // left the system
	KindChanged  Kind = "changed"  // stored, held, restricted, deleted…
	KindDenied   Kind = "denied"   // refused: nothing was reached
)

// actions is the one list: every action and its kind.
var actions = map[Action]Kind{
	ActionStore: KindChanged, ActionRebuild: KindChanged, ActionHold: KindChanged, ActionReleaseHold: KindChanged,
	ActionRetentionChange: KindChanged, ActionRestrict: KindChanged, ActionUnrestrict: KindChanged,
	ActionCorrect: KindChanged, ActionErase: KindChanged, ActionDelete: KindChanged, ActionDeleteOrphan: KindChanged,
	ActionPause: KindChanged, ActionResume: KindChanged, ActionPurgeRequest: KindChanged,
	ActionTranscode: KindChanged, ActionNote: KindChanged,

	ActionSearch: KindAccessed, ActionView: KindAccessed, ActionPlay: KindAccessed, ActionRead: KindAccessed,
	ActionAuditRead: KindAccessed, ActionAuditVerify: KindAccessed, ActionCallsList: KindAccessed,
	ActionIncidentReport: KindAccessed, ActionRightsAPI: KindAccessed, ActionRetentionPlan: KindAccessed, ActionWaveform: KindAccessed,
	ActionListen: KindAccessed, ActionListenEnd: KindAccessed,

	ActionDownload: KindExported, ActionDisclose: KindExported, ActionProvide: KindExported,
	ActionPseudonymisedExport: KindExported, ActionSearchExport: KindExported,

	ActionRequestCreate: KindChanged, ActionRequestAnswered: KindChanged, ActionRequestRefused: KindChanged,

	ActionContractEndPlan: KindAccessed, ActionContractEndStart: KindChanged, ActionContractEndResume: KindChanged,
	ActionContractEndExport: KindExported, ActionContractEndVerify: KindAccessed, ActionContractEndConfirm: KindChanged,
	ActionContractEndDestroy: KindChanged, ActionContractEndHeld: KindChanged, ActionContractEndCertify: KindChanged,
	ActionContractEndRead: KindAccessed, ActionContractEndKeyDestroy: KindChanged,

	ActionWebhookDeadList: KindAccessed, ActionWebhookRequeue: KindChanged,

	ActionDenied: KindDenied,
}

// Known tells whether a is one of the actions.
func (a Action) Known() bool { _, ok := actions[a]; return ok }

// Kind is a's kind ("" for an unknown action).
func (a Action) Kind() Kind { return actions[a] }

// ListsRecordings tells whether a's entries keep, in their detail
// ("ids"), the ids of the recordings they showed: a search and an
// incident report.
func (a Action) ListsRecordings() bool { return a == ActionSearch || a == ActionIncidentReport }

// Actions returns every action, sorted.
func Actions() []Action {
	out := make([]Action, 0, len(actions))
	for a := range actions {
		out = append(out, a)
	}
	slices.Sort(out)
	return out
}
