package client

import (
	"context"
	"net/http"
	"strconv"

	"github.com/gpusupply/supply/supplyapi"
)

// Sessions answers GET /sessions (an extension): the account's web console
// sessions, newest first.
func (c *Client) Sessions(ctx context.Context) ([]supplyapi.SessionInfo, error) {
	var out []supplyapi.SessionInfo
	return out, c.do(ctx, http.MethodGet, "/sessions", nil, nil, &out)
}

// RevokeSession is DELETE /sessions/{id} (an extension): the session's
// cookie is refused from then on. Another account's session, or one that
// ended, is a *Error with status 404.
func (c *Client) RevokeSession(ctx context.Context, id int64) error {
	return c.do(ctx, http.MethodDelete, "/sessions/"+strconv.FormatInt(id, 10), nil, nil, nil)
}
