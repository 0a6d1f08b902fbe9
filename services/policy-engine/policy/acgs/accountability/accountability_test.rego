# METADATA
# title: Accountability tests
# description: Agent identity and auditing.
package acgs.accountability_test

import data.acgs.accountability
import data.acgs.fixtures_test as fx

test_violations_identified_and_audited_none if {
	accountability.violations == set() with input as fx.action_input("data.read")
}

test_violations_audit_disabled if {
	accountability.violations == {{
		"principle": "accountability",
		"code": "audit_disabled",
		"message": "Auditing is not enabled in the environment, so the action could not be traced.",
	}} with input as fx.with_context(fx.action_input("data.read"), {"environment": {"sandbox_enabled": true, "audit_enabled": false}})
}

test_violations_agent_unidentified if {
	accountability.violations == {{
		"principle": "accountability",
		"code": "agent_unidentified",
		"message": "The request does not identify the acting agent (context.agent.id).",
	}} with input as fx.with_context(fx.action_input("data.read"), {"agent": {"id": " ", "trust_level": 0.95}})
}

test_score_violation_is_zero if {
	accountability.score == 0 with input as fx.without_context(fx.action_input("data.read"), "environment")
}
