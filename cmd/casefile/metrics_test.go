package main

import (
	"bufio"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// scrapeMetrics reads /metrics as "series" → value, the series being the
// text before the value ("name{label=\"v\"}"), and the HELP lines by name.
func scrapeMetrics(t *testing.T, s *server) (values map[string]float64, help map[string]string) {
	t.Helper()
	resp, err := http.Get(s.base + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	values, help = map[string]float64{}, map[string]string{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, "# HELP "); ok {
			name, text, _ := strings.Cut(rest, " ")
			help[name] = text
			continue
		}
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		require.NoError(t, err, line)
		values[line[:i]] = v
	}
	require.NoError(t, sc.Err())
	return values, help
}

// TestMetricsMoveWithRealOperations files a case and applies an
// enforcement on a running casefile, then scrapes /metrics once (the
// domain gauges are cached for a few seconds, so a scrape before the
// operations would pin them). The data directory is fresh, so every count
// starts at zero.
func TestMetricsMoveWithRealOperations(t *testing.T) {
	s := startServer(t, t.TempDir(), e2eEnv())
	s.waitReady(t)
	admin := s.login(t, "admin", e2eAdminPassword)

	body := newCaseBody("Refund fraud ring")
	body["severity"] = "sev1"
	resp, c := s.call(t, http.MethodPost, "/api/v1/cases", admin, body)
	require.Equal(t, http.StatusCreated, resp.StatusCode, "%v", c)
	id, _ := c["id"].(string)
	resp, e := s.call(t, http.MethodPost, "/api/v1/cases/"+id+"/enforcements", admin, map[string]any{"action": "warning", "reason": "first offence"})
	require.Equal(t, http.StatusCreated, resp.StatusCode, "%v", e)
	eid, _ := e["id"].(string)
	resp, e = s.call(t, http.MethodPost, "/api/v1/cases/"+id+"/enforcements/"+eid+"/apply", admin, map[string]any{})
	require.Equal(t, http.StatusOK, resp.StatusCode, "%v", e)

	got, help := scrapeMetrics(t, s)
	for series, want := range map[string]float64{
		`casefile_cases_open{severity="sev1",sla="ok"}`:                    1,
		`casefile_cases_open{severity="sev1",sla="breached"}`:              0,
		`casefile_cases_open{severity="sev2",sla="ok"}`:                    0,
		`casefile_enforcements_total{action="warning",outcome="proposed"}`: 1,
		`casefile_enforcements_total{action="warning",outcome="approved"}`: 1,
		`casefile_enforcements_total{action="warning",outcome="applied"}`:  1,
		`casefile_enforcements_total{action="warning",outcome="reversed"}`: 0,
		`casefile_enforcements_applied{action="warning"}`:                  1,
		`casefile_index_documents{type="case"}`:                            1,
		`casefile_index_pending_documents`:                                 0,
		`casefile_sla_breaches_total`:                                      0,
		`casefile_index_lag_seq`:                                           0,
	} {
		v, ok := got[series]
		if assert.True(t, ok, "%s is exported", series) {
			assert.Equal(t, want, v, series)
		}
	}
	for _, cmd := range []string{"insert", "find", "update", "findAndModify"} {
		assert.Positive(t, got[`casefile_store_command_duration_seconds_count{command="`+cmd+`"}`], "%s commands are timed", cmd)
	}
	assert.GreaterOrEqual(t, got["casefile_store_head_seq"], got["casefile_index_checkpoint_seq"])
	assert.Positive(t, got["casefile_index_checkpoint_seq"])
	assert.Positive(t, got[`casefile_http_request_duration_seconds_count{method="POST",route="/api/v1/cases",status="201"}`])
	for _, name := range []string{"casefile_cases_open", "casefile_sla_breaches_total", "casefile_enforcements_total", "casefile_enforcements_applied",
		"casefile_index_documents", "casefile_store_head_seq", "casefile_index_checkpoint_seq", "casefile_index_pending_documents",
		"casefile_store_command_duration_seconds", "casefile_metrics_refresh_errors_total"} {
		assert.NotEmpty(t, help[name], "%s has a help text", name)
	}
}
