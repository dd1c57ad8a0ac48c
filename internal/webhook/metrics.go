package webhook

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	enqueued   *prometheus.CounterVec // by event
	deliveries *prometheus.CounterVec // by event and final outcome
	failures   *prometheus.CounterVec // by event: deliveries given up
	attempts   *prometheus.CounterVec // by result class
	queue      prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		enqueued: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "casefile_webhook_enqueued_total",
			Help: "Webhook deliveries enqueued, by event."}, []string{"event"}),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "casefile_webhook_deliveries_total",
			Help: "Webhook deliveries finished, by event and outcome (delivered or failed)."}, []string{"event", "outcome"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "casefile_webhook_delivery_failures_total",
			Help: "Webhook deliveries given up after the retry window, by event."}, []string{"event"}),
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "casefile_webhook_attempts_total",
			Help: "Webhook delivery attempts, by result: 2xx, 3xx, 4xx, 5xx or error (no answer)."}, []string{"result"}),
		queue: prometheus.NewGauge(prometheus.GaugeOpts{Name: "casefile_webhook_queue_depth",
			Help: "Webhook deliveries pending in this instance's schedule (including those being attempted)."}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.enqueued, m.deliveries, m.failures, m.attempts, m.queue} {
			if err := reg.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}
