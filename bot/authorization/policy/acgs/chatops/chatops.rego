# METADATA
# title: ChatOps authorization
# description: |
#   Who may run which /acgs command, at which escalation level of the runbook, and with
#   how many approvals from which roles. Every rule reads its numbers and names from
#   data.authorization (bot/authorization/defaults.json, overridable from the bot's
#   config file), so the rules change without code. The host evaluates decision (the
#   wasm entrypoint acgs/chatops/decision). See bot/authorization/README.md.
package acgs.chatops

# ---------------------------------------------------------------------------------------
# Input

_user_id := input.user.id if {
	is_string(input.user.id)
	input.user.id != ""
}

_roles := {role | some role in input.user.roles; is_string(role)}

_command_name := input.command.name if {
	is_string(input.command.name)
	input.command.name != ""
}

_well_formed if {
	_user_id
	_command_name
}

# The runbook a run starts, as the bot's runbook registry names it (input.runbook, set by the
# command's own hook from its parsed arguments; its level is the registry's, never typed).
_runbook_name := input.runbook.name if {
	is_string(input.runbook.name)
	input.runbook.name != ""
}

_for_runbook if _runbook_name

# A dry run only reads (every step's dry run must), so it is decided as a read-only command.
_dry_run if {
	_for_runbook
	input.runbook.dry_run == true
}

_runbook_rule := object.get(object.get(data.authorization, "runbooks", {}), _runbook_name, {})

_strict if input.modes.strict == true

_lockdown if input.modes.lockdown == true

_break_glass_requested if is_object(input.break_glass)

_break_glass_reason := trim_space(input.break_glass.reason) if is_string(input.break_glass.reason)

else := ""

# The request's time in nanoseconds: input.time is RFC 3339 text or nanoseconds since the epoch.
_now_ns := input.time if is_number(input.time)

_now_ns := ns if {
	is_string(input.time)
	ns := time.parse_rfc3339_ns(input.time)
	is_number(ns)
}

# ---------------------------------------------------------------------------------------
# The command's rule: its level's rule, then the command's own overrides, then (in strict
# mode) the strict patch for that level.

_command_rule := data.authorization.commands[_command_name]

_known if _command_rule

# A run is decided at its runbook's level: 0 for a dry run, the rules' own level for the
# runbook when they set one, else the registry's (4 when it is not a level). An unknown
# command is refused; the level it reports is the registry's claim, or the highest level
# when there is none, so that nothing reads it as harmless.
_level := 0 if _dry_run

else := _runbook_rule.level if {
	_for_runbook
	_runbook_rule.level in {0, 1, 2, 3, 4}
} else := input.runbook.level if {
	_for_runbook
	input.runbook.level in {0, 1, 2, 3, 4}
} else := 4 if {
	_for_runbook
} else := _command_rule.level if {
	_known
} else := input.command.level if {
	input.command.level in {0, 1, 2, 3, 4}
} else := 4

_level_key := format_int(_level, 10)

# The rule that overrides the level's settings: the runbook's for a run (its dry run has
# none: it is read-only), else the command's.
_own_rule := {} if _dry_run

else := _runbook_rule if _for_runbook

else := _command_rule

# One setting: the strict patch, the runbook's or command's own override, the level.
_setting(key) := value if {
	_strict
	value := data.authorization.strict.levels[_level_key][key]
} else := value if {
	key != "level"
	value := _own_rule[key]
} else := data.authorization.levels[_level_key][key]

_everyone := _setting("everyone")

_requesters := _setting("requesters")

_approver_roles := _setting("approver_roles")

_distinct_approvers := _setting("distinct_approvers")

_may_request if _everyone == true

# The scheduler's role holds exactly the commands its jobs run (scheduler.commands), whatever
# their requesters: the bot's maintenance is not the on-call's to have or to lose.
_scheduler_command if {
	"scheduler" in _roles
	_command_name in object.get(object.get(data.authorization, "scheduler", {}), "commands", [])
}

_may_request if _scheduler_command

_may_request if {
	some role in _requesters
	role in _roles
}

# The requester's first role (in the policy's order) that lets them request the command.
_requesting_role := "scheduler" if {
	_scheduler_command
} else := [role | some role in _requesters; role in _roles][0]

# The command's own note, said after the reason when it allows at once or refuses for the
# role: why its rule differs from its level's. Not after "approval_required": a strict-mode
# patch that asks for approvals after all would contradict it.
_note := concat("", [" ", _own_rule.note]) if {
	is_string(_own_rule.note)
} else := ""

