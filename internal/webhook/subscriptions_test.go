package webhook_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"casefile.dev/casefile/auth"
	"casefile.dev/casefile/cases"
	"casefile.dev/casefile/internal/errs"
	"casefile.dev/casefile/internal/errs/errstest"
	"casefile.dev/casefile/internal/webhook"
)

// TestCreateValidates: each bad field is a validation error naming it,
// and nothing is stored.
func TestCreateValidates(t *testing.T) {
	s := newSystem(t, webhook.Options{}) // production defaults: https, public addresses
	valid := func() webhook.NewSubscription {
		return webhook.NewSubscription{URL: "https://hooks.example.com/casefile", Events: []string{webhook.CaseCreated}, Secret: "0123456789abcdef"}
	}
	tests := []struct {
		name  string
		edit  func(*webhook.NewSubscription)
		field string
	}{
		{"no_url", func(n *webhook.NewSubscription) { n.URL = "" }, "url"},
		{"relative_url", func(n *webhook.NewSubscription) { n.URL = "/hooks" }, "url"},
		{"ftp_url", func(n *webhook.NewSubscription) { n.URL = "ftp://hooks.example.com/x" }, "url"},
		{"http_url", func(n *webhook.NewSubscription) { n.URL = "http://hooks.example.com/x" }, "url"},
		{"credentials_in_url", func(n *webhook.NewSubscription) { n.URL = "https://user:pw@hooks.example.com/x" }, "url"},
		{"fragment", func(n *webhook.NewSubscription) { n.URL = "https://hooks.example.com/x#frag" }, "url"},
		{"loopback", func(n *webhook.NewSubscription) { n.URL = "https://127.0.0.1:8443/x" }, "url"},
		{"loopback_v6", func(n *webhook.NewSubscription) { n.URL = "https://[::1]/x" }, "url"},
		{"localhost", func(n *webhook.NewSubscription) { n.URL = "https://LocalHost./x" }, "url"},
		{"private", func(n *webhook.NewSubscription) { n.URL = "https://10.1.2.3/x" }, "url"},
		{"private_v4_in_v6", func(n *webhook.NewSubscription) { n.URL = "https://[::ffff:192.168.1.1]/x" }, "url"},
		{"cloud_metadata", func(n *webhook.NewSubscription) { n.URL = "https://169.254.169.254/latest" }, "url"},
		{"cgnat", func(n *webhook.NewSubscription) { n.URL = "https://100.64.1.1/x" }, "url"},
		{"unspecified", func(n *webhook.NewSubscription) { n.URL = "https://0.0.0.0/x" }, "url"},
		{"too_long", func(n *webhook.NewSubscription) { n.URL = "https://hooks.example.com/" + strings.Repeat("a", 2048) }, "url"},
		{"no_events", func(n *webhook.NewSubscription) { n.Events = nil }, "events"},
		{"unknown_event", func(n *webhook.NewSubscription) { n.Events = []string{"case.deleted"} }, "events"},
		{"event_twice", func(n *webhook.NewSubscription) { n.Events = []string{"case.created", "case.created"} }, "events"},
		{"short_secret", func(n *webhook.NewSubscription) { n.Secret = "0123456789abcde" }, "secret"},
		{"long_secret", func(n *webhook.NewSubscription) { n.Secret = strings.Repeat("x", 257) }, "secret"},
		{"secret_with_space", func(n *webhook.NewSubscription) { n.Secret = "0123456789 abcdef" }, "secret"},
		{"secret_not_ascii", func(n *webhook.NewSubscription) { n.Secret = "0123456789abcdéf" }, "secret"},
		{"format", func(n *webhook.NewSubscription) { n.Format = "xml" }, "format"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := valid()
			tt.edit(&in)
			_, err := s.Webhooks.Create(s.ctx, s.admin, in, auth.Meta{})
			assert.Equal(t, []string{tt.field}, errstest.Fields(t, err))
		})
	}
	list, _, err := s.Webhooks.List(s.ctx, s.admin, 50, 0)
	require.NoError(t, err)
	assert.Empty(t, list, "no refused webhook was stored")

	sub, err := s.Webhooks.Create(s.ctx, s.admin, valid(), auth.Meta{})
	require.NoError(t, err)
	assert.Equal(t, webhook.FormatJSON, sub.Format, "json by default")
}

// TestOnlyAdminsManageWebhooks: every other role is refused every
// operation, on an existing webhook too.
func TestOnlyAdminsManageWebhooks(t *testing.T) {
	s := newSystem(t)
	sub := s.subscribe("https://hooks.example.com/x", webhook.FormatJSON, webhook.CaseCreated)
	for _, u := range []*auth.User{s.lena, s.ivy, s.vic, {Username: "leo", Role: auth.RoleLeadership}, {Username: "ada", Role: auth.RoleAdmin, Disabled: true}} {
		t.Run(u.Username+"_"+string(u.Role), func(t *testing.T) {
			_, err := s.Webhooks.Create(s.ctx, u, webhook.NewSubscription{URL: "https://hooks.example.com/y", Events: []string{webhook.CaseCreated},
				Secret: "0123456789abcdef"}, auth.Meta{})
			errstest.Require(t, err, errs.Forbidden)
			_, _, err = s.Webhooks.List(s.ctx, u, 50, 0)
			errstest.Require(t, err, errs.Forbidden)
			_, _, _, err = s.Webhooks.Deliveries(s.ctx, u, sub.ID, 50, "")
			errstest.Require(t, err, errs.Forbidden)
			errstest.Require(t, s.Webhooks.Delete(s.ctx, u, sub.ID, auth.Meta{}), errs.Forbidden)
		})
	}
	list, _, err := s.Webhooks.List(s.ctx, s.admin, 50, 0)
	require.NoError(t, err)
	assert.Len(t, list, 1, "nothing was created or deleted")
}

// TestInsecureTargetsRefusedWhenSending: a webhook whose URL became
// disallowed (registered while insecure URLs were allowed, then the
// setting was turned off) is not sent to.
func TestInsecureTargetsRefusedWhenSending(t *testing.T) {
	s := newSystem(t)
	r := newReceiver(t, nil)
	sub := s.subscribe(r.srv.URL, webhook.FormatJSON, webhook.CaseCreated)
	s.newCase(cases.Sev3)
	_, err := s.Webhooks.Tail(s.ctx)
	require.NoError(t, err)

	strict := s.another(webhook.Options{Rand: maxJitter})
	_, err = strict.RunDue(s.ctx)
	require.NoError(t, err)
	assert.Empty(t, r.requests())
	d := s.deliveries(sub)[0]
	assert.Equal(t, webhook.StatusPending, d.Status, "retried, in case the setting comes back")
	assert.Contains(t, d.LastError, "https")
	assert.Zero(t, d.LastStatusCode)
}
