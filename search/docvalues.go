package search

import (
	"github.com/blevesearch/bleve/v2/document"
	"github.com/blevesearch/bleve/v2/mapping"
	index "github.com/blevesearch/bleve_index_api"
)

// Doc values are what facets, sorts and Tally read for every matching
// document. By default Bleve (zapx) writes them in snappy-compressed chunks
// of 1,024 documents, and reading one document's values decompresses its
// whole chunk. A query whose matches are dense reuses each chunk, but one
// that matches a few documents here and there decompresses a chunk per
// match: measured at 100,000 documents, the two facets of a search that
// matched 4% of them were 3 of its 5 ms (and 1.4 of a selective search's
// 2.3 ms).
//
// So every field with doc values is written uncompressed, one document per
// chunk (the layout Bleve uses for geo fields): reading a document's values
// is a slice of the mapped file. They are short keywords, dates and
// numbers, so the index grows little.
//
// The options live on each field of a document, not in the mapping, so
// documents are mapped by mapDocument (live writes, through
// Batch.IndexAdvanced) or through builderMapping (the offline builder of a
// rebuild, which maps documents itself).
const directDocValues = index.SkipDVChunking | index.SkipDVCompression

// mapDocument maps data to the document with id the way m does, with doc
// values laid out for direct reads.
func mapDocument(m mapping.IndexMapping, id string, data any) (*document.Document, error) {
	doc := document.NewDocument(id)
	if err := m.MapDocument(doc, data); err != nil {
		return nil, err
	}
	return doc, directFields(doc)
}

// directFields replaces each field of doc that has doc values with the same
// field, laid out for direct reads.
func directFields(doc *document.Document) error {
	for i, f := range doc.Fields {
		opts := f.Options()
		if !opts.IncludeDocValues() {
			continue
		}
		opts |= directDocValues
		switch f := f.(type) {
		case *document.TextField:
			doc.Fields[i] = document.NewTextFieldCustom(f.Name(), f.ArrayPositions(), f.Value(), opts, f.Analyzer())
		case *document.DateTimeField:
			t, layout, err := f.DateTime()
			if err != nil {
				return err
			}
			if doc.Fields[i], err = document.NewDateTimeFieldWithIndexingOptions(f.Name(), f.ArrayPositions(), t, layout, opts); err != nil {
				return err
			}
		case *document.NumericField:
			n, err := f.Number()
			if err != nil {
				return err
			}
			doc.Fields[i] = document.NewNumericFieldWithIndexingOptions(f.Name(), f.ArrayPositions(), n, opts)
		case *document.BooleanField:
			b, err := f.Boolean()
			if err != nil {
				return err
			}
			doc.Fields[i] = document.NewBooleanFieldWithIndexingOptions(f.Name(), f.ArrayPositions(), b, opts)
		}
	}
	return nil
}

// builderMapping is NewMapping for bleve.NewBuilder: it maps documents
// through directFields. It serialises as the mapping it wraps, which is
// what an index opened later reads back.
type builderMapping struct {
	*mapping.IndexMappingImpl
}

func newBuilderMapping() builderMapping {
	return builderMapping{NewMapping().(*mapping.IndexMappingImpl)}
}

func (m builderMapping) MapDocument(doc *document.Document, data any) error {
	if err := m.IndexMappingImpl.MapDocument(doc, data); err != nil {
		return err
	}
	return directFields(doc)
}
