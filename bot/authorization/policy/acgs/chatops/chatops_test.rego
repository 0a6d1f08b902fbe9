# METADATA
# title: ChatOps authorization tests
# description: |
#   Every rule of acgs.chatops, against the committed defaults (loaded by scripts/test.sh
#   as data.authorization from bot/authorization/defaults.json) and against data changed
#   with `with`, asserting exact decisions.
package acgs.chatops_test

import data.acgs.chatops

_now := "2026-03-02T10:00:00Z"

_request(roles, name) := {
	"user": {"id": "U0REQUEST", "roles": roles},
	"command": {"name": name, "args": {}, "level": 0},
	"channel": {"id": "C0OPS", "purpose": "ops"},
	"modes": {"strict": false, "lockdown": false},
	"time": _now,
}

_in_lockdown(request) := object.union(request, {"modes": {"strict": false, "lockdown": true}})

_in_strict_mode(request) := object.union(request, {"modes": {"strict": true, "lockdown": false}})

_breaking_glass(request, reason) := object.union(request, {"break_glass": {"reason": reason}})

_denied(code, level, reason) := {
	"allow": false,
	"code": code,
	"reason": reason,
	"level": level,
	"approvals_required": 0,
	"approver_roles": [],
	"distinct_approvers": false,
	"break_glass": false,
}

_allowed(level, reason) := {
	"allow": true,
	"code": "allowed",
	"reason": reason,
	"level": level,
	"approvals_required": 0,
	"approver_roles": [],
	"distinct_approvers": false,
	"break_glass": false,
}

_needs_approvals(level, approvals, reason) := {
	"allow": true,
	"code": "approval_required",
	"reason": reason,
	"level": level,
	"approvals_required": approvals,
	"approver_roles": ["approvers", "admins"],
	"distinct_approvers": true,
	"break_glass": false,
}

# ---------------------------------------------------------------------------------------
# The default levels

test_decision_levels_match_the_runbook_defaults if {
	expected := {
		"health": 0, "logs": 0, "can": 0, "audit verify": 0,
		"restart": 1, "cache warm": 1,
		"scale": 2, "cache clear": 2, "strict-mode": 2, "db kill-idle": 2, "evolution review": 2,
		"redis flush": 3, "lockdown lift": 3,
		"lockdown": 4,
	}
	every name, level in expected {
		chatops.decision.level == level with input as _request(["oncall"], name)
	}
}

test_decision_every_read_only_command_is_open_to_a_user_without_role if {
	read_only := [name | some name, rule in data.authorization.commands; rule.level == 0]
	count(read_only) > 10
	every name in read_only {
		chatops.decision.code == "allowed" with input as _request([], name)
	}
}

# ---------------------------------------------------------------------------------------
# Read-only commands

test_decision_read_only_allowed_for_everyone if {
	chatops.decision == _allowed(0, "\"health\" is a read-only command; everyone may run it.") with input as _request([], "health")
}

test_decision_read_only_closed_by_command_override if {
	commands := object.union(data.authorization.commands, {"logs": {"level": 0, "everyone": false, "requesters": ["oncall"]}})
	chatops.decision == _denied("role", 0, "\"logs\" is a read-only command that the oncall role may run; you hold no role.") with input as _request([], "logs")
		with data.authorization.commands as commands
	chatops.decision == _allowed(0, "\"logs\" is a read-only command that your role oncall may run at once.") with input as _request(["oncall"], "logs")
		with data.authorization.commands as commands
}

# ---------------------------------------------------------------------------------------
# Level 1

test_decision_level1_allowed_for_oncall if {
	chatops.decision == _allowed(1, "\"restart\" is a Level 1 (automatic) action that your role oncall may run at once.") with input as _request(["oncall"], "restart")
}

test_decision_level1_allowed_for_admins if {
	chatops.decision == _allowed(1, "\"cache warm\" is a Level 1 (automatic) action that your role admins may run at once.") with input as _request(["approvers", "admins"], "cache warm")
}

test_decision_level1_denied_without_role if {
	chatops.decision == _denied("role", 1, "\"restart\" is a Level 1 (automatic) action that the oncall or admins role may request; you hold no role.") with input as _request([], "restart")
}

