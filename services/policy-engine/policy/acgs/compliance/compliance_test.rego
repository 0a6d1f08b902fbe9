# METADATA
# title: Compliance tests
# description: The weighted score and the thresholds of the two modes.
package acgs.compliance_test

import data.acgs.compliance
import data.acgs.fixtures_test as fx

_unexplained_write := fx.without_context(fx.action_input("data.write"), "explanation")

test_weights_sum_to_one if {
	sum([w | some w in compliance.weights]) == 1
}

test_score_all_principles_satisfied_is_one if {
	compliance.score == 1 with input as fx.action_input("data.write")
}

test_score_one_advisory if {
	compliance.score == 0.985 with input as _unexplained_write
}

test_score_two_advisories if {
	request := fx.with_context(_unexplained_write, {"agent": fx.agent_with_trust(0.85)})
	compliance.score == 0.9675 with input as request
	compliance.advisories == [
		"no explanation was given for the action",
		"the agent's trust level is below the recommended 0.9",
	] with input as request
}

test_score_safety_violation if {
	compliance.score == 0.65 with input as fx.action_input("network.raw_socket")
}

test_threshold_by_mode if {
	compliance.threshold == 0.95
	compliance.threshold == 0.99 with data.runtime as {"strict_mode": true}
}

test_violations_advisory_passes_normal_threshold if {
	compliance.violations == set() with input as _unexplained_write
}

test_violations_advisory_fails_strict_threshold if {
	compliance.violations == {{
		"principle": "compliance",
		"code": "score_below_threshold",
		"message": "The compliance score 0.985 is below the strict-mode threshold of 0.99 (lowered by: no explanation was given for the action).",
	}} with input as _unexplained_write
		with data.runtime as {"strict_mode": true}
}

test_violations_below_normal_threshold if {
	compliance.violations == {{
		"principle": "compliance",
		"code": "score_below_threshold",
		"message": "The compliance score 0.85 is below the threshold of 0.95.",
	}} with input as fx.with_context(fx.action_input("data.read"), {"resources": {"cpu": 8}})
}

test_violations_not_for_evolution_approval if {
	request := fx.with_context(fx.evolution_input({}), {"agent": fx.agent_with_trust(0.85)})
	compliance.score == 0.9825 with input as request
	compliance.violations == set() with input as request with data.runtime as {"strict_mode": true}
}
