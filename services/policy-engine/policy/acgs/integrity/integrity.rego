# METADATA
# title: Integrity
# description: |
#   The request is bound to this constitution and well formed enough to judge: it
#   carries the constitutional hash, a known type and, where the type needs one, an
#   action. The host rejects a wrong hash with 400 before evaluating; the policy denies
#   it as well so that it is safe on its own.
package acgs.integrity

import data.acgs.catalogue
import data.acgs.request

# METADATA
# title: Integrity violations
# description: Violations of the integrity principle.
# scope: document
violations contains {
	"principle": "integrity",
	"code": "hash_missing",
	"message": concat("", [
		"The request carries no constitutional hash; it must carry ",
		catalogue.constitutional_hash, ".",
	]),
} if {
	request.constitutional_hash == ""
}

violations contains {
	"principle": "integrity",
	"code": "hash_mismatch",
	"message": concat("", [
		"The request's constitutional hash does not match the constitution in force (",
		catalogue.constitutional_hash, ").",
	]),
} if {
	request.constitutional_hash != ""
	request.constitutional_hash != catalogue.constitutional_hash
}

violations contains {
	"principle": "integrity",
	"code": "request_type_unknown",
	"message": concat("", [
		"The request type must be one of ",
		concat(", ", sort(catalogue.request_types)), ".",
	]),
} if {
	not request.type in catalogue.request_types
}

violations contains {
	"principle": "integrity",
	"code": "action_missing",
	"message": "The request names no action; an action such as data.read is required for this type.",
} if {
	request.type in catalogue.request_types
	request.action == ""
}
