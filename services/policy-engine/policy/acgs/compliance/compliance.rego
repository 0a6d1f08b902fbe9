# METADATA
# title: Compliance
# description: |
#   The weighted compliance score: each scored principle gives a score in [0, 1]
#   (0 with a violation, slightly less than 1 with an advisory, 1 otherwise) and the
#   weighted sum, rounded to four decimals, must reach the threshold (0.95, or 0.99 in
#   strict mode) for the action-evaluating types. Integrity, mode and evolution are not
#   scored: their violations deny on their own.
package acgs.compliance

import data.acgs.accountability
import data.acgs.data_access
import data.acgs.format
import data.acgs.modes
import data.acgs.request
import data.acgs.resources
import data.acgs.safety
import data.acgs.transparency

# METADATA
# title: Weights
# description: The weight of each scored principle; they sum to 1.
weights := {
	"safety": 0.35,
	"resources": 0.15,
	"transparency": 0.15,
	"accountability": 0.15,
	"data_access": 0.2,
}

# METADATA
# title: Thresholds
# description: The lowest score that is allowed, in normal and in strict mode.
thresholds := {"normal": 0.95, "strict": 0.99}

# METADATA
# title: Principle scores
# description: The score of each scored principle.
principle_scores := {
	"safety": safety.score,
	"resources": resources.score,
	"transparency": transparency.score,
	"accountability": accountability.score,
	"data_access": data_access.score,
}

# METADATA
# title: Score
# description: The weighted sum of the principle scores, rounded to four decimals.
score := round(sum(_weighted_scores) * 10000) / 10000

_weighted_scores := [weighted |
	some principle, principle_score in principle_scores
	weighted := weights[principle] * principle_score
]

# METADATA
# title: Threshold
# description: The threshold in force.
threshold := thresholds.strict if {
	modes.strict
} else := thresholds.normal

# METADATA
# title: Advisories
# description: Every advisory that lowered a principle score, sorted.
advisories := sort(safety.advisories | transparency.advisories)

# METADATA
# title: Compliance violations
# description: Violations of the compliance principle.
# scope: document
violations contains {
	"principle": "compliance",
	"code": "score_below_threshold",
	"message": concat("", [
		"The compliance score ", format.decimal(score), " is below the ",
		_mode_name, "threshold of ", format.decimal(threshold), _lowered_by, ".",
	]),
} if {
	request.evaluates_action
	score < threshold
}

_mode_name := "strict-mode " if {
	modes.strict
} else := ""

_lowered_by := concat("", [" (lowered by: ", concat("; ", advisories), ")"]) if {
	count(advisories) > 0
} else := ""
