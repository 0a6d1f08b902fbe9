# METADATA
# title: Resources
# description: |
#   Declared resource requests (context.resources, optional) stay within the limits:
#   each given value is a positive number no larger than its limit. Applies to the
#   action-evaluating types.
package acgs.resources

import data.acgs.format
import data.acgs.request

# METADATA
# title: Resource limits
# description: The largest value allowed for each declared resource.
limits := {
	"cpu": 2,
	"memory_mb": 2048,
	"timeout_seconds": 600,
}

_codes := {
	"cpu": "cpu_limit_exceeded",
	"memory_mb": "memory_limit_exceeded",
	"timeout_seconds": "timeout_limit_exceeded",
}

# METADATA
# title: Resource violations
# description: Violations of the resources principle.
# scope: document
violations contains {
	"principle": "resources",
	"code": _codes[name],
	"message": concat("", [
		"The requested ", name, " of ", format.decimal(value),
		" exceeds the limit of ", format.decimal(limit), ".",
	]),
} if {
	request.evaluates_action
	some name, limit in limits
	value := request.resources[name]
	is_number(value)
	value > limit
}

violations contains {
	"principle": "resources",
	"code": "resource_value_invalid",
	"message": concat("", ["The requested ", name, " must be a positive number."]),
} if {
	request.evaluates_action
	some name, _ in limits
	value := request.resources[name]
	not _positive_number(value)
}

_positive_number(value) if {
	is_number(value)
	value > 0
}

# METADATA
# title: Resources score
# description: 0 with any violation, otherwise 1.
default score := 1

score := 0 if count(violations) > 0
