package search

import zap "github.com/blevesearch/zapx/v17"

// zapx sizes the buffer of every new in-memory segment for the batch's
// documents plus a hundred more (NewSegmentBufferNumResultsBump), at the
// bytes per document of the last segment it built. That suits bulk
// batches; for the one- or two-document batches every write makes, whose
// segments cost tens of kilobytes a document, it allocated and zeroed
// about 3.5 MB per filed case (measured: BenchmarkIndexing/notify=1, B/op),
// and the segment kept that whole buffer alive until it was merged. With
// no bump the estimate is the batch's own size.
//
// The variable is zapx's process-wide setting, the only way zapx offers to
// change it; it is set once, before any index is opened.
func init() { zap.NewSegmentBufferNumResultsBump = 0 }
