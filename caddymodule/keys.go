package caddymodule

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"go.uber.org/zap"

	"github.com/authgate/authgate/handlers"
	"github.com/authgate/authgate/store"
)

// The signing keys live in the store. The app loads them at Start if the
// store answers; until then every request that needs them gets 503 and
// retries the load (ensureLoaded). Once loaded, refreshKeys picks up keys
// that another instance rotated in.
const (
	// keysRetryEvery is the shortest wait between two load attempts.
	keysRetryEvery = time.Second
	// keysRetryAfter is the Retry-After of the 503 answer meanwhile.
	keysRetryAfter = 5 * time.Second
	// keysTimeout bounds one load or refresh.
	keysTimeout = 5 * time.Second
	// keysRefreshEvery is how often loaded keys are refreshed.
	keysRefreshEvery = time.Minute
	// statsEvery is how often the hashing pool's gauges are updated.
	statsEvery = 5 * time.Second
)

// ensureLoaded loads the signing keys once; on failure it retries at
// most once every keysRetryEvery.
func (a *App) ensureLoaded() error {
	if a.rt.loaded.Load() {
		return nil
	}
	a.rt.loadMu.Lock()
	defer a.rt.loadMu.Unlock()
	if a.rt.loaded.Load() {
		return nil
	}
	if time.Since(a.rt.lastLoad) < keysRetryEvery {
		return fmt.Errorf("signing keys not loaded yet: %w", store.ErrUnavailable)
	}
	a.rt.lastLoad = time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), keysTimeout)
	defer cancel()
	if err := a.svc.Load(ctx); err != nil {
		return err
	}
	a.rt.loaded.Store(true)
	return nil
}

// refreshKeys refreshes the loaded keys and updates the hashing gauges
// until stop is closed.
func (a *App) refreshKeys(stop chan struct{}) {
	keys := time.NewTicker(keysRefreshEvery)
	defer keys.Stop()
	stats := time.NewTicker(statsEvery)
	defer stats.Stop()
	for {
		select {
		case <-stop:
			return
		case <-stats.C:
			a.metrics.Hashing(a.svc.Passwords.Stats())
			a.metrics.deliveries.Set(float64(a.svc.Deliveries.Running()))
		case <-keys.C:
			if !a.rt.loaded.Load() {
				continue
			}
			ctx, cancel := context.WithTimeout(context.Background(), keysTimeout)
			if err := a.svc.Tokens.Refresh(ctx); err != nil {
				a.logger.Warn("refreshing signing keys", zap.Error(err))
			}
			cancel()
		}
	}
}

// unavailableResponse answers 503 while the keys are not loaded (the
// store is not ready), as every surface answers a store outage.
func unavailableResponse(w http.ResponseWriter) {
	handlers.WriteUnavailable(w)
}
