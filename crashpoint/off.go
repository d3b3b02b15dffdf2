//go:build !crashpoints

package crashpoint

// Enabled reports whether this binary acts on crash points.
const Enabled = false

// Hit does nothing outside test builds.
func Hit(string) {}
