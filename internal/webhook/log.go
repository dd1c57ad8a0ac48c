package webhook

import (
	"cmp"
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strconv"

	"casefile.dev/casefile/auth"
	"casefile.dev/casefile/internal/errs"
)

// A webhook's deliveries are listed newest first without a scan: each
// webhook numbers its deliveries (a counter), and bucket documents with
// _id "<webhook id>/<n/100>" hold the delivery ids of 100 numbers each, as
// the case timeline does. A page reads one or two buckets and then each
// delivery by _id; the total is the counter.
const logBucket = 100

type logEntry struct {
	N  int64  `bson:"n"`
	ID string `bson:"id"`
}

type logDoc struct {
	ID      string     `bson:"_id"`
	Entries []logEntry `bson:"entries"`
}

func logCounter(webhookID string) string { return "webhook_log:" + webhookID }

func logBucketID(webhookID string, n int64) string {
	return fmt.Sprintf("%s/%08d", webhookID, (n-1)/logBucket)
}

// appendLog numbers delivery id in its webhook's log. A crash between the
// delivery's insert and this leaves it out of the list (and a number
// unused, so the total may count one more than the list shows).
func (s *Service) appendLog(ctx context.Context, webhookID, id string) error {
	n, err := s.db.NextSeq(ctx, logCounter(webhookID))
	if err != nil {
		return err
	}
	return s.db.Push(ctx, logColl, logBucketID(webhookID, n), "entries", logEntry{N: n, ID: id})
}

// Deliveries lists a webhook's deliveries, newest first (admins only).
// cursor is "" or the next_cursor of the page before.
func (s *Service) Deliveries(ctx context.Context, u *auth.User, webhookID string, limit int, cursor string) ([]Delivery, string, int64, error) {
	if !auth.Can(u, auth.ManageWebhooks, auth.Resource{}) {
		return nil, "", 0, forbidden()
	}
	if _, err := s.find(ctx, webhookID); err != nil {
		return nil, "", 0, err
	}
	total, err := s.db.CurrentSeq(ctx, logCounter(webhookID))
	if err != nil {
		return nil, "", 0, err
	}
	below := total + 1
	if cursor != "" {
		if below, err = decodeLogCursor(cursor); err != nil {
			return nil, "", 0, err
		}
	}
	items := []Delivery{}
	last := int64(0)
	for n := below - 1; n >= 1 && len(items) < limit; {
		var b logDoc
		if err := s.db.FindByID(ctx, logColl, logBucketID(webhookID, n), &b); err != nil && !errs.Is(err, errs.NotFound) {
			return nil, "", 0, err
		}
		slices.SortFunc(b.Entries, func(x, y logEntry) int { return cmp.Compare(y.N, x.N) })
		for _, e := range b.Entries {
			if e.N > n || len(items) == limit {
				continue
			}
			var d Delivery
			if err := s.db.FindByID(ctx, deliveriesColl, e.ID, &d); err != nil {
				if errs.Is(err, errs.NotFound) {
					continue
				}
				return nil, "", 0, err
			}
			items = append(items, d)
			last = e.N
		}
		n = (n - 1) / logBucket * logBucket // the top of the bucket below
	}
	next := ""
	if len(items) == limit && last > 1 {
		next = base64.RawURLEncoding.EncodeToString([]byte("d:" + strconv.FormatInt(last, 10)))
	}
	return items, next, total, nil
}

// Delivery reads one delivery (admins only).
func (s *Service) Delivery(ctx context.Context, u *auth.User, id string) (Delivery, error) {
	if !auth.Can(u, auth.ManageWebhooks, auth.Resource{}) {
		return Delivery{}, forbidden()
	}
	var d Delivery
	if err := s.db.FindByID(ctx, deliveriesColl, id, &d); err != nil {
		if errs.Is(err, errs.NotFound) {
			return Delivery{}, errs.E(errs.NotFound, "delivery not found")
		}
		return Delivery{}, err
	}
	return d, nil
}

func decodeLogCursor(c string) (int64, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err == nil && len(b) > 2 && string(b[:2]) == "d:" {
		if n, err := strconv.ParseInt(string(b[2:]), 10, 64); err == nil && n > 0 {
			return n, nil
		}
	}
	return 0, &errs.Error{Code: errs.Invalid, Message: "invalid cursor", Fields: []errs.FieldError{{Field: "cursor", Message: "is not a cursor this server issued"}}}
}