test_decision_level1_denied_for_approvers_only if {
	chatops.decision == _denied("role", 1, "\"cache warm\" is a Level 1 (automatic) action that the oncall or admins role may request; your roles: approvers, viewers.") with input as _request(["viewers", "approvers"], "cache warm")
}

test_decision_scheduler_runs_its_jobs_commands if {
	chatops.decision == _allowed(1, "\"report daily\" is a Level 1 (automatic) action that your role scheduler may run at once. Posts the daily health report with its charts to channels.reports (else ops).") with input as _request(["scheduler"], "report daily")
}

test_decision_scheduler_refused_other_commands if {
	chatops.decision == _denied("role", 1, "\"restart\" is a Level 1 (automatic) action that the oncall or admins role may request; your roles: scheduler.") with input as _request(["scheduler"], "restart")
}

test_decision_scheduler_refused_a_command_taken_from_it if {
	chatops.decision.code == "role" with input as _request(["scheduler"], "report daily")
		with data.authorization.scheduler.commands as ["backup"]
}

test_decision_roles_that_are_not_strings_are_ignored if {
	chatops.decision.code == "role" with input as _request([1, {"role": "oncall"}, null], "restart")
}

# ---------------------------------------------------------------------------------------
# Levels 2 to 4: approvals

test_decision_level2_needs_one_approver if {
	chatops.decision == _needs_approvals(2, 1, "\"scale\" is a Level 2 (human decision) action: you may request it, and it runs after 1 approval by someone holding the approvers or admins role, not you.") with input as _request(["oncall"], "scale")
}

test_decision_level2_every_default_command_needs_one_approver if {
	every name in ["scale", "cache clear", "strict-mode", "db kill-idle"] {
		chatops.decision.code == "approval_required" with input as _request(["oncall"], name)
		chatops.decision.approvals_required == 1 with input as _request(["oncall"], name)
		chatops.decision.approver_roles == ["approvers", "admins"] with input as _request(["oncall"], name)
	}
}

# ---------------------------------------------------------------------------------------
# Evolution review: the reviewer is the one human decision of Level 2 (a command override
# in the data: approvers and admins request it, no further approval).

_review_note := "Reviewing a proposal is itself the one human decision of Level 2, so the reviewer needs an approver role and no further approval."

test_decision_evolution_review_runs_at_once_for_an_approver if {
	chatops.decision == _allowed(2, concat("", ["\"evolution review\" is a Level 2 (human decision) action that your role approvers may run at once. ", _review_note])) with input as _request(["approvers"], "evolution review")
}

test_decision_evolution_review_runs_at_once_for_an_admin if {
	chatops.decision == _allowed(2, concat("", ["\"evolution review\" is a Level 2 (human decision) action that your role admins may run at once. ", _review_note])) with input as _request(["admins"], "evolution review")
}

test_decision_evolution_review_refused_for_oncall_and_for_no_role if {
	chatops.decision == _denied("role", 2, concat("", ["\"evolution review\" is a Level 2 (human decision) action that the approvers or admins role may request; your roles: oncall. ", _review_note])) with input as _request(["oncall"], "evolution review")
	chatops.decision == _denied("role", 2, concat("", ["\"evolution review\" is a Level 2 (human decision) action that the approvers or admins role may request; you hold no role. ", _review_note])) with input as _request([], "evolution review")
}

test_decision_evolution_review_refused_in_lockdown if {
	chatops.decision.code == "lockdown" with input as _in_lockdown(_request(["approvers"], "evolution review"))
}

test_decision_evolution_review_strict_patch_still_applies if {
	chatops.decision == _needs_approvals(2, 1, "\"evolution review\" is a Level 2 (human decision) action: you may request it, and it runs after 1 approval by someone holding the approvers or admins role, not you.") with input as _in_strict_mode(_request(["approvers"], "evolution review"))
		with data.authorization.strict.levels as {"2": {"approvals": 1}}
}

test_decision_note_only_from_the_command_rule if {
	chatops.decision.reason == "\"restart\" is a Level 1 (automatic) action that your role oncall may run at once." with input as _request(["oncall"], "restart")
	chatops.decision.reason == "\"restart\" is a Level 1 (automatic) action that your role oncall may run at once. Restarts are logged." with input as _request(["oncall"], "restart")
		with data.authorization.commands.restart as {"level": 1, "note": "Restarts are logged."}
}

