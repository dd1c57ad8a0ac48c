package rca

// Similarity is the Jaccard similarity recurrence uses, for tests of the
// report dataset.
func Similarity(a, b string) float64 { return jaccard(tokenSet(a), tokenSet(b)) }

// RecurrenceSimilarity is the threshold of Similarity for a recurrence.
const RecurrenceSimilarity = recurrenceSimilarity
