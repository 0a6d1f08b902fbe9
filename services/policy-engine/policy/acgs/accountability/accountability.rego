# METADATA
# title: Accountability
# description: |
#   Every action can be traced to the agent that took it: the agent is identified
#   (context.agent.id) and auditing is on (context.environment.audit_enabled).
#   Applies to the action-evaluating types.
package acgs.accountability

import data.acgs.request

# METADATA
# title: Accountability violations
# description: Violations of the accountability principle.
# scope: document
violations contains {
	"principle": "accountability",
	"code": "agent_unidentified",
	"message": "The request does not identify the acting agent (context.agent.id).",
} if {
	request.evaluates_action
	request.agent_id == ""
}

violations contains {
	"principle": "accountability",
	"code": "audit_disabled",
	"message": "Auditing is not enabled in the environment, so the action could not be traced.",
} if {
	request.evaluates_action
	not request.audit_enabled
}

# METADATA
# title: Accountability score
# description: 0 with any violation, otherwise 1.
default score := 1

score := 0 if count(violations) > 0
