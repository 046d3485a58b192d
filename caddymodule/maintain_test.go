package caddymodule

import (
	"net/http"
	"strings"
	"testing"
)

// TestIntegrationStoreMaintenance: migrate and repair answer on the admin
// API, are idempotent, and leave the users usable.
func TestIntegrationStoreMaintenance(t *testing.T) {
	s := startServer(t, siteOpts{storage: "file " + t.TempDir() + "/authgate.db"})
	createUser(t, "kept@example.com")
	for i := 0; i < 2; i++ {
		if r := adminJSON(t, http.MethodPost, "/store/migrate", nil); r.status != http.StatusOK || !strings.Contains(string(r.body), `"users_moved":0`) {
			t.Fatalf("migrate #%d: %d %s", i+1, r.status, r.body)
		}
		if r := adminJSON(t, http.MethodPost, "/store/repair", nil); r.status != http.StatusOK || !strings.Contains(string(r.body), `"object":"repair"`) {
			t.Fatalf("repair #%d: %d %s", i+1, r.status, r.body)
		}
	}
	if got := findUsers(t, "kept@example.com"); len(got) != 1 {
		t.Fatalf("after maintenance, find = %d users", len(got))
	}
	newBrowser(t).signIn(t, s.base, "kept@example.com")
}
