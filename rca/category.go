// Package rca owns incidents, root-cause analyses, action items and postmortems, and the classifier that suggests a root cause's category.
package rca

// Category says what kind of change prevents a root cause from recurring.
type Category string

// The categories of a root cause.
const (
	// Product: software, models, detection, tooling and infrastructure.
	Product Category = "product"
	// Process: how people and vendors work — SOPs, training, handoffs,
	// capacity, human error, vendor execution.
	Process Category = "process"
	// Policy: what the rules say — gaps, ambiguity, outdated or conflicting
	// guidance.
	Policy Category = "policy"
)

// Categories lists every category in a fixed order, the order in which ties
// are broken.
var Categories = []Category{Product, Process, Policy}

// Valid reports whether c is one of Categories.
func (c Category) Valid() bool {
	switch c {
	case Product, Process, Policy:
		return true
	}
	return false
}
