# METADATA
# title: Safety
# description: |
#   Dangerous actions are denied always; the acting agent must be trusted (trust_level
#   at least 0.8, missing counts as 0); actions that run code or consume compute need
#   a sandboxed and audited environment. Applies to every request type.
package acgs.safety

import data.acgs.catalogue
import data.acgs.format
import data.acgs.request

# METADATA
# title: Minimum trust level
# description: Below this trust level an agent may do nothing.
minimum_trust_level := 0.8

# METADATA
# title: Recommended trust level
# description: Below this trust level the safety score is lowered (see score).
recommended_trust_level := 0.9

# METADATA
# title: Safety violations
# description: Violations of the safety principle.
# scope: document
violations contains {
	"principle": "safety",
	"code": "dangerous_action",
	"message": concat("", [
		"The action ", request.action,
		" is dangerous and is denied by the constitution in every case.",
	]),
} if {
	request.action in catalogue.dangerous_actions
}

violations contains {
	"principle": "safety",
	"code": "trust_level_too_low",
	"message": concat("", [
		"The agent's trust level ", format.decimal(request.trust_level),
		" is below the required minimum of ", format.decimal(minimum_trust_level), ".",
	]),
} if {
	request.trust_level < minimum_trust_level
}

violations contains {
	"principle": "safety",
	"code": "sandbox_required",
	"message": concat("", [
		"The action ", request.action,
		" runs code or consumes compute and needs the sandbox enabled.",
	]),
} if {
	request.sandboxed
	not request.sandbox_enabled
}

violations contains {
	"principle": "safety",
	"code": "audit_required",
	"message": concat("", [
		"The action ", request.action,
		" runs code or consumes compute and needs auditing enabled.",
	]),
} if {
	request.sandboxed
	not request.audit_enabled
}

# METADATA
# title: Safety advisories
# description: Findings that lower the safety score without being violations.
# scope: document
advisories contains concat("", [
	"the agent's trust level is below the recommended ",
	format.decimal(recommended_trust_level),
]) if {
	count(violations) == 0
	request.trust_level < recommended_trust_level
}

# METADATA
# title: Safety score
# description: 0 with any violation, 0.95 with an advisory, otherwise 1.
default score := 1

score := 0 if {
	count(violations) > 0
} else := 0.95 if {
	count(advisories) > 0
}
