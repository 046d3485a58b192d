package caddymodule

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/authgate/authgate/notify"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

// scrape sums the samples of a metric family on Caddy's admin /metrics.
func scrape(t *testing.T, family string) float64 {
	t.Helper()
	resp, err := http.Get("http://" + testAdminAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sum := 0.0
	sc := bufio.NewScanner(io.LimitReader(resp.Body, 8<<20))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, family) || strings.HasPrefix(line, "#") {
			continue
		}
		rest := line[len(family):]
		if rest != "" && rest[0] != '{' && rest[0] != ' ' {
			continue // another family with this prefix
		}
		f := strings.Fields(line)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err != nil {
			t.Fatalf("metric line %q: %v", line, err)
		}
		sum += v
	}
	return sum
}

// TestIntegrationMetricsSurviveReload: caddy_authgate_* counters keep
// counting across a config reload, and the store metrics are exported.
func TestIntegrationMetricsSurviveReload(t *testing.T) {
	s := startServer(t, siteOpts{storage: "file " + t.TempDir() + "/authgate.db"})
	for i := 0; i < 3; i++ {
		get(t, plainClient, s.base+"/app", "Accept", "application/json")
	}
	before := scrape(t, "caddy_authgate_gate_decisions_total")
	if before < 3 {
		t.Fatalf("gate decisions before reload = %v, want >= 3", before)
	}
	if n := scrape(t, "caddy_authgate_store_call_seconds_count"); n == 0 {
		t.Fatal("no store call latency observed")
	}
	s.start() // caddy.Load(..., force): a reload
	get(t, plainClient, s.base+"/app", "Accept", "application/json")
	if after := scrape(t, "caddy_authgate_gate_decisions_total"); after < before+1 {
		t.Fatalf("gate decisions after reload = %v, want >= %v (counters must survive a reload)", after, before+1)
	}
}

// TestRedisLoggerThrottles: go-redis's own lines (a failed dial per
// request during an outage) reach the log at most once a second, with the
// count of those left out.
func TestRedisLoggerThrottles(t *testing.T) {
	core, logs := observer.New(zap.WarnLevel)
	l := newRedisLogger(zap.New(core))
	for i := 0; i < 100; i++ {
		l.Printf(context.Background(), "dial tcp: connection refused %d", i)
	}
	if n := logs.Len(); n != 1 {
		t.Fatalf("%d lines for 100 messages in one second, want 1", n)
	}
	l.next.Store(0) // the second is over
	l.Printf(context.Background(), "again")
	all := logs.All()
	if len(all) != 2 || all[1].ContextMap()["suppressed"] != int64(99) {
		t.Fatalf("second line: %+v, want suppressed=99", all)
	}
}

type failingSender struct{}

func (failingSender) SendEmail(context.Context, notify.Message) error { return errors.New("smtp down") }
func (failingSender) SendSMS(context.Context, notify.Message) error   { return errors.New("sms down") }

// TestDeliveryFailuresByChannel: a sender's failure is counted under its
// channel and still returned to the caller.
func TestDeliveryFailuresByChannel(t *testing.T) {
	m := processMetrics()
	email, sms := m.sendFailures.WithLabelValues("email"), m.sendFailures.WithLabelValues("sms")
	e0, s0 := counterValue(email), counterValue(sms)
	if err := (countingEmailer{failingSender{}, m}).SendEmail(context.Background(), notify.Message{}); err == nil {
		t.Fatal("the failure was swallowed")
	}
	if err := (countingTexter{failingSender{}, m}).SendSMS(context.Background(), notify.Message{}); err == nil {
		t.Fatal("the failure was swallowed")
	}
	if counterValue(email) != e0+1 || counterValue(sms) != s0+1 {
		t.Fatalf("failures by channel: email %v→%v, sms %v→%v", e0, counterValue(email), s0, counterValue(sms))
	}
}

func counterValue(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		panic(err)
	}
	return m.GetCounter().GetValue()
}
