package store_test

// Benchmarks of single store operations on the test store (the embedded
// server unless MONGODB_URI is set), each from one goroutine: the cost a
// request pays per store call.
//
//	go test -run=NONE -bench=. ./internal/store/

import (
	"context"
	"fmt"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"casefile.dev/casefile/internal/storetest"
)

type benchDoc struct {
	ID      string `bson:"_id"`
	Title   string `bson:"title"`
	Version int64  `bson:"version"`
	Seq     int64  `bson:"seq"`
}

func BenchmarkInsert(b *testing.B) {
	db := storetest.New(b)
	ctx := context.Background()
	if err := db.EnsureCollection(ctx, "bench"); err != nil {
		b.Fatal(err)
	}
	for i := 0; b.Loop(); i++ {
		if err := db.Insert(ctx, "bench", benchDoc{ID: fmt.Sprintf("d%d", i), Title: "a case"}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNextSeq(b *testing.B) {
	db := storetest.New(b)
	ctx := context.Background()
	for b.Loop() {
		if _, err := db.NextSeq(ctx, "bench"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFindByID(b *testing.B) {
	db := storetest.New(b)
	ctx := context.Background()
	if err := db.EnsureCollection(ctx, "bench"); err != nil {
		b.Fatal(err)
	}
	for i := range 1000 {
		if err := db.Insert(ctx, "bench", benchDoc{ID: fmt.Sprintf("d%d", i), Title: "a case"}); err != nil {
			b.Fatal(err)
		}
	}
	var out bson.M
	for i := 0; b.Loop(); i++ {
		if err := db.FindByID(ctx, "bench", fmt.Sprintf("d%d", i%1000), &out); err != nil {
			b.Fatal(err)
		}
	}
}
