package ir

import "strconv"

// enumName returns names[i], the spelling of value i of an enumeration, or
// "typ(i)" for a value the table lacks.
func enumName(names []string, i int, typ string) string {
	if i >= 0 && i < len(names) {
		return names[i]
	}
	return typ + "(" + strconv.Itoa(i) + ")"
}

// parseEnum returns the value of an enumeration spelled s in names, or
// false.
func parseEnum(names []string, s string) (int, bool) {
	for i, name := range names {
		if s == name {
			return i, true
		}
	}
	return 0, false
}
