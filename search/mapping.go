package search

import (
	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/keyword"
	"github.com/blevesearch/bleve/v2/analysis/lang/en"
	"github.com/blevesearch/bleve/v2/mapping"
)

// MappingVersion changes whenever NewMapping does, or what the index holds
// (version 4 added risks, 5 the approval field of cases, 6 the root-cause
// categories of postmortems, 7 the sharded layout, 8 doc values laid out
// for direct reads, see directDocValues); an index of another
// version is rebuilt at start-up.
const MappingVersion = 8

// Field groups of the mapping.
var (
	// textFields are analysed in English (stemming, stop words) and keep
	// term vectors for highlighting.
	textFields = []string{"title", "summary", "body", "notes", "evidence", "root_causes"}
	// keywordFields match whole values and feed facets.
	keywordFields = []string{"type", "id", "key", "status", "severity", "policy_area", "root_cause_category", "subcategory",
		"tag", "team", "vendor", "assignee", "actor_id", "source_kind", "month", "parent", "error_type", "decider", "approval"}
	dateFields    = []string{"created_at", "updated_at", "due", "at_risk", "fixed_at"}
	numericFields = []string{"gravity", "seq"}
	boolFields    = []string{"restricted", "published", "breached", "first"}
)

// NewMapping is the one index mapping. Every field is mapped explicitly and
// the composite _all field is off (it doubles the index and halves indexing
// speed); queries name the fields they mean.
func NewMapping() mapping.IndexMapping {
	doc := bleve.NewDocumentStaticMapping()
	add := func(names []string, mk func() *mapping.FieldMapping) {
		for _, n := range names {
			f := mk()
			f.IncludeInAll = false
			doc.AddFieldMappingsAt(n, f)
		}
	}
	add(textFields, func() *mapping.FieldMapping {
		f := bleve.NewTextFieldMapping()
		f.Analyzer = en.AnalyzerName
		// Stored so that hits can be highlighted.
		f.Store = true
		f.IncludeTermVectors = true
		f.DocValues = false
		return f
	})
	add(keywordFields, func() *mapping.FieldMapping {
		f := bleve.NewKeywordFieldMapping()
		f.Analyzer = keyword.Name
		f.Store = true
		f.IncludeTermVectors = false
		return f
	})
	add(dateFields, func() *mapping.FieldMapping {
		f := bleve.NewDateTimeFieldMapping()
		f.Store = true
		return f
	})
	add(numericFields, func() *mapping.FieldMapping {
		f := bleve.NewNumericFieldMapping()
		f.Store = true
		return f
	})
	add(boolFields, func() *mapping.FieldMapping {
		f := bleve.NewBooleanFieldMapping()
		f.Store = true
		return f
	})

	m := bleve.NewIndexMapping()
	m.DefaultMapping = doc
	m.DefaultAnalyzer = en.AnalyzerName
	m.IndexDynamic = false
	m.StoreDynamic = false
	m.DocValuesDynamic = false
	return m
}