test_decision_level3_needs_two_distinct_approvers if {
	chatops.decision == _needs_approvals(3, 2, "\"redis flush\" is a Level 3 (critical) action: you may request it, and it runs after 2 approvals by different people holding the approvers or admins role, not you.") with input as _request(["oncall"], "redis flush")
	chatops.decision == _needs_approvals(3, 2, "\"lockdown lift\" is a Level 3 (critical) action: you may request it, and it runs after 2 approvals by different people holding the approvers or admins role, not you.") with input as _request(["admins"], "lockdown lift")
}

test_decision_level4_needs_two_distinct_approvers if {
	chatops.decision == _needs_approvals(4, 2, "\"lockdown\" is a Level 4 (emergency) action: you may request it, and it runs after 2 approvals by different people holding the approvers or admins role, not you.") with input as _request(["oncall"], "lockdown")
}

test_decision_level2_denied_for_approvers_only if {
	chatops.decision == _denied("role", 2, "\"scale\" is a Level 2 (human decision) action that the oncall or admins role may request; your roles: approvers.") with input as _request(["approvers"], "scale")
}

test_decision_approvals_without_distinct_approvers if {
	chatops.decision == {
		"allow": true,
		"code": "approval_required",
		"reason": "\"redis flush\" is a Level 3 (critical) action: you may request it, and it runs after 2 approvals by people holding the approvers role, not you.",
		"level": 3,
		"approvals_required": 2,
		"approver_roles": ["approvers"],
		"distinct_approvers": false,
		"break_glass": false,
	} with input as _request(["oncall"], "redis flush")
		with data.authorization.levels["3"] as {"everyone": false, "requesters": ["oncall"], "approvals": 2, "approver_roles": ["approvers"], "distinct_approvers": false}
}

test_decision_command_override_changes_approvals_and_requesters if {
	commands := object.union(data.authorization.commands, {"scale": {"level": 2, "approvals": 2, "requesters": ["approvers"]}})
	chatops.decision == _needs_approvals(2, 2, "\"scale\" is a Level 2 (human decision) action: you may request it, and it runs after 2 approvals by different people holding the approvers or admins role, not you.") with input as _request(["approvers"], "scale")
		with data.authorization.commands as commands
	chatops.decision.code == "role" with input as _request(["oncall"], "scale")
		with data.authorization.commands as commands
}

test_decision_level_with_no_requesters_names_nobody if {
	chatops.decision == _denied("role", 4, "\"lockdown\" is a Level 4 (emergency) action that nobody may request; your roles: admins.") with input as _request(["admins"], "lockdown")
		with data.authorization.levels["4"].requesters as []
		with data.authorization.commands.lockdown as {"level": 4}
}

test_decision_alert_escalation_may_request_lockdown_only if {
	chatops.decision == _needs_approvals(4, 2, "\"lockdown\" is a Level 4 (emergency) action: you may request it, and it runs after 2 approvals by different people holding the approvers or admins role, not you.") with input as _request(["alert-escalation"], "lockdown")
	chatops.decision.code == "role" with input as _request(["alert-escalation"], "restart")
	chatops.decision.code == "role" with input as _request(["alert-escalation"], "lockdown lift")
}

# ---------------------------------------------------------------------------------------
# Unknown commands and malformed input

test_decision_unknown_command_denied_at_its_claimed_level if {
	chatops.decision == _denied("unknown_command", 2, "\"canary\" is not a command the authorization policy knows, so it is refused; an administrator can give it a level under authorization.commands in the bot's config file.") with input as object.union(_request(["admins"], "canary"), {"command": {"name": "canary", "level": 2}})
}

test_decision_unknown_command_without_level_reports_level4 if {
	chatops.decision.level == 4 with input as object.union(_request(["admins"], "canary"), {"command": {"name": "canary", "level": "high"}})
	chatops.decision.allow == false with input as object.union(_request(["admins"], "canary"), {"command": {"name": "canary", "level": "high"}})
}

test_decision_registry_level_never_overrides_the_data if {
	chatops.decision.level == 4 with input as object.union(_request(["oncall"], "lockdown"), {"command": {"name": "lockdown", "level": 0}})
}

