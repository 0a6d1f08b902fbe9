# METADATA
# title: Warm set tests
# description: |
#   The warm set (warm_set.json beside this file, loaded by opa test as
#   data.acgs.warm) covers the action catalogue and gives the decisions its
#   documentation promises in each mode.
package acgs.warm_test

import data.acgs.catalogue
import data.acgs.main

_inputs := data.acgs.warm.inputs

_allowed(runtime) := {i | some i in _inputs; main.allow with input as i with data.runtime as runtime}

test_inputs_cover_the_action_catalogue if {
	{i.action | some i in _inputs; i.type == "constitutional_evaluation"} == catalogue.known_actions
	{i.type | some i in _inputs} == catalogue.request_types - {"action_authorization"}
}

test_inputs_all_allowed_in_normal_and_strict_mode if {
	count(_allowed({})) == count(_inputs)
	count(_allowed({"strict_mode": true})) == count(_inputs)
}

test_inputs_only_read_only_allowed_in_lockdown if {
	{i.action | some i in _allowed({"lockdown": true})} == catalogue.read_only_actions
}