# A gate step of a runbook may ask for more approvals than the rules give (input.runbook.approvals,
# from the runbook's code), never fewer: the rules are a floor the runbook's code cannot lower.
_approvals := max([_setting("approvals"), input.runbook.approvals]) if {
	_for_runbook
	not _dry_run
	is_number(input.runbook.approvals)
} else := _setting("approvals")

_strict_raised if {
	_strict
	data.authorization.strict.levels[_level_key].approvals > data.authorization.levels[_level_key].approvals
}

# ---------------------------------------------------------------------------------------
# Modes, channels, freezes, break-glass

_blocked_by_lockdown if {
	_lockdown
	_level > 0
	not _command_name in data.authorization.lockdown.allowed_commands
	not _runbook_in_lockdown
}

# An emergency procedure's runbook may start in lockdown when its rule says so; what it asks
# for on the way goes through this policy again, lockdown and all.
_runbook_in_lockdown if {
	_for_runbook
	_runbook_rule.in_lockdown == true
}

_channel_restricted if {
	_level > 0
	count(data.authorization.channels.changes_only_in) > 0
	is_string(input.channel.id)
	not input.channel.purpose in data.authorization.channels.changes_only_in
}

_freezes_for_level := [freeze | some freeze in data.authorization.freezes; _level in freeze.levels]

_time_needed_but_unknown if {
	count(_freezes_for_level) > 0
	not _now_ns
}

_freeze := [freeze |
	some freeze in _freezes_for_level
	_now_ns >= time.parse_rfc3339_ns(freeze.from)
	_now_ns < time.parse_rfc3339_ns(freeze.to)
][0]

_holds_break_glass_role if {
	some role in data.authorization.break_glass.roles
	role in _roles
}

_break_glass_role := [role | some role in data.authorization.break_glass.roles; role in _roles][0]

# Break-glass is for the levels the rules name, and for a runbook whose own rule allows it
# (an emergency hotfix at Level 2 that cannot wait for an approver).
_break_glass_level_allowed if _level in data.authorization.break_glass.levels

_break_glass_level_allowed if {
	_for_runbook
	not _dry_run
	_runbook_rule.break_glass == true
}

# ---------------------------------------------------------------------------------------
# Words

# Indexed by level.
_level_words := [
	"a read-only command",
	"a Level 1 (automatic) action",
	"a Level 2 (human decision) action",
	"a Level 3 (critical) action",
	"a Level 4 (emergency) action",
]

# What is asked for, quoted: the runbook for a run, else the command.
_what := concat("", ["the dry run of runbook \"", _runbook_name, "\""]) if {
	_dry_run
} else := concat("", ["runbook \"", _runbook_name, "\""]) if {
	_for_runbook
} else := concat("", ["\"", _command_name, "\""])

_subject := concat("", [_what, " is ", _level_words[_level]])

_or_list(words) := words[0] if {
	count(words) == 1
} else := concat(" or ", [concat(", ", array.slice(words, 0, count(words) - 1)), words[count(words) - 1]]) if {
	count(words) > 1
}

_and_list(words) := words[0] if {
	count(words) == 1
} else := concat(" and ", [concat(", ", array.slice(words, 0, count(words) - 1)), words[count(words) - 1]]) if {
	count(words) > 1
}

_roles_phrase(roles) := "nobody" if {
	count(roles) == 0
} else := concat("", ["the ", _or_list(roles), " role"])

_held_phrase := "you hold no role" if {
	count(_roles) == 0
} else := concat("", ["your roles: ", concat(", ", sort(_roles))])

_plural(n, word) := concat(" ", [format_int(n, 10), word]) if {
	n == 1
} else := concat(" ", [format_int(n, 10), concat("", [word, "s"])])

_level_list := concat(", ", [_level_words[level] | some level in sort(data.authorization.break_glass.levels)])

# ---------------------------------------------------------------------------------------
# Outcome: the first rule that applies decides.

_deny(code, reason) := {"allow": false, "code": code, "reason": reason}

_allow(code, reason) := {"allow": true, "code": code, "reason": reason}