test_decision_bad_input_without_user if {
	chatops.decision == _denied("bad_input", 0, "The request names no user or no command, so nothing is allowed.") with input as object.remove(_request(["oncall"], "health"), {"user"})
	chatops.decision.code == "bad_input" with input as object.union(_request(["oncall"], "health"), {"user": {"id": "", "roles": ["oncall"]}})
}

test_decision_bad_input_without_command if {
	chatops.decision == _denied("bad_input", 4, "The request names no user or no command, so nothing is allowed.") with input as object.remove(_request(["oncall"], "health"), {"command"})
	chatops.decision.code == "bad_input" with input as object.union(_request(["oncall"], "health"), {"command": {"name": 7}})
}

# ---------------------------------------------------------------------------------------
# Lockdown

test_decision_lockdown_refuses_changes if {
	chatops.decision == _denied("lockdown", 2, "The stack is in emergency lockdown: only read-only commands and lockdown lift, alerts ack, alerts snooze, alerts resolve, incident declare, incident update, incident note, incident commander, incident role, incident severity, incident type, incident resolve, incident close, incident action, checklist tick and checklist untick may be requested until it is lifted, so \"scale\" is refused.") with input as _in_lockdown(_request(["oncall"], "scale"))
	chatops.decision.code == "lockdown" with input as _in_lockdown(_request(["admins"], "restart"))
	chatops.decision.code == "lockdown" with input as _in_lockdown(_request(["admins"], "lockdown"))
}

test_decision_lockdown_keeps_read_only_and_lift if {
	chatops.decision == _allowed(0, "\"health\" is a read-only command; everyone may run it.") with input as _in_lockdown(_request([], "health"))
	chatops.decision == _needs_approvals(3, 2, "\"lockdown lift\" is a Level 3 (critical) action: you may request it, and it runs after 2 approvals by different people holding the approvers or admins role, not you.") with input as _in_lockdown(_request(["oncall"], "lockdown lift"))
}

test_decision_lockdown_with_nothing_allowed if {
	chatops.decision == _denied("lockdown", 3, "The stack is in emergency lockdown: only read-only commands may be requested until it is lifted, so \"lockdown lift\" is refused.") with input as _in_lockdown(_request(["oncall"], "lockdown lift"))
		with data.authorization.lockdown.allowed_commands as []
}

test_decision_lockdown_only_when_exactly_true if {
	chatops.decision.code == "approval_required" with input as object.union(_request(["oncall"], "scale"), {"modes": {"lockdown": "yes"}})
}

test_decision_lockdown_comes_before_break_glass if {
	chatops.decision.code == "lockdown" with input as _breaking_glass(_in_lockdown(_request(["admins"], "lockdown")), "violations keep rising")
}

# ---------------------------------------------------------------------------------------
# Break-glass

test_decision_break_glass_by_admin_runs_level4_at_once if {
	chatops.decision == {
		"allow": true,
		"code": "break_glass",
		"reason": "Break-glass: \"lockdown\" is a Level 4 (emergency) action and runs at once without approvals because your role admins may break glass; it is flagged for review.",
		"level": 4,
		"approvals_required": 0,
		"approver_roles": [],
		"distinct_approvers": false,
		"break_glass": true,
	} with input as _breaking_glass(_request(["admins"], "lockdown"), "  safety violations at 40 per minute  ")
}

test_decision_break_glass_refused_without_admin_role if {
	chatops.decision == _denied("break_glass_role", 4, "Only the admins role may break glass; your roles: oncall. Request \"lockdown\" with approvals instead.") with input as _breaking_glass(_request(["oncall"], "lockdown"), "safety violations at 40 per minute")
}

test_decision_break_glass_refused_below_level4 if {
	chatops.decision == _denied("break_glass_level", 2, "Break-glass is only for a Level 4 (emergency) action; \"scale\" is a Level 2 (human decision) action, so request it with approvals instead.") with input as _breaking_glass(_request(["admins"], "scale"), "traffic is doubling right now")
}

