# METADATA
# title: Data access tests
# description: Classification, consent, purpose, retention and encryption.
package acgs.data_access_test

import data.acgs.data_access
import data.acgs.fixtures_test as fx

_codes(data_request) := codes if {
	codes := {v.code | some v in data_access.violations} with input as fx.data_input(data_request)
}

test_violations_public_any_purpose_none if {
	data_access.violations == set() with input as fx.data_input({"classification": "public", "purpose": "marketing"})
	data_access.requirements_met with input as fx.data_input({"classification": "public", "purpose": "marketing"})
}

test_violations_complete_confidential_request_none if {
	data_access.violations == set() with input as fx.data_input(fx.confidential_request)
}

test_violations_consent_required if {
	data_access.violations == {{
		"principle": "data_access",
		"code": "consent_required",
		"message": "Access to confidential data needs the data subject's consent.",
	}} with input as fx.data_input(object.remove(fx.confidential_request, ["consent"]))
}

test_violations_internal_needs_no_consent if {
	_codes({"classification": "internal", "purpose": "analytics", "retention_days": 365}) == set()
}

test_violations_purpose_not_allowed if {
	data_access.violations == {{
		"principle": "data_access",
		"code": "purpose_not_allowed",
		"message": "The purpose support is not allowed for restricted data; allowed purposes are audit, compliance, security.",
	}} with input as fx.data_input(object.union(fx.confidential_request, {"classification": "restricted"}))
}

test_violations_purpose_missing if {
	_codes({"classification": "internal", "purpose": " "}) == {"purpose_missing"}
}

test_violations_retention_exceeded if {
	data_access.violations == {{
		"principle": "data_access",
		"code": "retention_exceeded",
		"message": "The retention period of 120 days exceeds the maximum of 90 days for confidential data.",
	}} with input as fx.data_input(object.union(fx.confidential_request, {"retention_days": 120}))
}

test_violations_retention_required if {
	_codes(object.remove(fx.confidential_request, ["retention_days"])) == {"retention_required"}
}

test_violations_retention_invalid if {
	_codes(object.union(fx.confidential_request, {"retention_days": 1.5})) == {"retention_invalid"}
	_codes(object.union(fx.confidential_request, {"retention_days": -1})) == {"retention_invalid"}
}

test_violations_encryption_required if {
	data_access.violations == {{
		"principle": "data_access",
		"code": "encryption_required",
		"message": "Data classified as confidential must be encrypted; the request does not say it is.",
	}} with input as fx.data_input(object.union(fx.confidential_request, {"encrypted": false}))
}

test_violations_classification_unknown if {
	_codes({"classification": "secret", "purpose": "audit"}) == {"classification_unknown"}
	data_access.classification == "secret" with input as fx.data_input({"classification": "secret", "purpose": "audit"})
}

test_violations_request_missing if {
	{v.code | some v in data_access.violations} == {"request_missing", "classification_unknown", "purpose_missing"} with input as object.remove(fx.data_input({}), ["data_request"])
	data_access.classification == "unknown" with input as object.remove(fx.data_input({}), ["data_request"])
	not data_access.requirements_met with input as object.remove(fx.data_input({}), ["data_request"])
}

test_violations_only_for_data_access if {
	data_access.violations == set() with input as fx.action_input("data.export")
}
