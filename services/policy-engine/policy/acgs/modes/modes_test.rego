# METADATA
# title: Modes tests
# description: Strict mode and emergency lockdown from the runtime data document.
package acgs.modes_test

import data.acgs.fixtures_test as fx
import data.acgs.modes

test_strict_false_without_runtime_data if {
	not modes.strict
	not modes.lockdown
	modes.violations == set() with input as fx.action_input("ops.custom_probe")
}

test_strict_only_when_exactly_true if {
	modes.strict with data.runtime as {"strict_mode": true}
	not modes.strict with data.runtime as {"strict_mode": "yes"}
	not modes.lockdown with data.runtime as {"lockdown": 1}
}

test_violations_strict_denies_unknown_action if {
	modes.violations == {{
		"principle": "mode",
		"code": "unknown_action",
		"message": "Strict mode is on and the action ops.custom_probe is not in the catalogue of known actions.",
	}} with input as fx.action_input("ops.custom_probe")
		with data.runtime as {"strict_mode": true}
}

test_violations_strict_allows_known_action if {
	modes.violations == set() with input as fx.action_input("model.infer")
		with data.runtime as {"strict_mode": true}
}

test_violations_lockdown_denies_ordinary_action if {
	modes.violations == {{
		"principle": "mode",
		"code": "emergency_lockdown",
		"message": "The policy engine is in emergency lockdown: only the read-only actions audit.read, evolution.read, health.check, metrics.read, policy.read are allowed until the lockdown is lifted.",
	}} with input as fx.action_input("data.read")
		with data.runtime as {"lockdown": true}
}

test_violations_lockdown_allows_read_only_actions if {
	every action in data.acgs.catalogue.read_only_actions {
		modes.violations == set() with input as fx.action_input(action)
			with data.runtime as {"lockdown": true, "strict_mode": true}
	}
}

test_violations_lockdown_denies_data_access_and_evolution if {
	{v.code | some v in modes.violations} == {"emergency_lockdown"} with input as fx.data_input({"classification": "public", "purpose": "audit"})
		with data.runtime as {"lockdown": true}
	{v.code | some v in modes.violations} == {"emergency_lockdown"} with input as object.union(fx.evolution_input({}), {"action": "evolution.read"})
		with data.runtime as {"lockdown": true}
}
