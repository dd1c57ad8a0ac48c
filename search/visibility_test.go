package search

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"casefile.dev/casefile/auth"
)

// TestVisibilityForTypesIsTheVisibilityOfThoseTypes: a search for some
// types builds only their parts of the permission filter (and no separate
// type filter); for every role it finds exactly what the unfiltered search
// finds of those types.
func TestVisibilityForTypesIsTheVisibilityOfThoseTypes(t *testing.T) {
	var docs []Doc
	for i := range 40 {
		d := Doc{ID: fmt.Sprintf("d%02d", i), Key: fmt.Sprintf("K-%d", i), Title: "refund fraud", Status: "new",
			Team: []string{"t1", "t2"}[i%2], Restricted: i%5 == 0, Published: i%3 == 0}
		switch i % 6 {
		case 0, 1:
			d.Type = TypeCase
			if i%4 == 1 {
				d.Vendor, d.Team = "acme", ""
			}
			if i%7 == 0 {
				d.Assignee = "ian"
			}
		case 2:
			d.Type = TypeIncident
		case 3:
			d.Type = TypePostmortem
		case 4:
			d.Type, d.Decider = TypeReview, []string{"ian", "vera"}[i%2]
		case 5:
			d.Type = TypeRisk
		}
		docs = append(docs, d)
	}
	x := memIndex(t, docs)
	s := NewSearcher(x)
	ctx := context.Background()
	users := []*auth.User{
		{Username: "ada", Role: auth.RoleAdmin},
		{Username: "lee", Role: auth.RoleLead, Team: "t1"},
		{Username: "ian", Role: auth.RoleInvestigator, Team: "t1"},
		{Username: "vera", Role: auth.RoleVendorAgent, Vendor: "acme"},
		{Username: "lou", Role: auth.RoleLeadership},
	}
	typeSets := [][]string{{TypeCase}, {TypeIncident}, {TypePostmortem}, {TypeReview}, {TypeRisk}, {TypeCase, TypeReview}, {TypeIncident, TypePostmortem, TypeRisk}}
	for _, u := range users {
		all, err := s.Search(ctx, u, Request{Query: "refund", Size: MaxSize})
		require.NoError(t, err)
		for _, types := range typeSets {
			t.Run(fmt.Sprintf("%s/%v", u.Role, types), func(t *testing.T) {
				var want []string
				for _, h := range all.Hits {
					if slices.Contains(types, h.Type) {
						want = append(want, h.Type+":"+h.ID)
					}
				}
				res, err := s.Search(ctx, u, Request{Query: "refund", Types: types, Size: MaxSize})
				require.NoError(t, err)
				var got []string
				for _, h := range res.Hits {
					got = append(got, h.Type+":"+h.ID)
				}
				assert.ElementsMatch(t, want, got)
				assert.Equal(t, uint64(len(want)), res.Total)
			})
		}
	}
}