test_decision_break_glass_for_a_level2_runbook_whose_rule_allows_it if {
	chatops.decision.code == "break_glass" with input as _breaking_glass(_run(["admins"], "hotfix", 2), "policy engine down, approvers asleep")
		with data.authorization.runbooks as {"hotfix": {"break_glass": true}}
	chatops.decision.code == "break_glass_level" with input as _breaking_glass(_run(["admins"], "deploy", 2), "policy engine down, approvers asleep")
		with data.authorization.runbooks as {"hotfix": {"break_glass": true}}
	chatops.decision.code == "break_glass_role" with input as _breaking_glass(_run(["oncall"], "hotfix", 2), "policy engine down, approvers asleep")
		with data.authorization.runbooks as {"hotfix": {"break_glass": true}}
}

test_decision_break_glass_refused_without_reason if {
	reason := "Break-glass needs a reason of at least 10 characters saying why \"lockdown\" cannot wait for approvals."
	chatops.decision == _denied("break_glass_reason", 4, reason) with input as _breaking_glass(_request(["admins"], "lockdown"), "        now       ")
	chatops.decision == _denied("break_glass_reason", 4, reason) with input as object.union(_request(["admins"], "lockdown"), {"break_glass": {}})
	chatops.decision == _denied("break_glass_reason", 4, reason) with input as _breaking_glass(_request(["admins"], "lockdown"), 12345678901)
}

test_decision_break_glass_ignores_change_freeze if {
	chatops.decision.code == "break_glass" with input as _breaking_glass(_request(["admins"], "lockdown"), "safety violations at 40 per minute")
		with data.authorization.freezes as [{"from": "2026-03-01T00:00:00Z", "to": "2026-03-03T00:00:00Z", "reason": "release", "levels": [4]}]
}

# ---------------------------------------------------------------------------------------
# Strict mode

test_decision_strict_patch_raises_level1_to_an_approval if {
	chatops.decision == {
		"allow": true,
		"code": "approval_required",
		"reason": "\"restart\" is a Level 1 (automatic) action: you may request it, and it runs after 1 approval by someone holding the approvers role, not you (strict mode is on).",
		"level": 1,
		"approvals_required": 1,
		"approver_roles": ["approvers"],
		"distinct_approvers": true,
		"break_glass": false,
	} with input as _in_strict_mode(_request(["oncall"], "restart"))
		with data.authorization.strict.levels as {"1": {"approvals": 1, "approver_roles": ["approvers"], "distinct_approvers": true}}
}

test_decision_strict_patch_only_in_strict_mode if {
	chatops.decision.code == "allowed" with input as _request(["oncall"], "restart")
		with data.authorization.strict.levels as {"1": {"approvals": 1, "approver_roles": ["approvers"], "distinct_approvers": true}}
}

test_decision_strict_defaults_change_nothing if {
	chatops.decision == _allowed(1, "\"restart\" is a Level 1 (automatic) action that your role oncall may run at once.") with input as _in_strict_mode(_request(["oncall"], "restart"))
}

# ---------------------------------------------------------------------------------------
# Channels

_ops_only := {"changes_only_in": ["ops", "approvals"]}

test_decision_channel_restriction_refuses_other_channels if {
	request := object.union(_request(["oncall"], "restart"), {"channel": {"id": "C0ALERTS", "purpose": "alerts"}})
	chatops.decision == _denied("channel", 1, "\"restart\" is a Level 1 (automatic) action and may only be requested in the channel configured as ops or approvals; type it there.") with input as request
		with data.authorization.channels as _ops_only
	chatops.decision.code == "channel" with input as object.union(request, {"channel": {"id": "C0RANDOM"}})
		with data.authorization.channels as _ops_only
}

test_decision_channel_restriction_allows_listed_channels_reads_and_cli if {
	chatops.decision.code == "allowed" with input as _request(["oncall"], "restart")
		with data.authorization.channels as _ops_only
	chatops.decision.code == "allowed" with input as object.union(_request([], "health"), {"channel": {"id": "C0ALERTS", "purpose": "alerts"}})
		with data.authorization.channels as _ops_only
	chatops.decision.code == "allowed" with input as object.remove(_request(["oncall"], "restart"), {"channel"})
		with data.authorization.channels as _ops_only
}

# ---------------------------------------------------------------------------------------
# Change freezes (time)

_freeze := {"from": "2026-03-01T00:00:00Z", "to": "2026-03-03T00:00:00Z", "reason": "quarter-end release", "levels": [2, 3]}

