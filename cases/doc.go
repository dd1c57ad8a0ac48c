// Package cases will own actors, actor-level cases, evidence, enforcement,
// the strike ladder and SLA clocks, with their MongoDB store (issue 3).
// It is empty until then.
package cases
