# METADATA
# title: Evolution approval tests
# description: Risk scores, outcomes and incomplete requests.
package acgs.evolution_test

import data.acgs.evolution
import data.acgs.fixtures_test as fx

test_outcome_low_risk_auto_approved if {
	evolution.risk_score == 0 with input as fx.evolution_input({})
	evolution.outcome == "auto_approved" with input as fx.evolution_input({})
	evolution.reported_factors == ["priority_low"] with input as fx.evolution_input({})
}

test_outcome_external_dependencies_fast_track if {
	evolution.risk_score == 0.2 with input as fx.evolution_input({"external_dependencies": true})
	evolution.outcome == "fast_track" with input as fx.evolution_input({"external_dependencies": true})
}

test_outcome_medium_priority_without_rollback_fast_track if {
	evolution.risk_score == 0.25 with input as fx.evolution_input({"priority": "medium", "rollback_plan": " "})
	evolution.outcome == "fast_track" with input as fx.evolution_input({"priority": "medium", "rollback_plan": " "})
	evolution.reported_factors == ["no_rollback_plan", "priority_medium"] with input as fx.evolution_input({"priority": "medium", "rollback_plan": " "})
}

test_outcome_several_risks_human_review if {
	patch := {"experimental_features": true, "external_dependencies": true, "priority": "high"}
	evolution.risk_score == 0.5 with input as fx.evolution_input(patch)
	evolution.outcome == "human_review" with input as fx.evolution_input(patch)
}

test_outcome_privilege_escalation_always_human_review if {
	evolution.risk_score == 0.4 with input as fx.evolution_input({"privilege_escalation": true})
	evolution.outcome == "human_review" with input as fx.evolution_input({"privilege_escalation": true})
}

test_outcome_strict_mode_turns_auto_approval_into_fast_track if {
	evolution.outcome == "fast_track" with input as fx.evolution_input({}) with data.runtime as {"strict_mode": true}
	evolution.reported_factors == ["priority_low", "strict_mode"] with input as fx.evolution_input({})
		with data.runtime as {"strict_mode": true}
}

test_risk_score_capped_at_one if {
	patch := {
		"privilege_escalation": true, "external_dependencies": true, "experimental_features": true,
		"priority": "critical", "rollback_plan": "", "change_description": "",
	}
	evolution.risk_score == 1 with input as fx.evolution_input(patch)
	evolution.reported_factors == [
		"experimental_features", "external_dependencies", "no_change_description",
		"no_rollback_plan", "priority_critical", "privilege_escalation",
	] with input as fx.evolution_input(patch)
}

test_factors_missing_priority_counts_as_medium if {
	request := object.remove(fx.evolution_input({}), ["evolution_request"])
	evolution.reported_factors == ["priority_medium"] with input as object.union(request, {"evolution_request": object.remove(fx.evolution_request, ["priority"])})
}

test_factors_flags_must_be_true_booleans if {
	evolution.reported_factors == ["priority_low"] with input as fx.evolution_input({"privilege_escalation": "true", "external_dependencies": 1})
}

test_violations_complete_request_none if {
	evolution.violations == set() with input as fx.evolution_input({})
}

test_violations_request_missing if {
	evolution.violations == {{
		"principle": "evolution",
		"code": "request_missing",
		"message": "An evolution_approval request needs an evolution_request object describing the change.",
	}} with input as object.remove(fx.evolution_input({}), ["evolution_request"])
}

test_violations_agent_id_missing if {
	evolution.violations == {{
		"principle": "evolution",
		"code": "field_missing",
		"message": "The evolution request must give agent_id.",
	}} with input as fx.evolution_input({"agent_id": ""})
}

test_violations_only_for_evolution_approval if {
	evolution.violations == set() with input as fx.action_input("evolution.apply")
}
