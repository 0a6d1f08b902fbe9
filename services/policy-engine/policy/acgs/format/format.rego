# METADATA
# title: Message formatting
# description: |
#   Number formatting for messages built from native builtins only. sprintf is not
#   native in wasm: the JavaScript SDK supplies it through sprintf-js, whose verbs and
#   float formatting differ from Go's, so messages would differ between opa eval and the
#   service. decimal() gives the same text in both.
package acgs.format

# METADATA
# title: Decimal
# description: |
#   The number rounded to at most four decimals, without trailing zeros:
#   decimal(0.8) == "0.8", decimal(2048) == "2048", decimal(0.98245) == "0.9825".
decimal(x) := concat("", [_sign(n), format_int(whole, 10), _fraction(frac)]) if {
	n := round(x * 10000)
	whole := floor(abs(n) / 10000)
	frac := abs(n) - (whole * 10000)
}

_sign(n) := "-" if {
	n < 0
} else := ""

_fraction(0) := ""

_fraction(frac) := concat("", [".", trim_right(_pad4(format_int(frac, 10)), "0")]) if frac != 0

_pad4(s) := concat("", [substring("0000", 0, 4 - count(s)), s])
