# METADATA
# title: Integrity tests
# description: The constitutional hash, the request type and the action.
package acgs.integrity_test

import data.acgs.fixtures_test as fx
import data.acgs.integrity

test_violations_well_formed_request_none if {
	integrity.violations == set() with input as fx.action_input("data.read")
}

test_violations_hash_missing if {
	integrity.violations == {{
		"principle": "integrity",
		"code": "hash_missing",
		"message": "The request carries no constitutional hash; it must carry cdd01ef066bc6cf2.",
	}} with input as object.remove(fx.action_input("data.read"), ["constitutional_hash"])
}

test_violations_hash_mismatch if {
	integrity.violations == {{
		"principle": "integrity",
		"code": "hash_mismatch",
		"message": "The request's constitutional hash does not match the constitution in force (cdd01ef066bc6cf2).",
	}} with input as object.union(fx.action_input("data.read"), {"constitutional_hash": "0000000000000000"})
}

test_violations_hash_of_wrong_type_is_missing if {
	{v.code | some v in integrity.violations} == {"hash_missing"} with input as object.union(fx.action_input("data.read"), {"constitutional_hash": 42})
}

test_violations_request_type_unknown if {
	integrity.violations == {{
		"principle": "integrity",
		"code": "request_type_unknown",
		"message": "The request type must be one of action_authorization, constitutional_evaluation, data_access, evolution_approval.",
	}} with input as object.union(fx.action_input("data.read"), {"type": "policy_override"})
}

test_violations_action_missing if {
	integrity.violations == {{
		"principle": "integrity",
		"code": "action_missing",
		"message": "The request names no action; an action such as data.read is required for this type.",
	}} with input as object.remove(fx.action_input("data.read"), ["action"])
}

test_violations_default_actions_for_evolution_and_data_types if {
	integrity.violations == set() with input as object.remove(fx.evolution_input({}), ["action"])
	integrity.violations == set() with input as object.remove(fx.data_input(fx.confidential_request), ["action"])
}
