# METADATA
# title: Constitutional catalogue
# description: |
#   The static vocabulary of the constitution: the hash it is bound to, the request
#   types, the principles, and the documented action catalogues that the principles
#   refer to. Everything here is data written in Rego so that the compiled wasm is
#   self-contained (the host replaces the whole data document with setData).
package acgs.catalogue

# METADATA
# title: Constitutional hash
# description: The hash every request must carry and every response repeats.
constitutional_hash := "cdd01ef066bc6cf2"

# METADATA
# title: Request types
# description: The values of input.type that the policy evaluates.
request_types := {
	"action_authorization",
	"constitutional_evaluation",
	"data_access",
	"evolution_approval",
}

# METADATA
# title: Principles
# description: Every principle a violation can name, in the order the health document lists them.
principles := [
	"accountability",
	"compliance",
	"data_access",
	"evolution",
	"integrity",
	"mode",
	"resources",
	"safety",
	"transparency",
]

# METADATA
# title: Known actions
# description: |
#   The catalogue of action names the constitution knows. In strict mode any other
#   action is denied. Dangerous actions are not listed: safety denies them in every mode.
known_actions := {
	"agent.create",
	"agent.delete",
	"agent.modify",
	"audit.export",
	"audit.read",
	"code.analyze",
	"code.execute",
	"compute.allocate",
	"compute.run",
	"data.delete",
	"data.export",
	"data.read",
	"data.write",
	"evolution.apply",
	"evolution.approve",
	"evolution.read",
	"evolution.request",
	"evolution.rollback",
	"health.check",
	"metrics.read",
	"model.deploy",
	"model.infer",
	"model.train",
	"policy.read",
	"policy.update",
	"sandbox.execute",
}

# METADATA
# title: Dangerous actions
# description: Actions that safety denies always, whoever asks and in every mode.
dangerous_actions := {
	"auth.escalate_privileges",
	"file.delete_system",
	"network.bypass_firewall",
	"network.raw_socket",
	"process.spawn_root",
	"system.execute_shell",
}

# METADATA
# title: Read-only actions
# description: |
#   Observation of the engine itself. They are the only actions allowed during an
#   emergency lockdown, and they never need an explanation.
read_only_actions := {
	"audit.read",
	"evolution.read",
	"health.check",
	"metrics.read",
	"policy.read",
}

# METADATA
# title: High-impact actions
# description: |
#   Actions whose effect is hard to undo or reaches beyond the agent; transparency
#   requires an explanation for them. Every evolution.* action except the read-only
#   evolution.read is high-impact as well (see high_impact_prefixes).
high_impact_actions := {
	"agent.create",
	"agent.delete",
	"agent.modify",
	"audit.export",
	"code.execute",
	"data.delete",
	"data.export",
	"model.deploy",
	"policy.update",
}

# METADATA
# title: High-impact prefixes
# description: Action name prefixes that make an action high-impact unless it is read-only.
high_impact_prefixes := {"evolution."}

# METADATA
# title: Sandboxed actions
# description: Actions that run code or consume compute outside the prefixes below.
sandboxed_actions := {"model.train", "sandbox.execute"}

# METADATA
# title: Sandboxed prefixes
# description: Action name prefixes that run code or consume compute.
sandboxed_prefixes := {"code.", "compute."}
