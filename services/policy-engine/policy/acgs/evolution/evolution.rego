# METADATA
# title: Evolution approval
# description: |
#   Requests of type evolution_approval (input.evolution_request) get a risk score from
#   the request's flags and an outcome: auto_approved, fast_track or human_review. The
#   outcome is carried by an allowed decision; only an incomplete request is a violation
#   here (safety, integrity and mode can still deny).
package acgs.evolution

import data.acgs.modes
import data.acgs.request

# METADATA
# title: Factor weights
# description: The risk each factor adds; the sum is capped at 1.
factor_weights := {
	"privilege_escalation": 0.4,
	"external_dependencies": 0.2,
	"experimental_features": 0.2,
	"no_rollback_plan": 0.2,
	"no_change_description": 0.2,
	"priority_low": 0,
	"priority_medium": 0.05,
	"priority_high": 0.1,
	"priority_critical": 0.2,
}

# METADATA
# title: Outcome thresholds
# description: |
#   Risk at or above human_review needs human review; at or above fast_track goes
#   through the fast track; below it is approved automatically.
thresholds := {"fast_track": 0.2, "human_review": 0.5}

# METADATA
# title: Required fields
# description: |
#   The evolution_request fields that must be non-empty strings. The host's schema
#   makes the other fields optional; a missing change_description is a risk factor.
required_fields := ["agent_id"]

_applies if request.type == "evolution_approval"

_has_request if is_object(input.evolution_request)

_request := input.evolution_request if {
	is_object(input.evolution_request)
} else := {}

_priority := _request.priority if {
	_request.priority in {"low", "medium", "high", "critical"}
} else := "medium"

_rollback_plan := trim_space(_request.rollback_plan) if {
	is_string(_request.rollback_plan)
} else := ""

# METADATA
# title: Risk factors
# description: |
#   The factors present in the request: the true flags, a missing rollback plan or
#   change description, and the priority (a missing or unknown priority counts as medium).
# scope: document
factors contains flag if {
	some flag in {"privilege_escalation", "external_dependencies", "experimental_features"}
	_request[flag] == true
}

factors contains "no_rollback_plan" if _rollback_plan == ""

factors contains "no_change_description" if not _non_empty_string(object.get(_request, "change_description", null))

factors contains concat("_", ["priority", _priority])

# METADATA
# title: Risk score
# description: The sum of the factor weights, capped at 1 and rounded to four decimals.
risk_score := min([1, round(sum([factor_weights[f] | some f in factors]) * 10000) / 10000])

_risk_outcome := "human_review" if {
	"privilege_escalation" in factors
} else := "human_review" if {
	risk_score >= thresholds.human_review
} else := "fast_track" if {
	risk_score >= thresholds.fast_track
} else := "auto_approved"

# METADATA
# title: Outcome
# description: |
#   The outcome of the risk assessment. Privilege escalation always needs human review;
#   strict mode turns auto_approved into fast_track.
outcome := "fast_track" if {
	modes.strict
	_risk_outcome == "auto_approved"
} else := _risk_outcome

# METADATA
# title: Reported factors
# description: The factors, sorted, plus "strict_mode" when strict mode raised the outcome.
reported_factors := sort(factors | _strict_factor)

_strict_factor := {"strict_mode"} if {
	modes.strict
	_risk_outcome == "auto_approved"
} else := set()

# METADATA
# title: Evolution violations
# description: Violations of the evolution principle.
# scope: document
violations contains {
	"principle": "evolution",
	"code": "request_missing",
	"message": "An evolution_approval request needs an evolution_request object describing the change.",
} if {
	_applies
	not _has_request
}

violations contains {
	"principle": "evolution",
	"code": "field_missing",
	"message": concat("", ["The evolution request must give ", field, "."]),
} if {
	_applies
	_has_request
	some field in required_fields
	not _non_empty_string(object.get(_request, field, null))
}

_non_empty_string(s) if {
	is_string(s)
	trim_space(s) != ""
}
