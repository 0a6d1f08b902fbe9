# METADATA
# title: Resources tests
# description: Declared resource requests against the limits.
package acgs.resources_test

import data.acgs.fixtures_test as fx
import data.acgs.resources

_with_resources(r) := fx.with_context(fx.action_input("compute.run"), {"resources": r})

test_violations_absent_resources_none if {
	resources.violations == set() with input as fx.action_input("compute.run")
}

test_violations_at_limits_none if {
	resources.violations == set() with input as _with_resources({"cpu": 2, "memory_mb": 2048, "timeout_seconds": 600})
}

test_violations_cpu_over_limit if {
	resources.violations == {{
		"principle": "resources",
		"code": "cpu_limit_exceeded",
		"message": "The requested cpu of 2.5 exceeds the limit of 2.",
	}} with input as _with_resources({"cpu": 2.5})
}

test_violations_memory_over_limit if {
	resources.violations == {{
		"principle": "resources",
		"code": "memory_limit_exceeded",
		"message": "The requested memory_mb of 4096 exceeds the limit of 2048.",
	}} with input as _with_resources({"cpu": 1, "memory_mb": 4096})
}

test_violations_timeout_over_limit if {
	resources.violations == {{
		"principle": "resources",
		"code": "timeout_limit_exceeded",
		"message": "The requested timeout_seconds of 601 exceeds the limit of 600.",
	}} with input as _with_resources({"timeout_seconds": 601})
}

test_violations_non_positive_values_invalid if {
	resources.violations == {
		{
			"principle": "resources",
			"code": "resource_value_invalid",
			"message": "The requested cpu must be a positive number.",
		},
		{
			"principle": "resources",
			"code": "resource_value_invalid",
			"message": "The requested timeout_seconds must be a positive number.",
		},
	} with input as _with_resources({"cpu": 0, "memory_mb": 512, "timeout_seconds": -1})
}

test_violations_not_evaluated_for_evolution_approval if {
	resources.violations == set() with input as fx.with_context(fx.evolution_input({}), {"resources": {"cpu": 64}})
}

test_score_over_limit_is_zero if {
	resources.score == 0 with input as _with_resources({"cpu": 3})
}