test_decision_change_freeze_refuses_frozen_levels if {
	chatops.decision == _denied("change_freeze", 2, "Changes are frozen until 2026-03-03T00:00:00Z (quarter-end release): \"scale\" is a Level 2 (human decision) action and is refused; read-only commands still work.") with input as _request(["oncall"], "scale")
		with data.authorization.freezes as [_freeze]
}

test_decision_change_freeze_accepts_nanoseconds if {
	chatops.decision.code == "change_freeze" with input as object.union(_request(["oncall"], "scale"), {"time": 1772445600000000000})
		with data.authorization.freezes as [_freeze]
	chatops.decision.code == "approval_required" with input as object.union(_request(["oncall"], "scale"), {"time": 1772532000000000000})
		with data.authorization.freezes as [_freeze]
}

test_decision_change_freeze_outside_window_or_level if {
	chatops.decision.code == "approval_required" with input as object.union(_request(["oncall"], "scale"), {"time": "2026-03-03T00:00:00Z"})
		with data.authorization.freezes as [_freeze]
	chatops.decision.code == "approval_required" with input as object.union(_request(["oncall"], "scale"), {"time": "2026-02-28T23:59:59+00:00"})
		with data.authorization.freezes as [_freeze]
	chatops.decision.code == "allowed" with input as _request(["oncall"], "restart")
		with data.authorization.freezes as [_freeze]
}

test_decision_change_freeze_needs_a_valid_time if {
	chatops.decision == _denied("time_unknown", 2, "A change freeze is configured but the request carries no valid time, so \"scale\" is refused.") with input as object.remove(_request(["oncall"], "scale"), {"time"})
		with data.authorization.freezes as [_freeze]
	chatops.decision.code == "time_unknown" with input as object.union(_request(["oncall"], "scale"), {"time": "yesterday"})
		with data.authorization.freezes as [_freeze]
}

test_decision_time_not_needed_without_freezes if {
	chatops.decision.code == "approval_required" with input as object.remove(_request(["oncall"], "scale"), {"time"})
}

# ---------------------------------------------------------------------------------------
# Runs of runbooks: decided at the runbook's level, with the runbook's own settings

_run(roles, name, level) := object.union(_request(roles, "run"), {"runbook": {"name": name, "level": level, "dry_run": false}})

_dry_run(roles, name, level) := object.union(_request(roles, "run"), {"runbook": {"name": name, "level": level, "dry_run": true}})

test_decision_run_of_a_level3_runbook_needs_two_distinct_approvers if {
	chatops.decision == _needs_approvals(3, 2, "runbook \"restore\" is a Level 3 (critical) action: you may request it, and it runs after 2 approvals by different people holding the approvers or admins role, not you.") with input as _run(["oncall"], "restore", 3)
}

test_decision_run_of_a_level0_runbook_is_open_to_a_user_without_role if {
	chatops.decision == _allowed(0, "runbook \"health-check\" is a read-only command; everyone may run it.") with input as _run([], "health-check", 0)
}

test_decision_run_of_a_level1_runbook_is_the_level_rule_not_the_commands_note if {
	chatops.decision == _allowed(1, "runbook \"backup\" is a Level 1 (automatic) action that your role oncall may run at once.") with input as _run(["oncall"], "backup", 1)
}

test_decision_run_of_a_level2_runbook_refused_without_role_names_the_runbook if {
	chatops.decision == _denied("role", 2, "runbook \"restart-all\" is a Level 2 (human decision) action that the oncall or admins role may request; you hold no role.") with input as _run([], "restart-all", 2)
}

_gate(roles, name, level, approvals) := object.union(_request(roles, "run pass"), {"runbook": {"name": name, "level": level, "dry_run": false, "approvals": approvals}})

test_decision_gate_asking_more_approvals_than_its_level_gets_them if {
	chatops.decision == _needs_approvals(2, 3, "runbook \"deploy\" is a Level 2 (human decision) action: you may request it, and it runs after 3 approvals by different people holding the approvers or admins role, not you.") with input as _gate(["oncall"], "deploy", 2, 3)
}

test_decision_gate_asking_fewer_approvals_than_its_level_gets_the_levels if {
	chatops.decision == _needs_approvals(3, 2, "runbook \"deploy\" is a Level 3 (critical) action: you may request it, and it runs after 2 approvals by different people holding the approvers or admins role, not you.") with input as _gate(["oncall"], "deploy", 3, 1)
}

