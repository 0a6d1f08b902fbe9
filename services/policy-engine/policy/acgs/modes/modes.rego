# METADATA
# title: Modes
# description: |
#   Operating modes set by the host through the runtime data document:
#   data.runtime.strict_mode and data.runtime.lockdown, both false when absent.
#   Strict mode raises the compliance threshold and denies actions outside the
#   catalogue; lockdown denies everything but read-only observation of the engine.
package acgs.modes

import data.acgs.catalogue
import data.acgs.request

# METADATA
# title: Strict mode
# description: True only when data.runtime.strict_mode is exactly true.
default strict := false

strict := data.runtime.strict_mode == true

# METADATA
# title: Emergency lockdown
# description: True only when data.runtime.lockdown is exactly true.
default lockdown := false

lockdown := data.runtime.lockdown == true

# METADATA
# title: Mode violations
# description: Violations of the mode principle.
# scope: document
violations contains {
	"principle": "mode",
	"code": "emergency_lockdown",
	"message": concat("", [
		"The policy engine is in emergency lockdown: only the read-only actions ",
		concat(", ", sort(catalogue.read_only_actions)),
		" are allowed until the lockdown is lifted.",
	]),
} if {
	lockdown
	not _allowed_during_lockdown
}

violations contains {
	"principle": "mode",
	"code": "unknown_action",
	"message": concat("", [
		"Strict mode is on and the action ", request.action,
		" is not in the catalogue of known actions.",
	]),
} if {
	strict
	request.action != ""
	not request.action in catalogue.known_actions
	not request.action in catalogue.dangerous_actions
}

# Data access and evolution approvals are never read-only observation of the engine.
_allowed_during_lockdown if {
	request.type in {"action_authorization", "constitutional_evaluation"}
	request.read_only
}
