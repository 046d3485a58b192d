package handlers

import (
	"net/http"

	"go.uber.org/zap"

	"github.com/authgate/authgate/apierr"
	"github.com/authgate/authgate/session"
)

// The admin API's session endpoints.

type adminSessionJSON struct {
	Object       string     `json:"object"`
	ID           string     `json:"id"`
	UserID       string     `json:"user_id"`
	ClientID     string     `json:"client_id"`
	Status       string     `json:"status"`
	Tasks        []taskJSON `json:"tasks"`
	LastActiveAt int64      `json:"last_active_at"`
	ExpireAt     int64      `json:"expire_at"`
	AbandonAt    int64      `json:"abandon_at"`
	CreatedAt    int64      `json:"created_at"`
	UpdatedAt    int64      `json:"updated_at"`
}

func adminSession(s *session.Session) adminSessionJSON {
	j := adminSessionJSON{
		Object: "session", ID: s.ID, UserID: s.UserID, ClientID: s.ClientID, Status: s.Status,
		LastActiveAt: ms(s.LastActiveAt), ExpireAt: ms(s.ExpireAt), AbandonAt: ms(s.ExpireAt),
		CreatedAt: ms(s.CreatedAt), UpdatedAt: ms(s.UpdatedAt),
	}
	for _, t := range s.Tasks {
		j.Tasks = append(j.Tasks, taskJSON{Key: t})
	}
	return j
}

// listSessions answers the sessions of ?user_id=, of any status or of
// ?status= only.
func (a *Admin) listSessions(w http.ResponseWriter, r *http.Request) {
	uid := r.URL.Query().Get("user_id")
	if uid == "" {
		a.fail(w, r, apierr.FormParamMissing.WithParam("user_id").WithLongMessage("user_id must be included."))
		return
	}
	list, err := a.d.Sessions.ListByUser(r.Context(), uid)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	status := r.URL.Query().Get("status")
	out := []adminSessionJSON{}
	for _, s := range list {
		if status == "" || s.Status == status {
			out = append(out, adminSession(s))
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *Admin) revokeSession(w http.ResponseWriter, r *http.Request) {
	s, err := a.d.Sessions.End(r.Context(), r.PathValue("id"), session.StatusRevoked)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.d.Events.Event(r.Context(), "session_revoked", zap.String("session_id", s.ID), zap.String("user_id", s.UserID))
	writeJSON(w, http.StatusOK, adminSession(s))
}
