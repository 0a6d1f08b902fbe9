# METADATA
# title: Formatting tests
# description: Numbers in messages.
package acgs.format_test

import data.acgs.format

test_decimal_integers_and_fractions if {
	format.decimal(0) == "0"
	format.decimal(2048) == "2048"
	format.decimal(0.8) == "0.8"
	format.decimal(0.05) == "0.05"
	format.decimal(0.9825) == "0.9825"
	format.decimal(-1.5) == "-1.5"
}

test_decimal_rounds_to_four_places if {
	format.decimal(0.123456) == "0.1235"
	format.decimal(1.99999) == "2"
}