test_decision_dry_run_of_any_runbook_is_read_only if {
	chatops.decision == _allowed(0, "the dry run of runbook \"restore\" is a read-only command; everyone may run it.") with input as _dry_run([], "restore", 3)
}

test_decision_dry_run_ignores_the_runbooks_own_settings if {
	chatops.decision == _allowed(0, "the dry run of runbook \"restore\" is a read-only command; everyone may run it.") with input as _dry_run([], "restore", 3)
		with data.authorization.runbooks as {"restore": {"level": 4, "everyone": false, "requesters": ["admins"], "note": "Replaces the database."}}
}

test_decision_run_uses_the_runbooks_own_settings if {
	chatops.decision == {
		"allow": true,
		"code": "approval_required",
		"reason": "runbook \"restore\" is a Level 3 (critical) action: you may request it, and it runs after 3 approvals by different people holding the admins role, not you.",
		"level": 3,
		"approvals_required": 3,
		"approver_roles": ["admins"],
		"distinct_approvers": true,
		"break_glass": false,
	} with input as _run(["oncall"], "restore", 3)
		with data.authorization.runbooks as {"restore": {"approvals": 3, "approver_roles": ["admins"]}}
}

test_decision_runbook_rule_level_wins_over_the_registrys if {
	chatops.decision == _needs_approvals(2, 1, "runbook \"backup\" is a Level 2 (human decision) action: you may request it, and it runs after 1 approval by someone holding the approvers or admins role, not you.") with input as _run(["oncall"], "backup", 1)
		with data.authorization.runbooks as {"backup": {"level": 2}}
}

test_decision_runbook_note_follows_a_role_refusal if {
	chatops.decision == _denied("role", 1, "runbook \"backup\" is a Level 1 (automatic) action that the admins role may request; your roles: oncall. Backups hold secrets.") with input as _run(["oncall"], "backup", 1)
		with data.authorization.runbooks as {"backup": {"requesters": ["admins"], "note": "Backups hold secrets."}}
}

test_decision_runbook_without_a_valid_level_is_level4 if {
	chatops.decision.level == 4 with input as _run(["oncall"], "mystery", 7)
	chatops.decision.level == 4 with input as object.union(_request(["oncall"], "run"), {"runbook": {"name": "mystery"}})
}

test_decision_run_without_a_runbook_is_the_command_rule if {
	chatops.decision == _allowed(1, "\"run\" is a Level 1 (automatic) action that your role oncall may run at once. A run of a known runbook is decided at the runbook's own level, and its --dry-run as read-only.") with input as _request(["oncall"], "run")
	chatops.decision.level == 1 with input as object.union(_request(["oncall"], "run"), {"runbook": {"name": "", "level": 3}})
}

test_decision_lockdown_refuses_an_escalated_runbook_and_names_it if {
	chatops.decision == _denied("lockdown", 3, "The stack is in emergency lockdown: only read-only commands and lockdown lift, alerts ack, alerts snooze, alerts resolve, incident declare, incident update, incident note, incident commander, incident role, incident severity, incident type, incident resolve, incident close, incident action, checklist tick and checklist untick may be requested until it is lifted, so runbook \"restore\" is refused.") with input as _in_lockdown(_run(["admins"], "restore", 3))
}

test_decision_lockdown_lets_a_level0_runbook_and_any_dry_run_through if {
	chatops.decision.code == "allowed" with input as _in_lockdown(_run([], "health-check", 0))
	chatops.decision.code == "allowed" with input as _in_lockdown(_dry_run([], "restore", 3))
}

test_decision_freeze_applies_at_the_runbooks_level if {
	frozen := [{"from": "2026-03-01T00:00:00Z", "to": "2026-03-03T00:00:00Z", "reason": "release", "levels": [3]}]
	chatops.decision == _denied("change_freeze", 3, "Changes are frozen until 2026-03-03T00:00:00Z (release): runbook \"restore\" is a Level 3 (critical) action and is refused; read-only commands still work.") with input as _run(["oncall"], "restore", 3)
		with data.authorization.freezes as frozen
	chatops.decision.code == "allowed" with input as _run(["oncall"], "backup", 1)
		with data.authorization.freezes as frozen
}

