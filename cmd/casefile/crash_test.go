package main

// Crash safety: a casefile process is SIGKILLed in the middle of a burst of
// concurrent writes; restarted on the same data dir it has every write it
// acknowledged, an audit chain that verifies, and an index that converges
// on the store.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// startChild runs `casefile serve` on dataDir in a subprocess (the test
// binary as TestSearchE2EChild) that the test can SIGKILL.
func startChild(t *testing.T, dataDir string) (*server, *exec.Cmd) {
	t.Helper()
	child := exec.Command(os.Args[0], "-test.run=^TestSearchE2EChild$")
	// The child must run on dataDir's embedded store, whatever the
	// caller's environment says.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CASEFILE_") && !strings.HasPrefix(kv, "MONGODB_URI=") {
			child.Env = append(child.Env, kv)
		}
	}
	child.Env = append(child.Env, "CASEFILE_E2E_CHILD=1", "CASEFILE_E2E_DATA="+dataDir, "CASEFILE_ADMIN_PASSWORD="+e2eAdminPassword)
	stdout, err := child.StdoutPipe()
	require.NoError(t, err)
	child.Stderr = os.Stderr
	require.NoError(t, child.Start())
	t.Cleanup(func() {
		if child.ProcessState == nil {
			_ = child.Process.Kill()
			_ = child.Wait()
		}
	})
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var rec struct {
				Msg  string `json:"msg"`
				Addr string `json:"addr"`
			}
			if json.Unmarshal(sc.Bytes(), &rec) == nil && rec.Msg == "listening" {
				addr <- rec.Addr
			}
		}
	}()
	select {
	case a := <-addr:
		return &server{base: "http://" + a}, child
	case <-time.After(5 * time.Minute):
		t.Fatal("the child did not start")
		return nil, nil
	}
}

// ackedCase is what the burst was told about one case it filed.
type ackedCase struct {
	id, key, word string
	notes         []string // acknowledged notes
	triaged       bool     // the transition to triage was acknowledged
}

