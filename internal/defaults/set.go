package defaults

import "time"

// Set gives a count or duration its default d when it is not above zero:
// "the inner packages fall back to the same values for a zero field" (a
// negative one is as unset), in one place for every service's Config.
func Set[T int | time.Duration](v *T, d T) {
	if *v <= 0 {
		*v = d
	}
}
