// Package search will own the Bleve index: mapping, the index feed from
// MongoDB, permission-aware queries, facets and rebuilds (issue 5). It is
// empty until then.
package search
