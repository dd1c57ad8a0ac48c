// Package rca will own incidents, RCAs, root causes, action items,
// postmortems and the root-cause classifier (issue 4). It is empty until then.
package rca