test_decision_freeze_without_time_names_the_runbook if {
	chatops.decision == _denied("time_unknown", 3, "A change freeze is configured but the request carries no valid time, so runbook \"restore\" is refused.") with input as object.remove(_run(["oncall"], "restore", 3), ["time"])
		with data.authorization.freezes as [{"from": "2026-03-01T00:00:00Z", "to": "2026-03-03T00:00:00Z", "reason": "release", "levels": [3]}]
}

test_decision_channel_rule_applies_to_escalated_runbooks_only if {
	elsewhere := object.union(_run(["oncall"], "restore", 3), {"channel": {"id": "C0RANDOM", "purpose": "random"}})
	chatops.decision == _denied("channel", 3, "runbook \"restore\" is a Level 3 (critical) action and may only be requested in the channel configured as ops; type it there.") with input as elsewhere
		with data.authorization.channels as {"changes_only_in": ["ops"]}
	chatops.decision.code == "allowed" with input as object.union(elsewhere, {"runbook": {"name": "health-check", "level": 0, "dry_run": false}})
		with data.authorization.channels as {"changes_only_in": ["ops"]}
}

test_decision_strict_patch_applies_at_the_runbooks_level if {
	chatops.decision == {
		"allow": true,
		"code": "approval_required",
		"reason": "runbook \"backup\" is a Level 1 (automatic) action: you may request it, and it runs after 1 approval by someone holding the approvers role, not you (strict mode is on).",
		"level": 1,
		"approvals_required": 1,
		"approver_roles": ["approvers"],
		"distinct_approvers": true,
		"break_glass": false,
	} with input as _in_strict_mode(_run(["oncall"], "backup", 1))
		with data.authorization.strict.levels as {"1": {"approvals": 1, "approver_roles": ["approvers"], "distinct_approvers": true}}
}

test_decision_break_glass_names_the_runbook if {
	chatops.decision == _denied("break_glass_level", 3, "Break-glass is only for a Level 4 (emergency) action; runbook \"restore\" is a Level 3 (critical) action, so request it with approvals instead.") with input as _breaking_glass(_run(["admins"], "restore", 3), "the database is gone")
	chatops.decision == _denied("break_glass_role", 4, "Only the admins role may break glass; your roles: oncall. Request runbook \"wipe\" with approvals instead.") with input as _breaking_glass(_run(["oncall"], "wipe", 4), "the database is gone")
	chatops.decision.code == "break_glass" with input as _breaking_glass(_run(["admins"], "wipe", 4), "the database is gone")
}

# A run the scheduler started asks its gates as the scheduler: it may request the pass, and the
# gate's level still asks approvers for it (the standing approval is the runbook's, not the policy's).
test_decision_scheduler_asks_a_gate_pass_and_approvers_decide if {
	chatops.decision.code == "approval_required" with input as _gate(["scheduler"], "dr-test", 2, 1)
}

test_decision_scheduler_without_run_pass_cannot_ask_a_gate if {
	chatops.decision.code == "role" with input as _gate(["scheduler"], "dr-test", 2, 1)
		with data.authorization.scheduler.commands as ["dr-test"]
}

# An emergency procedure's runbook may start in lockdown when its own rule says so (defaults.json:
# security-breach, constitutional-emergency, outage), decided at its level as usual.
test_decision_emergency_runbook_may_start_in_lockdown_when_its_rule_says_so if {
	chatops.decision.code == "allowed" with input as _in_lockdown(_run(["oncall"], "constitutional-emergency", 1))
}

test_decision_emergency_runbook_in_lockdown_still_needs_its_approvals if {
	chatops.decision.code == "approval_required" with input as _in_lockdown(_run(["oncall"], "security-breach", 2))
}

test_decision_other_runbooks_and_rules_without_it_stay_refused_in_lockdown if {
	chatops.decision.code == "lockdown" with input as _in_lockdown(_run(["oncall"], "restore", 3))
	chatops.decision.code == "lockdown" with input as _in_lockdown(_run(["oncall"], "outage", 1))
		with data.authorization.runbooks.outage as {"in_lockdown": false}

	# What such a run asks for on the way is decided in lockdown as a typed command.
	chatops.decision.code == "lockdown" with input as _in_lockdown(_request(["oncall"], "restart"))
}
