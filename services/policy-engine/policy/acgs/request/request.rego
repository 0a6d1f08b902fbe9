# METADATA
# title: Normalised request
# description: |
#   Reads the input once, with defaults, so that the principles never deal with absent
#   or mistyped fields. A field of the wrong type is treated as absent.
package acgs.request

import data.acgs.catalogue

# Note on absent values: a function call with an undefined argument is undefined, and
# so is its negation ("not is_string(input.x)" fails when input.x is absent). That is
# why fields are read here, with an else branch, and the principles test the result.

# METADATA
# title: Request type
# description: |
#   input.type when it is a string; constitutional_evaluation when absent (as in the
#   host's schema); the empty string, which integrity denies, when of another type.
type := input.type if {
	is_string(input.type)
} else := "" if {
	_has_type
} else := "constitutional_evaluation"

_has_type if "type" in object.keys(input)

# METADATA
# title: Constitutional hash
# description: input.constitutional_hash when it is a string, otherwise the empty string.
constitutional_hash := input.constitutional_hash if {
	is_string(input.constitutional_hash)
} else := ""

# METADATA
# title: Default actions
# description: |
#   The action assumed when a request of this type names none. Other types must name
#   their action (integrity denies them otherwise).
default_actions := {
	"data_access": "data.read",
	"evolution_approval": "evolution.approve",
}

# METADATA
# title: Action
# description: input.action, or the default action of the type, or the empty string.
action := input.action if {
	is_string(input.action)
	trim_space(input.action) != ""
} else := object.get(default_actions, type, "")

# METADATA
# title: Context
# description: input.context when it is an object, otherwise an empty object.
context := input.context if {
	is_object(input.context)
} else := {}

# METADATA
# title: Agent
# description: context.agent when it is an object, otherwise an empty object.
agent := _object(context, "agent")

# METADATA
# title: Agent id
# description: context.agent.id when it is a string, otherwise the empty string.
agent_id := trim_space(_string(agent, "id"))

# METADATA
# title: Trust level
# description: context.agent.trust_level when it is a number; missing counts as 0.
trust_level := agent.trust_level if {
	is_number(agent.trust_level)
} else := 0

# METADATA
# title: Environment
# description: context.environment when it is an object, otherwise an empty object.
environment := _object(context, "environment")

# METADATA
# title: Sandbox enabled
# description: True only when context.environment.sandbox_enabled is exactly true.
sandbox_enabled := environment.sandbox_enabled == true

# METADATA
# title: Audit enabled
# description: True only when context.environment.audit_enabled is exactly true.
audit_enabled := environment.audit_enabled == true

# METADATA
# title: Explanation
# description: context.explanation with surrounding white space removed; empty when absent.
explanation := trim_space(_string(context, "explanation"))

# METADATA
# title: Resources
# description: context.resources when it is an object, otherwise an empty object.
resources := _object(context, "resources")

# METADATA
# title: Action-evaluating type
# description: |
#   True for the types that evaluate an action against every principle
#   (constitutional_evaluation, action_authorization, data_access). evolution_approval
#   is judged by integrity, mode, safety and its own risk assessment only.
evaluates_action if type in {"action_authorization", "constitutional_evaluation", "data_access"}

# METADATA
# title: Read-only action
# description: True when the action only observes the engine.
read_only if action in catalogue.read_only_actions

# METADATA
# title: High-impact action
# description: True when transparency requires an explanation for the action.
high_impact if action in catalogue.high_impact_actions

high_impact if {
	not read_only
	some prefix in catalogue.high_impact_prefixes
	startswith(action, prefix)
}

# METADATA
# title: Sandboxed action
# description: True when the action runs code or consumes compute.
sandboxed if action in catalogue.sandboxed_actions

sandboxed if {
	some prefix in catalogue.sandboxed_prefixes
	startswith(action, prefix)
}

_string(obj, key) := obj[key] if {
	is_string(obj[key])
} else := ""

_object(obj, key) := obj[key] if {
	is_object(obj[key])
} else := {}
