# METADATA
# title: Data access
# description: |
#   Requests of type data_access (input.data_request) are checked against the rules of
#   their classification: consent, an allowed purpose, a retention period within the
#   maximum, and encryption.
package acgs.data_access

import data.acgs.format
import data.acgs.request

# METADATA
# title: Classification rules
# description: |
#   Per classification: the allowed purposes (empty set = any purpose), the longest
#   retention in days, and whether consent, a declared retention and encryption are
#   required.
rules := {
	"public": {
		"purposes": set(),
		"max_retention_days": 3650,
		"consent_required": false,
		"retention_required": false,
		"encryption_required": false,
	},
	"internal": {
		"purposes": {"analytics", "audit", "compliance", "operations", "research", "security", "support"},
		"max_retention_days": 365,
		"consent_required": false,
		"retention_required": false,
		"encryption_required": false,
	},
	"confidential": {
		"purposes": {"audit", "compliance", "operations", "security", "support"},
		"max_retention_days": 90,
		"consent_required": true,
		"retention_required": true,
		"encryption_required": true,
	},
	"restricted": {
		"purposes": {"audit", "compliance", "security"},
		"max_retention_days": 30,
		"consent_required": true,
		"retention_required": true,
		"encryption_required": true,
	},
}

_applies if request.type == "data_access"

_has_request if is_object(input.data_request)

_request := input.data_request if {
	is_object(input.data_request)
} else := {}

# METADATA
# title: Classification
# description: data_request.classification, or "unknown" when absent or not a string.
classification := _request.classification if {
	is_string(_request.classification)
} else := "unknown"

_rule := rules[classification]

_purpose := trim_space(_request.purpose) if {
	is_string(_request.purpose)
} else := ""

# METADATA
# title: Data access violations
# description: Violations of the data_access principle.
# scope: document
violations contains {
	"principle": "data_access",
	"code": "request_missing",
	"message": "A data_access request needs a data_request object describing the access.",
} if {
	_applies
	not _has_request
}

violations contains {
	"principle": "data_access",
	"code": "classification_unknown",
	"message": concat("", [
		"The data classification must be one of ",
		concat(", ", ["public", "internal", "confidential", "restricted"]), ".",
	]),
} if {
	_applies
	not rules[classification]
}

violations contains {
	"principle": "data_access",
	"code": "consent_required",
	"message": concat("", ["Access to ", classification, " data needs the data subject's consent."]),
} if {
	_applies
	_rule.consent_required
	not _request.consent == true
}

violations contains {
	"principle": "data_access",
	"code": "purpose_missing",
	"message": "The data request must state its purpose.",
} if {
	_applies
	_purpose == ""
}

violations contains {
	"principle": "data_access",
	"code": "purpose_not_allowed",
	"message": concat("", [
		"The purpose ", _purpose, " is not allowed for ", classification,
		" data; allowed purposes are ", concat(", ", sort(_rule.purposes)), ".",
	]),
} if {
	_applies
	_purpose != ""
	count(_rule.purposes) > 0
	not _purpose in _rule.purposes
}

violations contains {
	"principle": "data_access",
	"code": "retention_required",
	"message": concat("", ["Access to ", classification, " data must declare its retention period in days."]),
} if {
	_applies
	_rule.retention_required
	not "retention_days" in object.keys(_request)
}

violations contains {
	"principle": "data_access",
	"code": "retention_invalid",
	"message": "The retention period must be a whole number of days, zero or more.",
} if {
	_applies
	"retention_days" in object.keys(_request)
	not _non_negative_integer(_request.retention_days)
}

violations contains {
	"principle": "data_access",
	"code": "retention_exceeded",
	"message": concat("", [
		"The retention period of ", format.decimal(_request.retention_days), " days exceeds the maximum of ",
		format.decimal(_rule.max_retention_days), " days for ", classification, " data.",
	]),
} if {
	_applies
	_non_negative_integer(_request.retention_days)
	_request.retention_days > _rule.max_retention_days
}

violations contains {
	"principle": "data_access",
	"code": "encryption_required",
	"message": concat("", ["Data classified as ", classification, " must be encrypted; the request does not say it is."]),
} if {
	_applies
	_rule.encryption_required
	not _request.encrypted == true
}

_non_negative_integer(x) if {
	is_number(x)
	x >= 0
	x == floor(x)
}

# METADATA
# title: Requirements met
# description: True when the request satisfies every rule of its classification.
requirements_met := count(violations) == 0

# METADATA
# title: Data access score
# description: 0 with any violation, otherwise 1 (also 1 for types other than data_access).
default score := 1

score := 0 if count(violations) > 0
