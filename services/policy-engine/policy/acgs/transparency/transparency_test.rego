# METADATA
# title: Transparency tests
# description: Explanations for high-impact and ordinary actions.
package acgs.transparency_test

import data.acgs.fixtures_test as fx
import data.acgs.transparency

test_violations_high_impact_without_explanation if {
	transparency.violations == {{
		"principle": "transparency",
		"code": "explanation_required",
		"message": "The action model.deploy is high-impact and needs an explanation of why it is taken.",
	}} with input as fx.without_context(fx.action_input("model.deploy"), "explanation")
}

test_violations_blank_explanation_counts_as_none if {
	{v.code | some v in transparency.violations} == {"explanation_required"} with input as fx.with_context(fx.action_input("data.delete"), {"explanation": "  \t "})
}

test_violations_every_high_impact_action_needs_explanation if {
	every action in data.acgs.catalogue.high_impact_actions | {"evolution.apply", "evolution.rollback", "evolution.request"} {
		count(transparency.violations) == 1 with input as fx.without_context(fx.action_input(action), "explanation")
	}
}

test_violations_high_impact_with_explanation_none if {
	transparency.violations == set() with input as fx.action_input("policy.update")
}

test_violations_evolution_read_is_not_high_impact if {
	transparency.violations == set() with input as fx.without_context(fx.action_input("evolution.read"), "explanation")
}

test_score_unexplained_ordinary_action_is_lowered if {
	transparency.violations == set() with input as fx.without_context(fx.action_input("data.write"), "explanation")
	transparency.advisories == {"no explanation was given for the action"} with input as fx.without_context(fx.action_input("data.write"), "explanation")
	transparency.score == 0.9 with input as fx.without_context(fx.action_input("data.write"), "explanation")
}

test_score_read_only_action_needs_no_explanation if {
	transparency.score == 1 with input as fx.without_context(fx.action_input("health.check"), "explanation")
}

test_score_violation_is_zero if {
	transparency.score == 0 with input as fx.without_context(fx.action_input("agent.modify"), "explanation")
}