// TestCrashBurstKillRestart: workers file cases, add notes (to their own
// cases and, concurrently, to two shared ones) and move cases to triage
// until the server is SIGKILLed mid-burst. After a restart: every
// acknowledged write is there with its audit event, the audit chain
// verifies, and search converges on the store (acknowledged cases and
// any write that committed without being acknowledged alike).
func TestCrashBurstKillRestart(t *testing.T) {
	dir := t.TempDir()
	cs, child := startChild(t, dir)
	cs.waitReady(t)
	tok := cs.login(t, "admin", e2eAdminPassword)

	// Two cases every worker adds notes to: concurrent updates of one
	// document.
	shared := make([]ackedCase, 2)
	for i := range shared {
		out := bkMust(t, cs, tok, http.MethodPost, "/api/v1/cases", newCaseBody("Shared crash target "+word("zqshared", i)))
		shared[i] = ackedCase{id: str(out, "id"), key: str(out, "key"), word: word("zqshared", i)}
	}

	const workers = 6
	var (
		mu        sync.Mutex
		acked     []*ackedCase
		sharedAck = make([][]string, len(shared))
		refused   []string // non-2xx answers: none expected
		nAcks     atomic.Int64
		killed    atomic.Bool
		wg        sync.WaitGroup
	)
	client := &http.Client{Timeout: 20 * time.Second}
	// post returns the answer, or ok=false once the server is gone.
	post := func(path string, body any) (map[string]any, bool) {
		raw, _ := json.Marshal(body)
		req, _ := http.NewRequest(http.MethodPost, cs.base+path, strings.NewReader(string(raw)))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := client.Do(req)
		if err != nil {
			if !killed.Load() {
				mu.Lock()
				refused = append(refused, fmt.Sprintf("POST %s: %v", path, err))
				mu.Unlock()
			}
			return nil, false
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			mu.Lock()
			refused = append(refused, fmt.Sprintf("POST %s: %d %v", path, resp.StatusCode, out))
			mu.Unlock()
			return nil, false
		}
		nAcks.Add(1)
		return out, true
	}
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; ; j++ {
				wd := word("zqcrash", w*1000+j)
				out, ok := post("/api/v1/cases", newCaseBody("Crash burst zqcrashburst "+wd))
				if !ok {
					return
				}
				c := &ackedCase{id: str(out, "id"), key: str(out, "key"), word: wd}
				mu.Lock()
				acked = append(acked, c)
				mu.Unlock()

				note := fmt.Sprintf("note on %s", wd)
				if _, ok := post("/api/v1/cases/"+c.id+"/notes", map[string]any{"text": note}); !ok {
					return
				}
				mu.Lock()
				c.notes = append(c.notes, note)
				mu.Unlock()

				s := j % len(shared)
				// Not wd: each case's word must find that case only.
				snote := fmt.Sprintf("shared note %d-%d", w, j)
				if _, ok := post("/api/v1/cases/"+shared[s].id+"/notes", map[string]any{"text": snote}); !ok {
					return
				}
				mu.Lock()
				sharedAck[s] = append(sharedAck[s], snote)
				mu.Unlock()

				if _, ok := post("/api/v1/cases/"+c.id+"/transitions", map[string]any{"to": "triage"}); !ok {
					return
				}
				mu.Lock()
				c.triaged = true
				mu.Unlock()
			}
		}()
	}

	// Kill mid-burst: after some acknowledged writes, plus a random delay
	// so that the kill lands at different points of a request.
	start := time.Now()
	for nAcks.Load() < 24 && time.Since(start) < 8*time.Second {
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(time.Duration(rand.IntN(150)) * time.Millisecond)
	killed.Store(true)
	require.NoError(t, child.Process.Signal(syscall.SIGKILL))
	_ = child.Wait()
	wg.Wait()
	t.Logf("killed after %s: %d acknowledged writes, %d cases", time.Since(start).Round(time.Millisecond), nAcks.Load(), len(acked))
	require.Empty(t, refused, "every write before the kill was answered 2xx")
	require.NotEmpty(t, acked)

	// Restart on the same data dir.
	restart := time.Now()
	s := startServer(t, dir, e2eEnv())
	s.waitReady(t)
	t.Logf("restarted and ready in %s", time.Since(restart).Round(time.Millisecond))
	tok = s.login(t, "admin", e2eAdminPassword)

	timeline := func(id string) []string {
		var texts []string
		cursor := ""
		for {
			var page struct {
				Items []struct {
					Kind string `json:"kind"`
					Text string `json:"text"`
				} `json:"items"`
				NextCursor string `json:"next_cursor"`
			}
			resp := s.get(t, "/api/v1/cases/"+id+"/timeline?limit=100&cursor="+cursor, tok, &page)
			require.Equal(t, http.StatusOK, resp.StatusCode)
			for _, it := range page.Items {
				texts = append(texts, it.Text)
			}
			if page.NextCursor == "" {
				return texts
			}
			cursor = page.NextCursor
		}
	}
	auditCount := func(key, action string) int {
		var res struct {
			Total int `json:"total"`
		}
		resp := s.get(t, "/api/v1/audit?entity_type=case&entity_id="+key+"&action="+action, tok, &res)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		return res.Total
	}

	// Every acknowledged write is there, with its audit event.
	for _, c := range acked {
		var got struct {
			Key    string `json:"key"`
			Title  string `json:"title"`
			Status string `json:"status"`
		}
		resp := s.get(t, "/api/v1/cases/"+c.id, tok, &got)
		require.Equal(t, http.StatusOK, resp.StatusCode, "acknowledged case %s is there", c.key)
		assert.Contains(t, got.Title, c.word)
		if c.triaged {
			assert.Equal(t, "triage", got.Status, "acknowledged transition of %s", c.key)
		} else {
			assert.Contains(t, []string{"new", "triage"}, got.Status, c.key)
		}
		tl := timeline(c.id)
		for _, n := range c.notes {
			assert.Contains(t, tl, n, "acknowledged note on %s", c.key)
		}
		assert.Equal(t, 1, auditCount(c.key, "case.create"), "audit event of the creation of %s", c.key)
		assert.GreaterOrEqual(t, auditCount(c.key, "case.note"), len(c.notes), c.key)
		if c.triaged {
			assert.GreaterOrEqual(t, auditCount(c.key, "case.transition"), 1, c.key)
		}
	}
	for i, sc := range shared {
		tl := timeline(sc.id)
		for _, n := range sharedAck[i] {
			assert.Contains(t, tl, n, "acknowledged note on the shared case %s", sc.key)
		}
		assert.GreaterOrEqual(t, auditCount(sc.key, "case.note"), len(sharedAck[i]), sc.key)
		t.Logf("shared case %s: %d acknowledged notes", sc.key, len(sharedAck[i]))
	}

	// The audit chain is whole.
	var verify map[string]any
	resp := s.get(t, "/api/v1/audit/verify", tok, &verify)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, true, verify["ok"], "audit chain after the crash: %v", verify)

	// The index converges on the store: every burst case in the store
	// (acknowledged or not) is found, each acknowledged one by its own
	// word. Only a hang fails: the deadline is generous.
	ctx := context.Background()
	mc, err := mongo.Connect(options.Client().ApplyURI(socketURI(dir)))
	require.NoError(t, err)
	inStore, err := mc.Database("casefile").Collection("cases").CountDocuments(ctx, bson.D{{Key: "title", Value: bson.D{{Key: "$regex", Value: "zqcrashburst"}}}})
	require.NoError(t, err)
	_ = mc.Disconnect(ctx)
	require.GreaterOrEqual(t, inStore, int64(len(acked)))
	t.Logf("%d burst cases in the store, %d acknowledged", inStore, len(acked))
	deadline := time.Now().Add(30 * time.Second)
	for {
		total := s.searchFor(t, tok, "zqcrashburst", "&size=1").Total
		if total == uint64(inStore) {
			break
		}
		require.True(t, time.Now().Before(deadline), "search finds %d burst cases, the store holds %d", total, inStore)
		time.Sleep(50 * time.Millisecond)
	}
	for _, c := range acked {
		s.requireOnce(t, tok, c.word, c.id)
	}
	t.Logf("whole test: %s", time.Since(start).Round(time.Millisecond))
}