_outcome := _deny("bad_input", "The request names no user or no command, so nothing is allowed.") if {
	not _well_formed
} else := _deny("unknown_command", concat("", [
	"\"", _command_name, "\" is not a command the authorization policy knows, so it is refused; ",
	"an administrator can give it a level under authorization.commands in the bot's config file.",
])) if {
	not _known
} else := _deny("lockdown", _lockdown_reason) if {
	_blocked_by_lockdown
} else := _break_glass_outcome if {
	_break_glass_requested
} else := _deny("role", concat("", [
	_subject, " that ", _roles_phrase(_requesters), " may ", _verb, "; ", _held_phrase, ".", _note,
])) if {
	not _may_request
} else := _deny("channel", concat("", [
	_subject, " and may only be requested in the channel configured as ",
	_or_list(data.authorization.channels.changes_only_in), "; type it there.",
])) if {
	_channel_restricted
} else := _deny("time_unknown", concat("", [
	"A change freeze is configured but the request carries no valid time, so ",
	_what, " is refused.",
])) if {
	_time_needed_but_unknown
} else := _deny("change_freeze", concat("", [
	"Changes are frozen until ", _freeze.to, " (", _freeze.reason, "): ", _subject,
	" and is refused; read-only commands still work.",
])) if {
	_freeze
} else := _allow("allowed", concat("", [_subject, _runs_how, ".", _note])) if {
	_approvals == 0
} else := _allow("approval_required", concat("", [
	_subject, ": you may request it, and it runs after ", _plural(_approvals, "approval"),
	_approver_words, " holding ", _roles_phrase(_approver_roles), ", not you",
	_strict_words, ".",
]))

_verb := "run" if _level == 0

else := "request"

_runs_how := "; everyone may run it" if {
	_everyone == true
} else := concat("", [" that your role ", _requesting_role, " may run at once"])

_approver_words := " by different people" if {
	_approvals > 1
	_distinct_approvers == true
} else := " by people" if {
	_approvals > 1
} else := " by someone"

_strict_words := " (strict mode is on)" if _strict_raised

else := ""

_lockdown_reason := concat("", [
	"The stack is in emergency lockdown: only read-only commands and ",
	_and_list(data.authorization.lockdown.allowed_commands),
	" may be requested until it is lifted, so ", _what, " is refused.",
]) if {
	count(data.authorization.lockdown.allowed_commands) > 0
} else := concat("", [
	"The stack is in emergency lockdown: only read-only commands may be requested until it is lifted, so ",
	_what, " is refused.",
])

_break_glass_outcome := _deny("break_glass_role", concat("", [
	"Only ", _roles_phrase(data.authorization.break_glass.roles), " may break glass; ", _held_phrase,
	". Request ", _what, " with approvals instead.",
])) if {
	not _holds_break_glass_role
} else := _deny("break_glass_level", concat("", [
	"Break-glass is only for ", _level_list, "; ", _subject, ", so request it with approvals instead.",
])) if {
	not _break_glass_level_allowed
} else := _deny("break_glass_reason", concat("", [
	"Break-glass needs a reason of at least ", _plural(data.authorization.break_glass.min_reason_length, "character"),
	" saying why ", _what, " cannot wait for approvals.",
])) if {
	count(_break_glass_reason) < data.authorization.break_glass.min_reason_length
} else := _allow("break_glass", concat("", [
	"Break-glass: ", _subject, " and runs at once without approvals because your role ",
	_break_glass_role, " may break glass; it is flagged for review.",
]))

# ---------------------------------------------------------------------------------------
# Decision

_granted_approvals := _approvals if {
	_outcome.code == "approval_required"
} else := 0

_granted_approver_roles := _approver_roles if {
	_outcome.code == "approval_required"
} else := []

_granted_distinct if {
	_outcome.code == "approval_required"
	_distinct_approvers == true
} else := false

# METADATA
# title: Decision
# description: |
#   The authorization decision for one request: allow, a code and a reason a person
#   understands, the escalation level (0 read-only, 1 automatic, 2 human decision,
#   3 critical, 4 emergency), how many approvals are needed, from which roles, whether
#   they must be different people, and whether this is a break-glass. allow with
#   approvals_required > 0 means the user may request it and it waits for approvals.
# entrypoint: true
decision := {
	"allow": _outcome.allow,
	"code": _outcome.code,
	"reason": _outcome.reason,
	"level": _level,
	"approvals_required": _granted_approvals,
	"approver_roles": _granted_approver_roles,
	"distinct_approvers": _granted_distinct,
	"break_glass": _outcome.code == "break_glass",
}
