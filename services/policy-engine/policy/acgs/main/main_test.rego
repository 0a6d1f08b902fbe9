# METADATA
# title: Decision tests
# description: The full decision document, allow and health.
package acgs.main_test

import data.acgs.fixtures_test as fx
import data.acgs.main

_normal_mode := {"strict": false, "lockdown": false}

test_decision_compliant_action_allowed if {
	main.decision == {
		"allow": true,
		"compliance_score": 1,
		"threshold": 0.95,
		"reasons": ["all constitutional principles satisfied"],
		"violations": [],
		"safety_violation": false,
		"mode": _normal_mode,
		"constitutional_hash": "cdd01ef066bc6cf2",
	} with input as fx.action_input("data.read")
}

test_decision_dangerous_action_denied if {
	message := "The action system.execute_shell is dangerous and is denied by the constitution in every case."
	main.decision == {
		"allow": false,
		"compliance_score": 0.65,
		"threshold": 0.95,
		"reasons": ["The compliance score 0.65 is below the threshold of 0.95.", message],
		"violations": [
			{
				"principle": "compliance",
				"code": "score_below_threshold",
				"message": "The compliance score 0.65 is below the threshold of 0.95.",
			},
			{"principle": "safety", "code": "dangerous_action", "message": message},
		],
		"safety_violation": true,
		"mode": _normal_mode,
		"constitutional_hash": "cdd01ef066bc6cf2",
	} with input as fx.action_input("system.execute_shell")
}

test_decision_wrong_hash_denied_by_integrity if {
	request := object.union(fx.action_input("data.read"), {"constitutional_hash": "ffffffffffffffff"})
	not main.allow with input as request
	[v.principle | some v in main.decision.violations] == ["integrity"] with input as request
	main.decision.safety_violation == false with input as request
}

test_decision_violations_sorted_by_principle_code_message if {
	request := fx.with_context(fx.action_input("code.execute"), {
		"agent": {"id": "", "trust_level": 0.5},
		"environment": {"sandbox_enabled": false, "audit_enabled": false},
		"explanation": "",
	})
	[[v.principle, v.code] | some v in main.decision.violations] == [
		["accountability", "agent_unidentified"],
		["accountability", "audit_disabled"],
		["compliance", "score_below_threshold"],
		["safety", "audit_required"],
		["safety", "sandbox_required"],
		["safety", "trust_level_too_low"],
		["transparency", "explanation_required"],
	] with input as request
	main.decision.compliance_score == 0.35 with input as request
}

test_decision_evolution_allowed_with_outcome if {
	main.decision == {
		"allow": true,
		"compliance_score": 1,
		"threshold": 0.95,
		"reasons": ["all constitutional principles satisfied", "evolution outcome: fast_track (risk score 0.2)"],
		"violations": [],
		"safety_violation": false,
		"mode": _normal_mode,
		"constitutional_hash": "cdd01ef066bc6cf2",
		"evolution": {"risk_score": 0.2, "outcome": "fast_track", "factors": ["external_dependencies", "priority_low"]},
	} with input as fx.evolution_input({"external_dependencies": true})
}

test_decision_evolution_human_review_still_allowed if {
	main.allow with input as fx.evolution_input({"privilege_escalation": true})
	main.decision.evolution.outcome == "human_review" with input as fx.evolution_input({"privilege_escalation": true})
}

test_decision_evolution_denied_by_lockdown if {
	not main.allow with input as fx.evolution_input({}) with data.runtime as {"lockdown": true}
	main.decision.mode == {"strict": false, "lockdown": true} with input as fx.evolution_input({})
		with data.runtime as {"lockdown": true}
	main.decision.evolution.outcome == "auto_approved" with input as fx.evolution_input({})
		with data.runtime as {"lockdown": true}
}

test_decision_data_access_details if {
	main.decision.data_access == {"classification": "confidential", "requirements_met": true} with input as fx.data_input(fx.confidential_request)
	main.allow with input as fx.data_input(fx.confidential_request)
	main.decision.data_access == {"classification": "restricted", "requirements_met": false} with input as fx.data_input(object.union(fx.confidential_request, {"classification": "restricted"}))
	not main.allow with input as fx.data_input(object.union(fx.confidential_request, {"classification": "restricted"}))
}

test_decision_type_details_only_for_their_type if {
	not main.decision.evolution with input as fx.action_input("data.read")
	not main.decision.data_access with input as fx.evolution_input({})
}

test_decision_lockdown_reason if {
	main.decision.reasons == ["The policy engine is in emergency lockdown: only the read-only actions audit.read, evolution.read, health.check, metrics.read, policy.read are allowed until the lockdown is lifted."] with input as fx.action_input("model.infer")
		with data.runtime as {"lockdown": true}
	main.allow with input as fx.action_input("metrics.read") with data.runtime as {"lockdown": true}
}

test_decision_strict_mode_denies_unknown_action if {
	main.allow with input as fx.action_input("ops.custom_probe")
	not main.allow with input as fx.action_input("ops.custom_probe") with data.runtime as {"strict_mode": true}
	main.decision.threshold == 0.99 with input as fx.action_input("ops.custom_probe") with data.runtime as {"strict_mode": true}
}

test_decision_missing_type_is_constitutional_evaluation if {
	main.allow with input as object.remove(fx.action_input("data.read"), ["type"])
}

test_allow_false_for_empty_input if {
	main.allow == false with input as {}
	main.allow == false
}

test_health_document if {
	main.health == {
		"status": "healthy",
		"constitutional_hash": "cdd01ef066bc6cf2",
		"policy": "acgs.main",
		"principles": [
			"accountability", "compliance", "data_access", "evolution", "integrity",
			"mode", "resources", "safety", "transparency",
		],
	}
}

test_decision_every_known_action_allowed_for_trusted_agent if {
	every action in data.acgs.catalogue.known_actions {
		main.allow with input as fx.action_input(action)
		main.allow with input as fx.action_input(action) with data.runtime as {"strict_mode": true}
	}
}

test_decision_lockdown_allows_exactly_read_only_actions if {
	allowed := {action |
		some action in data.acgs.catalogue.known_actions
		main.allow with input as fx.action_input(action) with data.runtime as {"lockdown": true}
	}
	allowed == data.acgs.catalogue.read_only_actions
}
