# METADATA
# title: Safety tests
# description: Dangerous actions, trust levels, sandbox and audit requirements.
package acgs.safety_test

import data.acgs.fixtures_test as fx
import data.acgs.safety

test_violations_dangerous_actions_always_denied if {
	every action in data.acgs.catalogue.dangerous_actions {
		safety.violations == {{
			"principle": "safety",
			"code": "dangerous_action",
			"message": concat("", ["The action ", action, " is dangerous and is denied by the constitution in every case."]),
		}} with input as fx.action_input(action)
	}
}

test_violations_trusted_agent_none if {
	safety.violations == set() with input as fx.action_input("data.read")
}

test_violations_missing_trust_counts_as_zero if {
	safety.violations == {{
		"principle": "safety",
		"code": "trust_level_too_low",
		"message": "The agent's trust level 0 is below the required minimum of 0.8.",
	}} with input as fx.with_context(fx.action_input("data.read"), {"agent": {"id": "agent-1"}})
}

test_violations_trust_just_below_minimum if {
	safety.violations == {{
		"principle": "safety",
		"code": "trust_level_too_low",
		"message": "The agent's trust level 0.79 is below the required minimum of 0.8.",
	}} with input as fx.with_context(fx.action_input("data.read"), {"agent": fx.agent_with_trust(0.79)})
}

test_violations_trust_at_minimum_none if {
	safety.violations == set() with input as fx.with_context(fx.action_input("data.read"), {"agent": fx.agent_with_trust(0.8)})
}

test_violations_code_without_sandbox if {
	safety.violations == {{
		"principle": "safety",
		"code": "sandbox_required",
		"message": "The action code.execute runs code or consumes compute and needs the sandbox enabled.",
	}} with input as fx.with_context(
		fx.action_input("code.execute"),
		{"environment": {"sandbox_enabled": false, "audit_enabled": true}},
	)
}

test_violations_compute_without_audit if {
	safety.violations == {{
		"principle": "safety",
		"code": "audit_required",
		"message": "The action compute.run runs code or consumes compute and needs auditing enabled.",
	}} with input as fx.with_context(fx.action_input("compute.run"), {"environment": {"sandbox_enabled": true}})
}

test_violations_listed_sandboxed_actions_without_environment if {
	every action in {"model.train", "sandbox.execute"} {
		{v.code | some v in safety.violations} == {"sandbox_required", "audit_required"} with input as fx.without_context(fx.action_input(action), "environment")
	}
}

test_violations_sandboxed_action_in_sandbox_none if {
	safety.violations == set() with input as fx.action_input("model.train")
}

test_violations_apply_to_evolution_approval if {
	{v.code | some v in safety.violations} == {"trust_level_too_low"} with input as fx.with_context(fx.evolution_input({}), {"agent": fx.agent_with_trust(0.5)})
}

test_score_highly_trusted_agent_is_one if {
	safety.score == 1 with input as fx.action_input("data.read")
}

test_score_trust_below_recommended_is_lowered if {
	safety.score == 0.95 with input as fx.with_context(fx.action_input("data.read"), {"agent": fx.agent_with_trust(0.85)})
	safety.advisories == {"the agent's trust level is below the recommended 0.9"} with input as fx.with_context(fx.action_input("data.read"), {"agent": fx.agent_with_trust(0.85)})
}

test_score_violation_is_zero if {
	safety.score == 0 with input as fx.action_input("system.execute_shell")
}
