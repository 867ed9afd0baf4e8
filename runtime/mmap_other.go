//go:build !(linux || darwin || freebsd)

package runtime

// mapFile reads path into aligned memory where mapping is not available.
func mapFile(path string) ([]byte, func() error, error) { return readFile(path) }
