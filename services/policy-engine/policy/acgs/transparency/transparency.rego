# METADATA
# title: Transparency
# description: |
#   High-impact actions need a non-empty explanation (context.explanation). Other
#   actions that change something are expected to explain themselves too: without an
#   explanation their transparency score is lowered, which strict mode's higher
#   threshold turns into a denial. Read-only observation never needs one. Applies to
#   the action-evaluating types.
package acgs.transparency

import data.acgs.request

# METADATA
# title: Transparency violations
# description: Violations of the transparency principle.
# scope: document
violations contains {
	"principle": "transparency",
	"code": "explanation_required",
	"message": concat("", [
		"The action ", request.action,
		" is high-impact and needs an explanation of why it is taken.",
	]),
} if {
	request.evaluates_action
	request.high_impact
	request.explanation == ""
}

# METADATA
# title: Transparency advisories
# description: Findings that lower the transparency score without being violations.
# scope: document
advisories contains "no explanation was given for the action" if {
	request.evaluates_action
	not request.high_impact
	not request.read_only
	request.explanation == ""
}

# METADATA
# title: Transparency score
# description: 0 with any violation, 0.9 with an advisory, otherwise 1.
default score := 1

score := 0 if {
	count(violations) > 0
} else := 0.9 if {
	count(advisories) > 0
}
