# METADATA
# title: ACGS-1 Lite constitution
# description: |
#   Entry point of the Policy Engine's constitutional policy. The host evaluates
#   decision, allow and health (the wasm entrypoints acgs/main/decision,
#   acgs/main/allow and acgs/main/health). See services/policy-engine/POLICY.md.
package acgs.main

import data.acgs.accountability
import data.acgs.catalogue
import data.acgs.compliance
import data.acgs.data_access
import data.acgs.evolution
import data.acgs.format
import data.acgs.integrity
import data.acgs.modes
import data.acgs.request
import data.acgs.resources
import data.acgs.safety
import data.acgs.transparency

# METADATA
# title: Violations
# description: |
#   Every violation of every principle, sorted by principle, code and message so that
#   the same input always gives the same array.
violations := [v |
	some key in sort([[v.principle, v.code, v.message] | some v in _all_violations])
	v := {"principle": key[0], "code": key[1], "message": key[2]}
]

_all_violations := (((((((integrity.violations | modes.violations) | safety.violations) | resources.violations) | transparency.violations) | accountability.violations) | data_access.violations) | evolution.violations) | compliance.violations

_allowed_reasons := ["all constitutional principles satisfied"]

_reasons := [v.message | some v in violations] if {
	count(violations) > 0
} else := array.concat(_allowed_reasons, [_evolution_reason]) if {
	request.type == "evolution_approval"
} else := _allowed_reasons

_evolution_reason := concat("", [
	"evolution outcome: ", evolution.outcome,
	" (risk score ", format.decimal(evolution.risk_score), ")",
])

_base_decision := {
	"allow": count(violations) == 0,
	"compliance_score": compliance.score,
	"threshold": compliance.threshold,
	"reasons": _reasons,
	"violations": violations,
	"safety_violation": count(safety.violations) > 0,
	"mode": {"strict": modes.strict, "lockdown": modes.lockdown},
	"constitutional_hash": catalogue.constitutional_hash,
}

_type_details := {"evolution": {
	"risk_score": evolution.risk_score,
	"outcome": evolution.outcome,
	"factors": evolution.reported_factors,
}} if {
	request.type == "evolution_approval"
} else := {"data_access": {
	"classification": data_access.classification,
	"requirements_met": data_access.requirements_met,
}} if {
	request.type == "data_access"
} else := {}

# METADATA
# title: Decision
# description: |
#   The full constitutional decision: allow, the compliance score and threshold,
#   reasons, sorted violations, the safety flag, the modes, the constitutional hash,
#   and the evolution or data_access details for those request types.
# entrypoint: true
decision := object.union(_base_decision, _type_details)

# METADATA
# title: Allow
# description: decision.allow, always a boolean.
# entrypoint: true
default allow := false

allow := decision.allow

# METADATA
# title: Health
# description: The policy's health document.
# entrypoint: true
health := {
	"status": "healthy",
	"constitutional_hash": catalogue.constitutional_hash,
	"policy": "acgs.main",
	"principles": catalogue.principles,
}
