package caddymodule

import (
	"encoding/json"
	"net/http"

	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"github.com/authgate/authgate/apierr"
)

// Store maintenance on the admin API: moving users from the old one-slot
// key layout to the sharded one (caddy authgate store migrate), and the
// repair pass for identifier claims an interrupted write left behind
// (caddy authgate store repair). Both are idempotent and may run while
// every instance serves.

// adminMaintenance serves the store maintenance routes; it reports false
// for any other request.
func (a *App) adminMaintenance(w http.ResponseWriter, r *http.Request) bool {
	if r.Method != http.MethodPost {
		return false
	}
	var out map[string]any
	var err error
	switch r.URL.Path {
	case "/authgate/v1/keys/rewrap":
		a.rewrap(w, r)
		return true
	case "/authgate/v1/store/migrate":
		var n int
		n, err = a.svc.Users.Migrate(r.Context())
		out = map[string]any{"object": "migration", "users_moved": n}
	case "/authgate/v1/store/repair":
		rep, rerr := a.svc.Users.Repair(r.Context())
		err = rerr
		out = map[string]any{"object": "repair", "report": rep}
	default:
		return false
	}
	if err != nil {
		a.logger.Error("store maintenance failed", zap.String("path", r.URL.Path), zap.Error(err))
		apierr.Write(w, apierr.From(err))
		return true
	}
	a.svc.Events.Event(r.Context(), "store_maintenance", zap.String("path", r.URL.Path))
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
	return true
}

func storeCommand() *cobra.Command {
	return commandGroup("store", "Store maintenance (safe while serving, idempotent)",
		adminPost("migrate", "Move users from the old one-slot key layout to the sharded one", "/store/migrate"),
		adminPost("repair", "Clean identifier claims that interrupted writes left behind", "/store/repair"))
}
